"""The pyjwt decoder inbound verification uses: pyjwt's, with its segment check done faster.

pyjwt (2.15) checks every base64url segment of a token one character at a time in a Python
generator before decoding it (the fix for GHSA-hxm8-2xgr-2p9m: reject junk such as ``!!!!``
that a lenient decoder would skip). On an ordinary RS256 token that loop is about a sixth of
the whole decode, signature included. :class:`SegmentJWS` makes the same decisions with a
compiled pattern: the same padding rules, the same alphabet, the same round-trip test, the same
error (``tests/inbound/test_jws.py`` compares the two on generated input). Everything else is
pyjwt's own code: header checks, signature, claims.

Where pyjwt has no such step (older or newer versions), the override is never called and
pyjwt's own decoding stands; :func:`decoder` only swaps in :class:`SegmentJWS` where pyjwt's
:class:`~jwt.PyJWT` keeps its JWS decoder where this version expects it.
"""

from __future__ import annotations

import binascii
import re
from typing import TYPE_CHECKING

import jwt as pyjwt
from jwt.exceptions import DecodeError
from jwt.utils import base64url_decode, base64url_encode

if TYPE_CHECKING:
    from jwt.types import Options

__all__ = ["SegmentJWS", "decode_segment", "decoder"]

_ALPHABET = re.compile(rb"[A-Za-z0-9_-]*")


def decode_segment(segment: bytes, name: str) -> bytes:
    """One base64url segment of a compact JWS, decoded, as pyjwt decides it.

    Up to two trailing ``=`` are allowed (some issuers pad), and then only on a whole number
    of 4-character groups; otherwise only the URL-safe alphabet, no length of the form 4n+1,
    and only the canonical encoding of what it decodes to. Anything else is pyjwt's
    ``DecodeError("Invalid <name> padding")``.
    """
    stripped = segment.rstrip(b"=")
    padding = len(segment) - len(stripped)
    if (
        padding > 2
        or (padding and len(segment) % 4)
        or len(stripped) % 4 == 1
        or not _ALPHABET.fullmatch(stripped)
    ):
        raise DecodeError(f"Invalid {name} padding")
    try:
        decoded = base64url_decode(stripped)
    except (TypeError, binascii.Error) as err:
        raise DecodeError(f"Invalid {name} padding") from err
    if base64url_encode(decoded) != stripped:
        raise DecodeError(f"Invalid {name} padding")
    return decoded


class SegmentJWS(pyjwt.PyJWS):
    """pyjwt's JWS decoder with :func:`decode_segment` as its segment step."""

    _decode_base64url_segment = staticmethod(decode_segment)


def decoder(options: Options) -> pyjwt.PyJWT:
    """A ``PyJWT`` with these decode options, decoding segments with :func:`decode_segment`."""
    jwt = pyjwt.PyJWT(options=options)
    jws = getattr(jwt, "_jws", None)
    if type(jws) is pyjwt.PyJWS and hasattr(pyjwt.PyJWS, "_decode_base64url_segment"):
        jwt._jws = SegmentJWS(options=jws.options)
    return jwt
