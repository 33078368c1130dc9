"""The HTTPS request that fetches a key set: configured method, secret headers, body, discovery.

One client for the JWKS URL, the OIDC discovery document and the issuer's ``jwks_uri``, used by
the verifier's cache and by ``store.check``, so that what ``check`` reports is what a verify
would get. Certificates are always verified; redirects are refused (a key set that moves could
come from another origin); a response is read up to :data:`MAX_JWKS_BYTES`. A
:class:`FetchError` says what went wrong and how to fix it, and never carries a header value:
those are secrets (a gateway token), so they are not in messages, logs or reprs.
"""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..jwks_rules import discovery_url
from ..kinds import JwtCredential

__all__ = [
    "MAX_JWKS_BYTES",
    "FetchError",
    "JwksRequest",
    "fetch_json",
    "fetch_key_set",
    "request_key",
]

MAX_JWKS_BYTES = 1024 * 1024
_TRUST_HINT = "trust its CA via the system store, SSL_CERT_FILE or AGENTRUN_CREDS_CA_FILE"
_STATUS_HINTS = {
    401: "the server wants authentication: check jwks_headers (and jwks_method, jwks_body)",
    403: "the server refused these credentials: check the values of jwks_headers",
    404: "nothing at that URL: check the URL",
    405: "the server does not take that method: check jwks_method",
}


