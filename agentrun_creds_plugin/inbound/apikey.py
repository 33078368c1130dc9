"""API-key verification: the configured header, the exact value, constant-time comparison.

When the key does not match, the reason says what the caller most likely got wrong (the
product's troubleshooting checklist): a missing header, the key under another header name, a
prefix sent or omitted, white space around the value. It never says anything about the key.
"""

from __future__ import annotations

import hmac

from ..errors import AuthenticationError
from ..kinds import ApiKeyCredential
from .headers import Headers
from .principal import Principal

__all__ = ["verify_api_key"]

# Header names callers commonly put a key under by mistake.
_USUAL_HEADERS = ("Authorization", "X-Api-Key", "Api-Key", "X-Api-Token")
_USUAL_SCHEMES = ("bearer", "token", "apikey", "api-key", "key", "basic")


def _eq(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "surrogateescape"), b.encode("utf-8"))


def verify_api_key(
    name: str, cred: ApiKeyCredential, headers: Headers, previous: str | None = None
) -> Principal:
    """Return the Principal when the header carries the key, else a 401 with its reason."""
    header = cred.header_name
    value = headers.get(header)
    if value is None:
        for other in _USUAL_HEADERS:
            if other.lower() != header.lower() and other in headers:
                raise AuthenticationError(
                    f"expected header {header}, got {other}; send the key in {header}", name=name
                )
        raise AuthenticationError(f"missing header {header}", name=name)
    if value != value.strip():
        raise AuthenticationError(
            f"white space around the value of header {header}; remove it", name=name
        )
    key = cred.api_key.get_secret_value()
    prefix = cred.prefix
    expected = f"{prefix} {key}" if prefix else key
    # Compare with every candidate (no short-circuit) so timing says nothing about which.
    current_ok = _eq(value, expected)
    previous_ok = False
    if previous is not None:
        previous_ok = _eq(value, f"{prefix} {previous}" if prefix else previous)
    if current_ok:
        return Principal(credential=name, kind="api_key")
    if previous_ok:
        return Principal(credential=name, kind="api_key", matched="previous")
    if prefix:
        if not value.lower().startswith(prefix.lower() + " ") and (
            _eq(value, key) or (previous is not None and _eq(value, previous))
        ):
            raise AuthenticationError(f"prefix missing: send '{header}: {prefix} <key>'", name=name)
    else:
        head, sep, rest = value.partition(" ")
        if sep and (_eq(rest, key) or (previous is not None and _eq(rest, previous))):
            # Name the word sent only when it is a usual scheme: whatever else the caller put
            # there (their key twice, say) must not reach a response, a log or the audit trail.
            shown = head if head.lower() in _USUAL_SCHEMES else "<prefix>"
            raise AuthenticationError(
                f"prefix present: send the raw key in {header} without '{shown} '",
                name=name,
            )
    raise AuthenticationError(f"wrong key in header {header}", name=name)
