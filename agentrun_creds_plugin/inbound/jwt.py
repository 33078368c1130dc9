"""JWT verification: ``Authorization: Bearer <jwt>`` against the credential's key set.

The algorithm comes from the key, never from the token alone: a JWK's ``alg`` (or, without one,
its ``kty``/``crv``: RSA -> RS*/PS*, EC P-256 -> ES256...), further narrowed by the credential's
``algorithms``. ``none`` and HMAC are never accepted, so a token "signed" with a public key as
an HMAC secret fails. ``jku``/``x5u``/``jwk`` token headers are ignored, never fetched.
``exp`` is required; ``exp``/``nbf`` get 30 s of leeway. A wrong issuer is a 401; a wrong
audience or a missing required scope is a 403 (the caller authenticated, but is not allowed).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import Any

import jwt as pyjwt
from jwt import PyJWK

from ..errors import AuthenticationError, PermissionDeniedError
from ..kinds import JwtCredential
from .headers import Headers, authorization
from .jws import decoder
from .principal import Principal, jwt_principal, token_scopes

__all__ = [
    "LEEWAY_SECONDS",
    "MAX_TOKEN_BYTES",
    "JwtCheck",
    "bearer_token",
    "key_algorithms",
    "token_kid",
]

LEEWAY_SECONDS = 30
MAX_TOKEN_BYTES = 8 * 1024
_RSA = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
_EC = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512", "secp256k1": "ES256K"}
_TYPES = (None, "jwt", "at+jwt", "application/at+jwt", "application/jwt")

_B64URL = re.compile(r"[A-Za-z0-9_-]+")
# The checked (alg, kid) of a JOSE header, by its encoded form: an issuer's tokens share a few
# headers, so each is parsed and checked once (pyjwt parses it again when it verifies).
_HEADERS: dict[str, tuple[str, str | None]] = {}
_MAX_CACHED = 256

KeyProvider = Callable[[str | None], Sequence[PyJWK]]


def key_algorithms(key: PyJWK) -> tuple[str, ...]:
    """The algorithms a JWK may verify: its ``alg``, else what its type implies."""
    alg = key._jwk_data.get("alg")
    kty = key._jwk_data.get("kty")
    if isinstance(alg, str):
        family = {"RSA": _RSA, "EC": tuple(_EC.values()), "OKP": ("EdDSA", "Ed25519")}
        return (alg,) if alg in family.get(str(kty), ()) else ()
    if kty == "RSA":
        return _RSA
    if kty == "EC":
        crv = _EC.get(str(key._jwk_data.get("crv")))
        return (crv,) if crv else ()
    if kty == "OKP":
        return ("EdDSA",)
    return ()


def bearer_token(name: str, headers: Headers) -> str:
    """The token of ``Authorization: Bearer <token>``, or a 401 saying what is wrong."""
    value = headers.get("Authorization")
    if (
        value is not None
        and value.startswith("Bearer ")
        and 7 < len(value) <= MAX_TOKEN_BYTES + 7
        and value == value.strip()
    ):
        return value[7:]  # the usual spelling, taken as it is on every request
    token = authorization(name, headers, "Bearer", "<jwt>", label="Bearer token")
    if len(token) > MAX_TOKEN_BYTES:
        raise AuthenticationError(f"token longer than {MAX_TOKEN_BYTES} bytes", name=name)
    return token


def _header(name: str, token: str) -> tuple[str, str | None]:
    """The token's ``alg`` and ``kid``, read from the unverified JOSE header and checked: no
    ``none`` or HMAC algorithm, a JWT ``typ``, a short string ``kid``; else a 401."""
    head, dot, _ = token.partition(".")
    checked = _HEADERS.get(head)
    if checked is not None:
        return checked
    if not dot or len(head) > MAX_TOKEN_BYTES or not _B64URL.fullmatch(head):
        raise AuthenticationError("malformed token (not a signed JWT)", name=name)
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except Exception:
        raise AuthenticationError("malformed token (not a signed JWT)", name=name) from None
    if not isinstance(header, dict):
        raise AuthenticationError("malformed token header", name=name)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none" or alg.upper().startswith("HS"):
        raise AuthenticationError(
            "token algorithm refused (none and HMAC are never accepted)", name=name
        )
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in _TYPES):
        raise AuthenticationError("token typ is not JWT or at+jwt", name=name)
    kid = header.get("kid")
    if kid is not None and (not isinstance(kid, str) or len(kid) > 256):
        raise AuthenticationError("malformed token header (kid)", name=name)
    if len(_HEADERS) >= _MAX_CACHED:
        _HEADERS.clear()  # a flood of distinct headers only costs the parse again
    checked = _HEADERS[head] = (alg, kid)
    return checked


def token_kid(name: str, token: str) -> str | None:
    """The token's ``kid`` (validated as a short string), read before verification."""
    return _header(name, token)[1]


