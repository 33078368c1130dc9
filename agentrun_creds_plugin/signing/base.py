"""The one shape every request signer has: a request, an access key and options in, headers out.

A provider's signer (AWS SigV4, Tencent TC3, Alibaba ACS3, or a third party's) implements
:class:`Signer`; :mod:`.registry` maps provider names to signers, and outbound auth calls
whichever one a credential names. The inputs are three small frozen values instead of a
run of positional arguments, so adding an option touches one class, not every call site.

Standard library only and pure: the clock is ``SigningRequest.now``, and the only state a
signer may use is the scoped-key cache its caller passes in (``keys``), so the signing
modules themselves cache nothing.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = [
    "AccessKey",
    "ScopedKeyCache",
    "Signer",
    "SigningOptions",
    "SigningRequest",
    "StreamingBodyError",
    "uncached",
]


@dataclass(frozen=True)
class SigningOptions:
    """Explicit signing targets; anything left ``None`` is derived from the URL and headers
    (the provider's convention), then from the credential's ``region``."""

    service: str | None = None
    region: str | None = None
    action: str | None = None
    version: str | None = None
    unsigned_payload: bool = False


@dataclass(frozen=True)
class SigningRequest:
    """The request to sign, exactly as it will be sent.

    ``url`` carries the raw (wire) path and query, ``headers`` the headers that will be
    sent, ``body`` the exact body bytes or ``None`` for a streaming body (which most
    signatures cannot cover), ``now`` the signing time as a Unix timestamp.
    """

    method: str
    url: str
    headers: Sequence[tuple[str, str]]
    body: bytes | None
    now: float

    @property
    def host(self) -> str:
        """The URL's authority (``host[:port]``), which the signers derive targets from."""
        url = self.url
        start = url.find("://")
        if start < 0:
            return urllib.parse.urlsplit(url).netloc
        rest = url[start + 3 :]
        end = len(rest)
        for sep in "/?#":
            found = rest.find(sep)
            if 0 <= found < end:
                end = found
        return rest[:end]

    def require_body(self, *, allow_stream: bool = False) -> bytes:
        """The body bytes; a streaming body is refused unless the signature does not cover it."""
        if self.body is None:
            if allow_stream:
                return b""
            raise StreamingBodyError("a streaming body cannot be signed")
        return self.body


@dataclass(frozen=True)
class AccessKey:
    """A cloud access key pair as a signer sees it; the secret and token stay out of the repr."""

    access_key_id: str
    secret: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    region: str | None = None


class StreamingBodyError(ValueError):
    """The body is a stream and this signature must hash it; the caller names the fix."""


class ScopedKeyCache(Protocol):
    """Returns ``derive(secret, *scope)``, possibly from a cache keyed by (``ident``, scope).

    A scoped signing key (AWS: date/region/service, Tencent: date/service) costs most of a
    signature's HMACs and changes once a day, so the caller may keep them; ``ident`` is the
    access key id, which together with the secret tells key pairs apart.
    """

    def __call__(
        self, derive: Callable[..., bytes], secret: str, ident: str, /, *scope: str
    ) -> bytes: ...


def uncached(derive: Callable[..., bytes], secret: str, ident: str, /, *scope: str) -> bytes:
    """The :class:`ScopedKeyCache` that keeps nothing: derive the key every time."""
    return derive(secret, *scope)


@runtime_checkable
class Signer(Protocol):
    """Signs one request for one provider; returns the headers to set (each replaces its
    namesake). Raises ``ValueError`` (with what is missing and how to supply it, never a
    secret) when the target cannot be derived, and :class:`StreamingBodyError` for a stream
    it cannot sign."""

    def sign(
        self,
        request: SigningRequest,
        key: AccessKey,
        options: SigningOptions,
        keys: ScopedKeyCache = uncached,
    ) -> list[tuple[str, str]]: ...
