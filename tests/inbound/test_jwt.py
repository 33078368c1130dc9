"""JWT verification against a static JWKS, tokens signed by `cryptography` directly, attacks."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.errors import AuthenticationError, PermissionDeniedError
from agentrun_creds_plugin.kinds import JwtCredential

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    nums = key.public_key().public_numbers()
    n = nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")
    e = nums.e.to_bytes(3, "big")
    return {"kty": "RSA", "kid": kid, "n": _b64(n), "e": _b64(e)}


def sign(claims: dict[str, Any], *, key: rsa.RSAPrivateKey = KEY, **header: Any) -> str:
    head = {"alg": "RS256", "typ": "JWT", "kid": "k1", **header}
    signing = f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(claims).encode())}"
    sig = key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing}.{_b64(sig)}"


def claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": "https://idp",
        "aud": "svc",
        "sub": "u1",
        "exp": now + 300,
        "iat": now,
        "scope": "read write",
        **extra,
    }


@pytest.fixture
def verifier(store: acp.CredentialStore) -> Any:
    store.create(
        "jwt",
        JwtCredential(
            jwks={"keys": [_jwk(KEY, "k1")]},
            issuer="https://idp",
            audience="svc",
            required_scopes=["read"],
        ),
    )
    return store.verifier("jwt")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_valid_token(verifier: Any) -> None:
    p = verifier.verify(bearer(sign(claims())))
    assert (p.kind, p.subject, p.claims["aud"]) == ("jwt", "u1", "svc")
    assert "read" in p.scopes
    assert verifier.verify(bearer(sign(claims(scope=None, scp=["read"])))).subject == "u1"
    assert verifier.verify(bearer(sign(claims(), typ="at+jwt"))).subject == "u1"


def test_leeway(verifier: Any) -> None:
    now = int(time.time())
    assert verifier.verify(bearer(sign(claims(exp=now - 10)))).subject == "u1"
    assert verifier.verify(bearer(sign(claims(nbf=now + 10)))).subject == "u1"


def _none_token() -> str:
    head = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{head}.{_b64(json.dumps(claims()).encode())}."


def _hs256_with_public_key() -> str:
    import hmac

    pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    signing = f"{head}.{_b64(json.dumps(claims()).encode())}"
    sig = hmac.new(pem, signing.encode(), "sha256").digest()
    return f"{signing}.{_b64(sig)}"


ATTACKS_401 = {
    "alg none": lambda: _none_token(),
    "hs256 with public key": _hs256_with_public_key,
    "other issuer": lambda: sign(claims(iss="https://evil")),
    "expired": lambda: sign(claims(exp=int(time.time()) - 120)),
    "not yet valid": lambda: sign(claims(nbf=int(time.time()) + 120)),
    "no exp": lambda: sign({k: v for k, v in claims().items() if k != "exp"}),
    "unknown kid": lambda: sign(claims(), kid="forged"),
    "key not in set": lambda: sign(claims(), key=OTHER),
    "jku elsewhere": lambda: sign(claims(), key=OTHER, jku="https://evil/jwks", kid="x"),
    "x5u elsewhere": lambda: sign(claims(), key=OTHER, x5u="https://evil/cert"),
    "truncated": lambda: sign(claims())[:-10],
    "huge header": lambda: sign(claims(), pad="x" * 20000),
    "nul": lambda: sign(claims()) + "\x00",
    "newline": lambda: sign(claims()) + "\n",
}


@pytest.mark.parametrize("attack", sorted(ATTACKS_401))
def test_attacks_are_401(verifier: Any, attack: str) -> None:
    with pytest.raises(AuthenticationError):
        verifier.verify(bearer(ATTACKS_401[attack]()))


@pytest.mark.parametrize(
    "token", [lambda: sign(claims(aud="other")), lambda: sign(claims(scope="write"))]
)
def test_wrong_audience_or_scope_is_403(verifier: Any, token: Any) -> None:
    with pytest.raises(PermissionDeniedError):
        verifier.verify(bearer(token()))


def test_bit_flipped_signature(verifier: Any) -> None:
    token = sign(claims())
    head, body, sig = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=="))
    raw[5] ^= 1
    with pytest.raises(AuthenticationError):
        verifier.verify(bearer(f"{head}.{body}.{_b64(bytes(raw))}"))


GOOD = sign(claims(exp=int(time.time()) + 3600))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzzed_tokens_never_escape(verifier: Any, data: st.DataObject) -> None:
    choice = data.draw(st.sampled_from(["random", "flip", "truncate"]))
    if choice == "random":
        token = data.draw(st.text(max_size=300))
    elif choice == "flip":
        i = data.draw(st.integers(0, len(GOOD) - 1))
        c = data.draw(st.characters(codec="ascii"))
        token = GOOD[:i] + c + GOOD[i + 1 :]
        if token == GOOD:
            return
    else:
        token = GOOD[: data.draw(st.integers(0, len(GOOD) - 1))]
    with pytest.raises((AuthenticationError, PermissionDeniedError)):
        verifier.verify(bearer(token))


def test_canary_no_token_in_repr_or_errors(verifier: Any) -> None:
    token = sign(claims())
    p = verifier.verify(bearer(token))
    assert token not in repr(p)
    with pytest.raises(AuthenticationError) as info:
        verifier.verify(bearer(token[:-4]))
    assert token[:-4] not in str(info.value)
