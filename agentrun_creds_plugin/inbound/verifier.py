"""``make_verifier(resolver, name)``: one object verifying callers with one stored credential.

The credential is resolved on every verify (the store's freshness rules make a change in any
process visible to the next request). Only ``AuthenticationError`` (401) and
``PermissionDeniedError`` (403) leave ``verify`` for anything a caller sends; a store that
cannot be reached still raises ``StoreUnavailableError`` (503), which is not the caller's fault.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

from jwt import PyJWK

from ..errors import (
    AuthenticationError,
    CredentialDisabledError,
    CredentialError,
    CredentialExpiredError,
    CredentialNotFoundError,
    PermissionDeniedError,
    StoreUnavailableError,
)
from ..kinds import ApiKeyCredential, BasicAuthCredential, CredentialBase, JwtCredential
from ..resolver import CredentialResolver
from .apikey import verify_api_key
from .basic import BASIC_WARNING, verify_basic
from .fetch import JwksRequest, request_key
from .headers import Headers, HeadersInput, normalise_headers
from .jwks import JwksSource, usable_keys
from .jwt import bearer_token, token_kid, verify_jwt
from .principal import Principal

__all__ = ["Verifier", "make_verifier"]

log = logging.getLogger("agentrun_creds_plugin.inbound")

_SCHEMES = {"api_key": "ApiKey", "jwt": "Bearer", "basic": "Basic"}


class Verifier:
    """Verifies request headers against the credential ``name``; cheap to share."""

    def __init__(self, resolver: CredentialResolver, name: str) -> None:
        self._resolver = resolver
        self.name = name
        self._sources: dict[tuple[Any, ...], JwksSource] = {}
        self._static: dict[str, list[PyJWK]] = {}
        self._lock = threading.Lock()
        self._warned_basic = False

    def __repr__(self) -> str:
        return f"Verifier(credential={self.name!r})"

    def www_authenticate(self, kind: str | None = None) -> str:
        """The ``WWW-Authenticate`` challenge for this credential's kind."""
        return f'{_SCHEMES.get(kind or "", "Bearer")} realm="{self.name}"'

    # -- entry points ----------------------------------------------------------------------
    def verify(self, headers: HeadersInput | Headers, *, resource: str | None = None) -> Principal:
        """The Principal, or a 401/403 naming what the caller got wrong."""
        parsed = normalise_headers(headers)
        cred = self._guard(lambda: self._resolver.resolve(self.name, resource=resource))
        return self._check(cred, parsed)

    async def averify(
        self, headers: HeadersInput | Headers, *, resource: str | None = None
    ) -> Principal:
        """Async twin of :meth:`verify`; a needed JWKS fetch runs in a thread."""
        parsed = normalise_headers(headers)
        try:
            cred = await self._resolver.aresolve(self.name, resource=resource)
        except CredentialError as exc:
            raise self._refusal(exc) from None
        if isinstance(cred, JwtCredential) and cred.jwks is None:
            source = self._source(cred)
            kid = token_kid(self.name, bearer_token(self.name, parsed))
            if not source.ready(kid):
                return await asyncio.to_thread(self._check, cred, parsed)
        return self._check(cred, parsed)

    # -- internals -------------------------------------------------------------------------
    def _guard(self, call: Any) -> CredentialBase:
        try:
            cred: CredentialBase = call()
        except CredentialError as exc:
            raise self._refusal(exc) from None
        return cred

    def _refusal(self, exc: CredentialError) -> CredentialError:
        if isinstance(exc, StoreUnavailableError | AuthenticationError | PermissionDeniedError):
            return exc
        if isinstance(exc, CredentialDisabledError):
            return AuthenticationError(f"credential {self.name!r} is disabled", name=self.name)
        if isinstance(exc, CredentialExpiredError):
            return AuthenticationError(f"credential {self.name!r} expired", name=self.name)
        if isinstance(exc, CredentialNotFoundError):
            return AuthenticationError(
                f"credential {self.name!r} is not configured", name=self.name
            )
        return AuthenticationError(f"credential {self.name!r} is unusable", name=self.name)

    def _check(self, cred: CredentialBase, headers: Headers) -> Principal:
        try:
            if isinstance(cred, ApiKeyCredential):
                return verify_api_key(self.name, cred, headers)
            if isinstance(cred, BasicAuthCredential):
                if not self._warned_basic:
                    self._warned_basic = True
                    log.warning(BASIC_WARNING.format(name=self.name))
                return verify_basic(self.name, cred, headers)
            if isinstance(cred, JwtCredential):
                return verify_jwt(self.name, cred, headers, self._keys_provider(cred))
        except (AuthenticationError, PermissionDeniedError):
            raise
        except Exception:
            log.debug("inbound verify of %r failed unexpectedly", self.name, exc_info=False)
            raise AuthenticationError("credentials could not be verified", name=self.name) from None
        raise AuthenticationError(
            f"credential {self.name!r} is not an inbound kind (api_key, jwt, basic)",
            name=self.name,
        )

    def _keys_provider(self, cred: JwtCredential) -> Any:
        if cred.jwks is None:
            return self._source(cred).keys
        doc = cred.jwks or {}
        fingerprint = json.dumps(doc, sort_keys=True, default=str)
        keys = self._static.get(fingerprint)
        if keys is None:
            keys = usable_keys(doc)
            with self._lock:
                if len(self._static) > 8:
                    self._static.clear()
                self._static[fingerprint] = keys
        return lambda _kid: keys

    def _source(self, cred: JwtCredential) -> JwksSource:
        key = (*request_key(cred), cred.refresh_interval)
        source = self._sources.get(key)
        if source is None:
            with self._lock:
                source = self._sources.get(key)
                if source is None:
                    request = JwksRequest.of(cred)
                    source = JwksSource(
                        None,
                        self._resolver.ssl_context,
                        refresh_interval=cred.refresh_interval,
                        request=request,
                    )
                    self._sources[key] = source
        return source


def make_verifier(resolver: CredentialResolver, name: str) -> Verifier:
    """A :class:`Verifier` for the service credential ``name`` (api_key, jwt or basic)."""
    return Verifier(resolver, name)
