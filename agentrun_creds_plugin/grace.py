"""The previous secret of a service credential during a rotation grace period.

``update(name, new, grace_seconds=N)`` keeps the old API key (or Basic password) valid for N
seconds so callers can switch without downtime. The old secret travels inside the same
encrypted record as the new one, as a trailer after a record-separator byte (``0x1e``): the
public JSON escapes control characters and no secret field may hold one, so the byte cannot
occur in a record written without a grace period. The trailer is therefore never stored in
plain text, is re-encrypted with the record (master-key rotation, migration) and disappears on
the next update without ``grace_seconds``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pydantic import SecretStr

from .errors import InvalidCredentialError
from .kinds import ApiKeyCredential, BasicAuthCredential, CredentialBase

__all__ = [
    "GRACE_SEPARATOR",
    "MAX_GRACE_SECONDS",
    "Grace",
    "check_grace_seconds",
    "grace_secret",
    "seal_grace",
    "split_grace",
]

_RS = b"\x1e"
#: What separates a record's plaintext from its grace trailer: ``payload.partition(...)[0]``
#: is the credential's plaintext with or without a grace period (what :func:`split_grace` keeps).
GRACE_SEPARATOR = _RS
#: A grace period longer than this is a second key, not a rotation.
MAX_GRACE_SECONDS = 30 * 86400


@dataclass(frozen=True, slots=True)
class Grace:
    """The previous secret and the time (epoch seconds) until which it is accepted."""

    secret: SecretStr = field(repr=False)
    until: float

    def active(self, now: float) -> bool:
        return now < self.until


def grace_secret(credential: CredentialBase) -> str | None:
    """The secret a grace period keeps: an API key's key, a Basic password; else None."""
    if isinstance(credential, ApiKeyCredential):
        return credential.api_key.get_secret_value()
    if isinstance(credential, BasicAuthCredential):
        return credential.password.get_secret_value()
    return None


def check_grace_seconds(grace_seconds: object, new: CredentialBase | None) -> float:
    """``grace_seconds`` as a float, or a 422 naming what is wrong."""
    if new is None:
        raise InvalidCredentialError(
            "grace_seconds: give the new credential too; a grace period keeps the previous "
            "secret while callers switch to the new one"
        )
    if grace_secret(new) is None:
        raise InvalidCredentialError(
            "grace_seconds: only api_key and basic credentials have a previous secret to keep"
        )
    if (
        isinstance(grace_seconds, bool)
        or not isinstance(grace_seconds, int | float)
        or not 0 < grace_seconds <= MAX_GRACE_SECONDS
    ):
        raise InvalidCredentialError(
            f"grace_seconds: must be a number of seconds above 0 and at most {MAX_GRACE_SECONDS}"
        )
    return float(grace_seconds)


def seal_grace(plaintext: bytes, previous: str, until: float) -> bytes:
    """``plaintext`` with the previous secret appended (only ever fed into encryption)."""
    trailer = json.dumps({"secret": previous, "until": until}, separators=(",", ":"))
    return plaintext + _RS + trailer.encode()


def split_grace(payload: bytes) -> tuple[bytes, Grace | None]:
    """The credential's plaintext and its grace period, if the record holds one."""
    head, sep, tail = payload.partition(_RS)
    if not sep:
        return payload, None
    try:
        data = json.loads(tail)
        grace = Grace(SecretStr(str(data["secret"])), float(data["until"]))
    except (ValueError, TypeError, KeyError):
        return head, None  # a damaged trailer only loses the grace period, never the record
    return head, grace
