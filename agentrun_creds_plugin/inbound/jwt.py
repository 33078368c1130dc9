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
from .principal import Principal, token_scopes

__all__ = ["LEEWAY_SECONDS", "MAX_TOKEN_BYTES", "bearer_token", "token_kid", "verify_jwt"]

LEEWAY_SECONDS = 30
MAX_TOKEN_BYTES = 8 * 1024
_RSA = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
_EC = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512", "secp256k1": "ES256K"}
_TYPES = (None, "jwt", "at+jwt", "application/at+jwt", "application/jwt")

_B64URL = re.compile(r"[A-Za-z0-9_-]+")
# Parsed JOSE headers by their encoded form; read only (never handed out for mutation).
_HEADERS: dict[str, dict[str, Any]] = {}

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
    token = authorization(name, headers, "Bearer", "<jwt>", label="Bearer token")
    if len(token) > MAX_TOKEN_BYTES:
        raise AuthenticationError(f"token longer than {MAX_TOKEN_BYTES} bytes", name=name)
    return token


def _header(name: str, token: str) -> dict[str, Any]:
    """The unverified JOSE header, parsed once here (pyjwt parses it again when it verifies;
    its ``get_unverified_header`` would make that three times per request)."""
    head, dot, _ = token.partition(".")
    header = _HEADERS.get(head)  # an issuer's tokens share a few headers (alg, kid, typ)
    if header is not None:
        return header
    if not dot or len(head) > MAX_TOKEN_BYTES or not _B64URL.fullmatch(head):
        raise AuthenticationError("malformed token (not a signed JWT)", name=name)
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except Exception:
        raise AuthenticationError("malformed token (not a signed JWT)", name=name) from None
    if not isinstance(header, dict):
        raise AuthenticationError("malformed token header", name=name)
    if len(_HEADERS) >= 256:
        _HEADERS.clear()  # a flood of distinct headers only costs the parse again
    _HEADERS[head] = header
    return header


def token_kid(name: str, token: str) -> str | None:
    """The token's ``kid`` (validated as a short string), read before verification."""
    return _kid(name, _header(name, token))


def _kid(name: str, header: dict[str, Any]) -> str | None:
    kid = header.get("kid")
    if kid is None:
        return None
    if not isinstance(kid, str) or len(kid) > 256:
        raise AuthenticationError("malformed token header (kid)", name=name)
    return kid


def verify_jwt(
    name: str, cred: JwtCredential, headers: Headers, keys_for: KeyProvider
) -> Principal:
    """Verify the bearer JWT; ``keys_for(kid)`` supplies the candidate keys."""
    token = bearer_token(name, headers)
    header = _header(name, token)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none" or alg.upper().startswith("HS"):
        raise AuthenticationError(
            "token algorithm refused (none and HMAC are never accepted)", name=name
        )
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in _TYPES):
        raise AuthenticationError("token typ is not JWT or at+jwt", name=name)
    kid = _kid(name, header)
    allowed = set(cred.algorithms) if cred.algorithms else None
    keys = keys_for(kid)
    if not keys:
        raise AuthenticationError(
            "no signing keys: the key set could not be fetched (run check on the credential)",
            name=name,
        )
    candidates = [
        k
        for k in keys
        if (kid is None or k.key_id == kid)
        and alg in key_algorithms(k)
        and (allowed is None or alg in allowed)
    ]
    if not candidates:
        if kid is not None:
            raise AuthenticationError("unknown signing key (kid not in the key set)", name=name)
        raise AuthenticationError("no key in the set verifies this token's algorithm", name=name)
    claims = _decode(name, cred, token, alg, candidates)
    required = cred.required_scopes
    if required:
        granted = set(token_scopes(claims))
        missing = [s for s in required if s not in granted]
        if missing:
            raise PermissionDeniedError(f"missing scope {' '.join(missing)}", name=name)
    return Principal(credential=name, kind="jwt", claims=MappingProxyType(dict(claims)))


def _decode(
    name: str, cred: JwtCredential, token: str, alg: str, candidates: list[PyJWK]
) -> dict[str, Any]:
    options: dict[str, Any] = {"require": ["exp"], "verify_aud": cred.audience is not None}
    last: Exception | None = None
    for key in candidates:
        try:
            claims: dict[str, Any] = pyjwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=cred.audience,
                issuer=cred.token_issuer,
                leeway=LEEWAY_SECONDS,
                options=options,  # type: ignore[arg-type]
            )
            return claims
        except pyjwt.InvalidSignatureError as exc:
            last = exc
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
    del last
    raise AuthenticationError("bad token signature", name=name)