class FetchError(ValueError):
    """A key-set fetch failed. ``reason`` is one of: ``unreachable``, ``tls``, ``http``,
    ``redirect``, ``too_large``, ``not_json``, ``discovery``, ``no_keys``."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class JwksRequest:
    """How to fetch one credential's key set. Header values are revealed here only to be
    sent; ``repr`` shows their names."""

    url: str | None = None
    issuer: str | None = None
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    body: str | None = None

    @classmethod
    def of(cls, cred: JwtCredential) -> JwksRequest:
        return cls(
            url=cred.jwks_url,
            issuer=cred.oidc_issuer,
            method=cred.jwks_method,
            headers=tuple((n, v.get_secret_value()) for n, v in (cred.jwks_headers or {}).items()),
            body=cred.jwks_body,
        )

    def __repr__(self) -> str:
        names = [n for n, _ in self.headers]
        return f"JwksRequest({self.where}, method={self.method}, headers={names}: ****)"

    @property
    def where(self) -> str:
        """What the user configured, for messages: the JWKS URL or the OIDC issuer."""
        return f"jwks_url {self.url}" if self.url else f"oidc_issuer {self.issuer}"


def request_key(cred: JwtCredential) -> tuple[Any, ...]:
    """Cheap and hashable, and different whenever any part of the request changes, so that an
    update of the credential takes effect on the next verify (kept in memory only)."""
    headers = cred.jwks_headers
    revealed = tuple((n, v.get_secret_value()) for n, v in headers.items()) if headers else ()
    return (cred.jwks_url, cred.oidc_issuer, cred.jwks_method, revealed, cred.jwks_body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: a key set that moves could come from another origin."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        raise FetchError(
            "the server answered with a redirect; configure the final https URL",
            reason="redirect",
        )


def same_origin(a: str, b: str) -> bool:
    """Same scheme, host and port: where configured secret headers may be sent."""
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme.lower(), pa.netloc.lower()) == (pb.scheme.lower(), pb.netloc.lower())


def fetch_json(
    url: str,
    context: ssl.SSLContext,
    *,
    method: str = "GET",
    headers: tuple[tuple[str, str], ...] = (),
    body: str | None = None,
    timeout: float = 5.0,
    what: str = "jwks_url",
) -> Any:
    """GET or POST ``url`` over verified HTTPS and parse the JSON answer."""
    if not url.lower().startswith("https://"):
        raise FetchError(
            f"{what} {url} is not https://; the key set must not be spoofable", reason="tls"
        )
    if context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname:
        raise FetchError("the TLS context does not verify certificates; refusing", reason="tls")
    sent = {"Accept": "application/json", "User-Agent": "agentrun-creds"}
    data = None
    if body is not None:
        data = body.encode()
        try:
            json.loads(body)
            sent["Content-Type"] = "application/json"
        except ValueError:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
    sent.update(headers)
    request = urllib.request.Request(url, data=data, headers=sent, method=method)  # noqa: S310 - https checked above
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=context), _NoRedirect()
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            raw = response.read(MAX_JWKS_BYTES + 1)
    except FetchError:
        raise
    except urllib.error.HTTPError as exc:
        hint = _STATUS_HINTS.get(exc.code, "check the URL and the server's logs")
        raise FetchError(f"{what} {url} answered HTTP {exc.code}: {hint}", reason="http") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        cause = getattr(exc, "reason", exc)
        if isinstance(cause, ssl.SSLCertVerificationError):
            raise FetchError(
                f"{what} {url}: TLS certificate not trusted ({cause.verify_message}); "
                f"{_TRUST_HINT}",
                reason="tls",
            ) from None
        if isinstance(cause, ssl.SSLError):
            raise FetchError(
                f"{what} {url}: TLS handshake failed ({cause.reason}); is it really https?",
                reason="tls",
            ) from None
        raise FetchError(
            f"{what} unreachable: {url} ({type(cause).__name__}); check the URL, the network "
            "and the firewall",
            reason="unreachable",
        ) from None
    if len(raw) > MAX_JWKS_BYTES:
        raise FetchError(
            f"{what} {url} sent more than {MAX_JWKS_BYTES} bytes; a key set is a few KB: "
            "check the URL",
            reason="too_large",
        )
    try:
        return json.loads(raw)
    except ValueError:
        raise FetchError(
            f'{what} {url} did not answer JSON; it must serve a JWKS ({{"keys": [...]}})',
            reason="not_json",
        ) from None


def fetch_key_set(
    request: JwksRequest, context: ssl.SSLContext, *, timeout: float = 5.0
) -> tuple[Any, str]:
    """The JWKS document of ``request`` and the URL it came from: the JWKS URL, or the
    ``jwks_uri`` named by the issuer's discovery document.

    The discovery document is a GET (OpenID Connect Discovery 1.0) with the configured headers;
    its ``issuer`` must equal the configured one exactly and its ``jwks_uri`` must be https.
    The configured method, headers and body go to the ``jwks_uri`` only when it is on the
    issuer's origin: like an HTTP client dropping ``Authorization`` on a cross-host redirect,
    secret headers never go to a host the user did not name (that fetch is a plain GET).
    """
    if request.url is not None:
        doc = fetch_json(
            request.url,
            context,
            method=request.method,
            headers=request.headers,
            body=request.body,
            timeout=timeout,
        )
        return doc, request.url
    assert request.issuer is not None
    where = discovery_url(request.issuer)
    meta = fetch_json(where, context, headers=request.headers, timeout=timeout, what="discovery")
    if not isinstance(meta, dict):
        raise FetchError(f"discovery {where} is not a JSON object", reason="discovery")
    if meta.get("issuer") != request.issuer:
        raise FetchError(
            f"discovery {where} names issuer {str(meta.get('issuer'))[:200]!r}, not "
            f"{request.issuer!r}: set oidc_issuer to exactly the issuer the provider announces",
            reason="discovery",
        )
    jwks_uri = meta.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri.lower().startswith("https://"):
        raise FetchError(
            f"discovery {where} has no https jwks_uri; the provider must publish its keys "
            "over https",
            reason="discovery",
        )
    if same_origin(jwks_uri, request.issuer):
        doc = fetch_json(
            jwks_uri,
            context,
            method=request.method,
            headers=request.headers,
            body=request.body,
            timeout=timeout,
            what="jwks_uri",
        )
        return doc, jwks_uri
    return fetch_json(jwks_uri, context, timeout=timeout, what="jwks_uri"), jwks_uri
