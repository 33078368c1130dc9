"""Accept a caller's API key or Basic credentials without decrypting, per credential version.

Decrypting and rebuilding the credential on every request costs most of a verification. The
store's rule allows one derived value per credential version: a keyed digest of an inbound
key or password. :class:`KeyDigests` holds, for one record version, the header the value
arrives in and keyed HMAC-SHA256 digests of the exact header values that are accepted (the
current secret, and the previous one until its grace period ends). The HMAC key is random
per process and never leaves it, so the digests say nothing outside it.

Only an exact match is answered here. Anything else (a missing header, a prefix sent or
omitted, white space, a wrong key) falls through to the full verification, which decrypts
and names what the caller got wrong, so the reasons stay exactly as they were.
"""

from __future__ import annotations

import base64
import hmac
import os

from ..kinds import ApiKeyCredential, BasicAuthCredential, CredentialBase
from .headers import Headers
from .principal import InboundKind, Principal

__all__ = ["KeyDigests"]

_KEY = os.urandom(32)


def _digest(value: str) -> bytes:
    return hmac.digest(_KEY, value.encode("utf-8", "surrogateescape"), "sha256")


class KeyDigests:
    """The accepted header values of one credential version, as keyed digests."""

    __slots__ = ("_current", "_previous", "_until", "blob", "header", "kind", "name", "username")

    def __init__(
        self,
        name: str,
        blob: bytes,
        kind: InboundKind,
        header: str,
        current: str,
        previous: str | None,
        until: float,
        username: str | None,
    ) -> None:
        self.name = name
        self.blob = blob
        self.kind = kind
        self.header = header
        self.username = username
        self._current = _digest(current)
        self._previous = _digest(previous) if previous is not None else None
        self._until = until

    @classmethod
    def of(
        cls,
        name: str,
        blob: bytes,
        cred: CredentialBase,
        previous: str | None,
        until: float,
    ) -> KeyDigests | None:
        """The digests for an API key or Basic credential (``previous``: the secret a grace
        period keeps, accepted until ``until``); ``None`` for other kinds."""
        if isinstance(cred, ApiKeyCredential):
            prefix = cred.prefix

            def value(key: str) -> str:
                return f"{prefix} {key}" if prefix else key

            old = value(previous) if previous is not None else None
            key = cred.api_key.get_secret_value()
            return cls(name, blob, "api_key", cred.header_name, value(key), old, until, None)
        if isinstance(cred, BasicAuthCredential):
            user = cred.username

            def basic(password: str) -> str:
                raw = f"{user}:{password}".encode()
                return "Basic " + base64.b64encode(raw).decode("ascii")

            old = basic(previous) if previous is not None else None
            current = basic(cred.password.get_secret_value())
            return cls(name, blob, "basic", "authorization", current, old, until, user)
        return None

    def __reduce__(self) -> str:
        raise TypeError("KeyDigests belong to one process and are never serialized")

    def match(self, headers: Headers, now: float) -> Principal | None:
        """The Principal when the header carries an accepted value exactly, else ``None``
        (the caller then runs the full verification, which names the mistake)."""
        value = headers.get(self.header)
        if value is None:
            return None
        sent = _digest(value)
        current_ok = hmac.compare_digest(sent, self._current)
        previous_ok = self._previous is not None and hmac.compare_digest(sent, self._previous)
        if current_ok:
            return Principal(credential=self.name, kind=self.kind, username=self.username)
        if previous_ok and now < self._until:
            return Principal(
                credential=self.name, kind=self.kind, username=self.username, matched="previous"
            )
        return None
