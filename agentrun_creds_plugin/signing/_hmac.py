"""HMAC-SHA256 built from two SHA-256 calls, and from saved pad states.

Every cloud signature here is little more than one or a few HMACs of short messages, so the
HMAC itself is where a signer's time goes; the helpers below are equal to
``hmac.digest(key, msg, "sha256")`` (tests compare on random input) and cheaper.
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = ["hmac_from_states", "hmac_sha256", "hmac_states"]

# HMAC pads as translation tables: key.translate(_IPAD) is key XOR 0x36, byte by byte.
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def hmac_sha256(key: bytes, msg: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) built from two SHA-256 calls.

    Equal to ``hmac.digest(key, msg, "sha256")`` (a test checks this on random input)
    but about a third cheaper for short messages: the one-shot OpenSSL HMAC sets up a
    fresh HMAC context each call, and a SigV4/TC3 signature is little more than one
    such HMAC. Nothing secret-dependent is compared here, so the usual constant-time
    concerns of HMAC verification do not apply.
    """
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = hashlib.sha256(key.translate(_IPAD) + msg).digest()
    return hashlib.sha256(key.translate(_OPAD) + inner).digest()


def hmac_states(key: bytes) -> tuple[Any, Any]:
    """The SHA-256 states after HMAC's inner and outer key pads, to sign many messages with
    one key: each signature then starts from a copy (:func:`hmac_from_states`) instead of
    hashing the two 64-byte pads again. They are derived from the key; keep them only where
    the key itself may be kept."""
    padded = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    return hashlib.sha256(padded.translate(_IPAD)), hashlib.sha256(padded.translate(_OPAD))


def hmac_from_states(states: tuple[Any, Any], msg: bytes) -> bytes:
    """:func:`hmac_sha256` of ``msg`` under the key whose :func:`hmac_states` these are."""
    inner = states[0].copy()
    inner.update(msg)
    outer = states[1].copy()
    outer.update(inner.digest())
    return outer.digest()  # type: ignore[no-any-return]
