"""The faster segment check decides every segment exactly as pyjwt's own does."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from agentrun_creds_plugin.inbound.jws import SegmentJWS, decode_segment, decoder

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _outcome(fn: Callable[[bytes, str], bytes], segment: bytes) -> tuple[str, Any]:
    try:
        return ("ok", fn(segment, "payload"))
    except pyjwt.DecodeError as exc:
        return ("DecodeError", str(exc))
    except Exception as exc:  # any other exception must be the same one on both sides
        return (type(exc).__name__, str(exc))


def _pyjwt_decides(segment: bytes) -> tuple[str, Any]:
    return _outcome(pyjwt.PyJWS._decode_base64url_segment, segment)


def test_this_pyjwt_has_the_segment_step() -> None:
    """Else the override is unused: verification stays correct but loses its speed-up."""
    assert type(decoder({})._jws) is SegmentJWS


# Mostly the alphabet, with padding, the standard alphabet's +/ and junk mixed in.
_CHARS = st.sampled_from(
    list(b"ABCXYZabcxyz0189-_") + list(b"=") * 3 + list(b"+/!. \n\x00\xff")
).map(lambda c: bytes([c]))


@settings(max_examples=600, deadline=None)
@given(st.lists(_CHARS, max_size=24).map(b"".join))
def test_same_decision_as_pyjwt(segment: bytes) -> None:
    assert _outcome(decode_segment, segment) == _pyjwt_decides(segment)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_same_decision_on_any_encoded_bytes(data: bytes) -> None:
    encoded = base64.urlsafe_b64encode(data)
    for segment in (encoded, encoded.rstrip(b"="), encoded + b"=", encoded.rstrip(b"=") + b"A"):
        assert _outcome(decode_segment, segment) == _pyjwt_decides(segment)


@pytest.mark.parametrize(
    "segment",
    [
        b"",
        b"QQ",
        b"QQ==",
        b"QQ=",
        b"QQ===",
        b"QR",
        b"Q",
        b"QUJD",
        b"!!!!",
        b"QQ\n",
        b"QUJD====",
        b"Q==",
    ],
)
def test_known_edges(segment: bytes) -> None:
    assert _outcome(decode_segment, segment) == _pyjwt_decides(segment)


def _token(**claims: Any) -> str:
    return pyjwt.encode({"exp": 4_000_000_000, **claims}, KEY, algorithm="RS256")


def test_decoder_uses_the_check_and_still_verifies() -> None:
    jwt = decoder({"require": ["exp"], "verify_aud": False})
    assert isinstance(jwt._jws, SegmentJWS)
    token = _token(sub="u1")
    payload = jwt.decode_complete(token, key=KEY.public_key(), algorithms=["RS256"])["payload"]
    assert payload["sub"] == "u1"
    head, body, sig = token.split(".")
    for bad in (f"{head}.{body}.!!!!{sig}", f"{head}.{body}.{sig}A", f"{head}.{body}x.{sig}"):
        with pytest.raises(pyjwt.InvalidTokenError):
            jwt.decode_complete(bad, key=KEY.public_key(), algorithms=["RS256"])
    padded = f"{head}.{body}.{sig}{'=' * (-len(sig) % 4)}"
    assert jwt.decode_complete(padded, key=KEY.public_key(), algorithms=["RS256"])["payload"]


def test_decoder_keeps_pyjwts_own_decoding_without_the_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(pyjwt.PyJWS, "_decode_base64url_segment")
    jwt = decoder({"require": ["exp"]})
    assert type(jwt._jws) is pyjwt.PyJWS


def test_header_claims_and_signature_rules_are_pyjwts() -> None:
    jwt = decoder({"require": ["exp"], "verify_aud": True})
    with pytest.raises(pyjwt.MissingRequiredClaimError):
        jwt.decode_complete(
            pyjwt.encode({"sub": "x"}, KEY, algorithm="RS256"),
            key=KEY.public_key(),
            algorithms=["RS256"],
            audience="svc",
        )
    with pytest.raises(pyjwt.InvalidAudienceError):
        jwt.decode_complete(
            _token(aud="other"), key=KEY.public_key(), algorithms=["RS256"], audience="svc"
        )
    head = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).rstrip(b"=").decode()
    body = _token().split(".")[1]
    with pytest.raises(pyjwt.InvalidTokenError):
        jwt.decode_complete(f"{head}.{body}.", key=KEY.public_key(), algorithms=["RS256"])