class JwtCheck:
    """The verification of one JWT credential, with its rules read once.

    A verifier makes one per credential object (that is, per record version), so a request
    pays for its token, not for reading the credential again: the decode options, issuer,
    audience and scopes are fixed here, and the keys that may verify each ``(kid, alg)`` are
    worked out once per key set (a refreshed set starts afresh).
    """

    __slots__ = (
        "_allowed",
        "_audience",
        "_candidates",
        "_issuer",
        "_jwt",
        "_keys",
        "_keys_for",
        "_name",
        "_required",
        "_static",
    )

    def __init__(self, name: str, cred: JwtCredential, keys: KeyProvider | Sequence[PyJWK]) -> None:
        """``keys``: a static key set, or ``keys(kid)`` answering with the current one."""
        self._name = name
        self._allowed = frozenset(cred.algorithms) if cred.algorithms else None
        self._keys_for = keys if callable(keys) else None
        self._static = None if callable(keys) else keys
        self._audience = cred.audience
        self._issuer = cred.token_issuer
        self._jwt = decoder({"require": ["exp"], "verify_aud": cred.audience is not None})
        self._required = tuple(cred.required_scopes)
        self._keys: Sequence[PyJWK] | None = None
        self._candidates: dict[tuple[str | None, str], list[PyJWK]] = {}

    def __call__(self, headers: Headers) -> Principal:
        """The Principal of the bearer JWT in ``headers``, or a 401/403 saying why not."""
        name = self._name
        token = bearer_token(name, headers)
        alg, kid = _header(name, token)
        keys = self._static if self._keys_for is None else self._keys_for(kid)
        if not keys:
            raise AuthenticationError(
                "no signing keys: the key set could not be fetched (run check on the credential)",
                name=name,
            )
        candidates = (
            self._candidates.get((kid, alg)) if keys is self._keys else None
        ) or self._candidates_for(keys, kid, alg)
        if not candidates:
            if kid is not None:
                raise AuthenticationError("unknown signing key (kid not in the key set)", name=name)
            raise AuthenticationError(
                "no key in the set verifies this token's algorithm", name=name
            )
        claims = self._decode(name, token, alg, candidates)
        if self._required:
            granted = set(token_scopes(claims))
            missing = [s for s in self._required if s not in granted]
            if missing:
                raise PermissionDeniedError(f"missing scope {' '.join(missing)}", name=name)
        # pyjwt made ``claims`` for this call alone: wrapped read-only, not copied.
        return jwt_principal(name, MappingProxyType(claims))

    def _candidates_for(self, keys: Sequence[PyJWK], kid: str | None, alg: str) -> list[PyJWK]:
        if keys is not self._keys:
            self._keys, self._candidates = keys, {}
        found = self._candidates.get((kid, alg))
        if found is None:
            allowed = self._allowed
            found = [
                k
                for k in keys
                if (kid is None or k.key_id == kid)
                and alg in key_algorithms(k)
                and (allowed is None or alg in allowed)
            ]
            if len(self._candidates) < _MAX_CACHED:  # kids are the caller's: keep it bounded
                self._candidates[(kid, alg)] = found
        return found

    def _decode(self, name: str, token: str, alg: str, candidates: list[PyJWK]) -> dict[str, Any]:
        for key in candidates:
            try:
                claims: dict[str, Any] = self._jwt.decode_complete(
                    token,
                    key=key.key,
                    algorithms=[alg],
                    audience=self._audience,
                    issuer=self._issuer,
                    leeway=LEEWAY_SECONDS,
                )["payload"]
                return claims
            except pyjwt.InvalidSignatureError:
                continue
            except pyjwt.ExpiredSignatureError:
                raise AuthenticationError("token expired", name=name) from None
            except pyjwt.ImmatureSignatureError:
                raise AuthenticationError(
                    "token not yet valid (nbf/iat in the future)", name=name
                ) from None
            except pyjwt.InvalidIssuerError:
                raise AuthenticationError("token from another issuer (iss)", name=name) from None
            except pyjwt.InvalidAudienceError:
                raise PermissionDeniedError(
                    "token not meant for this service (aud)", name=name
                ) from None
            except pyjwt.MissingRequiredClaimError as exc:
                if exc.claim == "aud":
                    raise PermissionDeniedError("token has no audience (aud)", name=name) from None
                raise AuthenticationError(f"token has no {exc.claim} claim", name=name) from None
            except pyjwt.DecodeError:
                raise AuthenticationError("malformed token", name=name) from None
            except Exception:
                raise AuthenticationError("invalid token", name=name) from None
        raise AuthenticationError("bad token signature", name=name)
