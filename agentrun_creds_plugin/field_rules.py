"""The input rules every credential kind shares: names, raw keys, HTTP header names and values.

Each rule raises ``ValueError`` with what is wrong and how to fix it (the models turn it into a
422 naming the field) and never quotes the secret it checked.
"""

from __future__ import annotations

import re
import string

from pydantic import SecretStr

from .errors import InvalidCredentialError

__all__ = ["NAME_RULE", "RAW_KEY_HINT", "check_name"]

NAME_RULE = "1 to 64 characters: a letter or underscore, then letters, digits, '_' or '-'"
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")
_PREFIX_RE = re.compile(r"(bearer|basic)\s", re.IGNORECASE)
RAW_KEY_HINT = "enter only the raw key, without a prefix such as 'Bearer '"


def check_name(name: object, *, field: str = "name") -> str:
    """Return ``name`` if it follows the AgentRun name rule, else raise (422)."""
    if not isinstance(name, str) or _NAME_RE.fullmatch(name) is None:
        raise InvalidCredentialError(f"{field}: invalid name; use {NAME_RULE}")
    return name


def _has_control(value: str) -> bool:
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)


def _check_raw_key(value: SecretStr, field: str) -> SecretStr:
    raw = value.get_secret_value()
    if not raw:
        raise ValueError(f"{field} is empty; {RAW_KEY_HINT}")
    if _PREFIX_RE.match(raw):
        raise ValueError(f"{field} starts with an auth scheme prefix; {RAW_KEY_HINT}")
    if raw != raw.strip():
        raise ValueError(f"{field} has leading or trailing white space; {RAW_KEY_HINT}")
    if _has_control(raw):
        raise ValueError(f"{field} contains a control character; {RAW_KEY_HINT}")
    if any(c.isspace() for c in raw):
        raise ValueError(f"{field} contains white space; {RAW_KEY_HINT}")
    return value


def _check_header_name(name: str, field: str) -> str:
    if not name or any(c not in _TOKEN_CHARS for c in name):
        raise ValueError(
            f"{field} is not a legal HTTP header name; use letters, digits and !#$%&'*+-.^_`|~"
        )
    return name


def _check_header_value(value: str, field: str) -> None:
    if _has_control(value):
        raise ValueError(f"{field} contains a control character (CR, LF, NUL...); remove it")


def _check_prefix(prefix: str | None) -> str | None:
    """An auth scheme word put before a key (``Bearer``, ``Key``), or ``None``."""
    if prefix is not None and (not prefix or any(c not in _TOKEN_CHARS for c in prefix)):
        raise ValueError("prefix must be a single word such as 'Bearer'")
    return prefix
