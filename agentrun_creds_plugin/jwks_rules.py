"""Input rules for how a JWT credential fetches its key set: method, headers, body, issuer.

The product lets a JWKS URL be fetched with a configured request method, request headers and
request body (a key server behind a gateway may want a token or a POST). An OIDC issuer can be
given instead of a JWKS URL: its discovery document names the ``jwks_uri``. These rules live
apart from ``kinds.py`` so that the model stays a list of fields. They raise ``ValueError``
(the model turns it into a 422 naming the field) and never quote a header value: those are
secret.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "DISCOVERY_PATH",
    "MAX_BODY_CHARS",
    "METHODS",
    "check_algorithms",
    "check_issuer",
    "check_jwks_url",
    "check_method",
    "check_request",
    "check_request_header",
    "check_sources",
    "check_static_jwks",
    "discovery_url",
]

METHODS = ("GET", "POST")
DISCOVERY_PATH = "/.well-known/openid-configuration"
MAX_BODY_CHARS = 64 * 1024
#: Headers the HTTP client owns: setting them by hand breaks the request or smuggles another.
_RESERVED = frozenset({"host", "content-length", "transfer-encoding", "connection"})


_PRIVATE_PARTS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


def check_jwks_url(value: str) -> str:
    if not value.lower().startswith("https://"):
        raise ValueError("jwks_url must use https:// (the key set must not be spoofable)")
    if value.rstrip("/").endswith(DISCOVERY_PATH):
        raise ValueError(
            "jwks_url points at an OIDC discovery document; set oidc_issuer to the issuer "
            "URL instead (the jwks_uri is read from its discovery document)"
        )
    return value


def check_static_jwks(value: dict[str, Any]) -> dict[str, Any]:
    """A JWKS of public keys only: a private or symmetric key must never be published."""
    keys = value.get("keys")
    if not isinstance(keys, list) or not keys:
        raise ValueError("jwks needs a non-empty 'keys' array")
    for i, key in enumerate(keys):
        if not isinstance(key, dict) or key.get("kty") not in ("RSA", "EC", "OKP"):
            raise ValueError(
                f"jwks.keys[{i}] is not a public RSA, EC or OKP key (symmetric 'oct' keys "
                "cannot be published)"
            )
        if any(k in key for k in _PRIVATE_PARTS):
            raise ValueError(
                f"jwks.keys[{i}] holds private key material; publish only the public key"
            )
    return value


def check_algorithms(value: list[str]) -> list[str]:
    bad = [a for a in value if a.lower() == "none" or a.upper().startswith("HS")]
    if bad or not value:
        raise ValueError(
            "algorithms must be a non-empty list of asymmetric algorithms "
            "(RS256, ES256, EdDSA...); 'none' and HMAC are refused"
        )
    return value


def check_method(value: object) -> str:
    """``GET`` or ``POST`` (any case accepted, stored upper case)."""
    method = value.strip().upper() if isinstance(value, str) else ""
    if method not in METHODS:
        raise ValueError("jwks_method must be GET or POST (the methods a key server answers)")
    return method


def check_request_header(name: str, value: str) -> None:
    """Refuse what the HTTP client owns, and values it could not send (never quoting them)."""
    if name.lower() in _RESERVED:
        raise ValueError(
            f"jwks_headers may not set {name}: the HTTP client sets it; remove that header"
        )
    if not value.isascii():
        raise ValueError(f"jwks_headers[{name}] has a non-ASCII character; remove it")


def check_issuer(value: str) -> str:
    """An https issuer URL; a full discovery URL (as authlib's ``server_metadata_url``) is
    accepted and cut back to the issuer, which is what the tokens' ``iss`` must equal."""
    issuer = value[: -len(DISCOVERY_PATH)] if value.endswith(DISCOVERY_PATH) else value
    parts = urlsplit(issuer)
    if parts.scheme.lower() != "https" or not parts.netloc:
        raise ValueError(
            "oidc_issuer must be an https:// URL such as https://login.example.com/realm "
            "(the discovery document must not be spoofable)"
        )
    if parts.query or parts.fragment:
        raise ValueError("oidc_issuer has a query or fragment; an OIDC issuer has neither")
    return issuer


def discovery_url(issuer: str) -> str:
    """Where OpenID Connect Discovery 1.0 puts the issuer's metadata."""
    return issuer.rstrip("/") + DISCOVERY_PATH


def check_sources(
    jwks: object, url: str | None, oidc_issuer: str | None, issuer: str | None
) -> None:
    """Exactly one place for the keys; a token issuer that cannot contradict the OIDC one."""
    if sum(x is not None for x in (jwks, url, oidc_issuer)) != 1:
        raise ValueError(
            "give exactly one of jwks (a JWKS dict), jwks_url (https) or oidc_issuer (https)"
        )
    if oidc_issuer and issuer and issuer != oidc_issuer:
        raise ValueError("issuer differs from oidc_issuer; drop issuer (tokens carry it)")


def check_request(fetched: bool, method: str, headers: bool, body: str | None) -> None:
    """Cross-field rules: a request is only for a fetched key set; a body only with POST."""
    customised = method != "GET" or headers or body is not None
    if customised and not fetched:
        raise ValueError(
            "jwks_method, jwks_headers and jwks_body configure the fetch of jwks_url or "
            "oidc_issuer; a static jwks is not fetched, so drop them"
        )
    if body is not None and method != "POST":
        raise ValueError(
            "jwks_body is only sent with POST; set jwks_method='POST' or drop jwks_body"
        )
    if body is not None and len(body) > MAX_BODY_CHARS:
        raise ValueError(f"jwks_body is longer than {MAX_BODY_CHARS} characters")
