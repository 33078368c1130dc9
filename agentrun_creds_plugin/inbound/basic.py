"""HTTP Basic verification with constant-time comparison of user and password.

Basic sends the password with every request (base64 is no encryption), so configuring it logs
a warning, as the product warns: serve it over HTTPS only.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging

from ..errors import AuthenticationError
from ..kinds import BasicAuthCredential
from .headers import Headers, authorization
from .principal import Principal

__all__ = ["BASIC_WARNING", "verify_basic"]

log = logging.getLogger("agentrun_creds_plugin.inbound")

BASIC_WARNING = (
    "credential {name!r} is HTTP Basic: the password travels with every request; "
    "serve it over HTTPS only and prefer an API key or JWT"
)


def _eq(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "surrogateescape"), b.encode("utf-8"))


def verify_basic(
    name: str, cred: BasicAuthCredential, headers: Headers, previous: str | None = None
) -> Principal:
    """Return the Principal when ``Authorization: Basic`` carries the user and password."""
    encoded = authorization(name, headers, "Basic", "<base64 user:password>")
    try:
        decoded = base64.b64decode(encoded.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise AuthenticationError(
            "malformed Basic credentials (not base64 of user:password)", name=name
        ) from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise AuthenticationError("malformed Basic credentials (no ':')", name=name)
    user_ok = _eq(user, cred.username)
    current_ok = _eq(password, cred.password.get_secret_value())
    previous_ok = previous is not None and _eq(password, previous)
    if user_ok and current_ok:
        return Principal(credential=name, kind="basic", username=cred.username)
    if user_ok and previous_ok:
        return Principal(credential=name, kind="basic", username=cred.username, matched="previous")
    raise AuthenticationError("wrong user name or password", name=name)
