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
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from jwt import PyJWK

from ..backends.base import Record
from ..errors import (
    AuthenticationError,
    CredentialDisabledError,
    CredentialError,
    CredentialExpiredError,
    CredentialNotFoundError,
    PermissionDeniedError,
    StoreUnavailableError,
)
from ..grace import Grace
from ..kinds import ApiKeyCredential, BasicAuthCredential, CredentialBase, JwtCredential
from ..resolver import CredentialResolver
from .apikey import verify_api_key
from .basic import BASIC_WARNING, verify_basic
from .digest import KeyDigests
from .fetch import JwksRequest, request_key
from .headers import Headers, HeadersInput, normalise_headers
from .jwks import JwksSource, usable_keys
from .jwt import JwtCheck, bearer_token, token_kid
from .principal import Principal

__all__ = ["ServiceResolver", "Verifier", "make_verifier"]

log = logging.getLogger("agentrun_creds_plugin.inbound")

_SCHEMES = {"api_key": "ApiKey", "jwt": "Bearer", "basic": "Basic"}

Outcome = Principal | AuthenticationError | PermissionDeniedError


@runtime_checkable
class ServiceResolver(Protocol):
    """A resolver that also hands out the grace-period secret and takes one audit event per
    verified request (``CredentialStore`` is one). With a plain ``CredentialResolver`` a
    verifier still works, audited by ``resolve`` alone and without grace periods."""

    def service_record(self, name: str, *, resource: str | None = None) -> Record: ...

    async def aservice_record(self, name: str, *, resource: str | None = None) -> Record: ...

    def load_service(
        self, rec: Record, *, resource: str | None = None
    ) -> tuple[CredentialBase, Grace | None]: ...

    def record_service_use(
        self, name: str, resource: str | None, *, accepted: bool, reason: str | None
    ) -> None: ...


class Verifier:
    """Verifies request headers against the credential ``name``; cheap to share.

    Each ``verify`` is audited once, with its outcome (``used``, or ``use_failed`` with the
    reason) and ``resource`` (e.g. the route), on the store's batched queue. ``clock`` (epoch
    seconds) decides whether a rotation grace period is still running; tests may replace it.
    """

    def __init__(
        self, resolver: CredentialResolver, name: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._resolver = resolver
        self._service = resolver if isinstance(resolver, ServiceResolver) else None
        self.name = name
        self.clock = clock
        self.kind: str | None = None  # the kind last seen, for the challenge of a refusal
        self._scheme = "Bearer"
        self._sources: dict[tuple[Any, ...], JwksSource] = {}
        self._static: dict[str, list[PyJWK]] = {}
        self._lock = threading.Lock()
        self._warned_basic = False
        # (version, blob, credential) of the last JWT credential: its key set is public, so
        # an unchanged record is not decrypted again (checked against the fresh record).
        self._jwt: tuple[int, bytes, CredentialBase] | None = None
        self._digests: KeyDigests | None = None
        self._last_check: tuple[CredentialBase, JwtCheck] | None = None
        peek = getattr(resolver, "peek_record", None) if self._service is not None else None
        self._peek: Callable[[str], Record | None] | None = peek
        service = self._service
        self._record_use = service.record_service_use if service is not None else None

    def __repr__(self) -> str:
        return f"Verifier(credential={self.name!r})"

    def www_authenticate(self, kind: str | None = None) -> str:
        """The ``WWW-Authenticate`` challenge for this credential (its kind when known)."""
        scheme = _SCHEMES.get(kind, "Bearer") if kind is not None else self._scheme
        return f'{scheme} realm="{self.name}"'

    # -- entry points ----------------------------------------------------------------------
    def verify(
        self, headers: HeadersInput | Headers, *, resource: str | None = None, audit: bool = True
    ) -> Principal:
        """The Principal, or a 401/403 naming what the caller got wrong.

        ``audit=False`` leaves the audit event to the caller (:meth:`record`), e.g. a
        middleware that tries several credentials and records only the one that decided.
        """
        try:
            parsed = normalise_headers(headers)
            principal = self._verify_sync(parsed, resource)
        except (AuthenticationError, PermissionDeniedError) as exc:
            if audit:
                self.record(exc, resource)
            raise
        if audit:
            self.record(principal, resource)
        return principal

    async def averify(
        self, headers: HeadersInput | Headers, *, resource: str | None = None, audit: bool = True
    ) -> Principal:
        """Async twin of :meth:`verify`; a needed JWKS fetch runs in a thread.

        The common case (an API key or Basic value sent exactly, the record unchanged) is
        answered here, without a further call layer: a middleware runs this on every request.
        """
        try:
            parsed = normalise_headers(headers)
            service = self._service
            if service is None:
                principal = await self._averify(parsed, resource, None)
            else:
                try:
                    rec = await service.aservice_record(self.name, resource=resource)
                except CredentialError as exc:
                    raise self._refusal(exc) from None
                principal = self._digest_match(rec, parsed) or await self._averify(
                    parsed, resource, rec
                )
        except (AuthenticationError, PermissionDeniedError) as exc:
            if audit:
                self.record(exc, resource)
            raise
        if audit:
            self.record(principal, resource)
        return principal

    def accept_exact(self, headers: Any, resource: str | None) -> Principal | None:
        """The common request answered in one synchronous call, or ``None``: the Principal
        when ASGI raw ``headers`` carry an accepted API key or Basic value exactly and the
        record, read without waiting (``peek_record``), is the version the digests were
        made from. Audited as :meth:`averify` audits an accepted request. ``None`` (anything
        else: first request, a change, a refusal, a backend that reads over the network)
        means "await :meth:`averify`", which reads, decides, audits and names the reason.
        """
        digests = self._digests
        peek = self._peek
        record_use = self._record_use
        if digests is None or peek is None or record_use is None or type(headers) is not list:
            return None
        try:
            rec = peek(self.name)
        except Exception:  # e.g. the store is unavailable: averify raises what it should
            return None
        if rec is None or (rec.blob is not digests.blob and rec.blob != digests.blob):
            return None
        principal = digests.match_raw(headers, self.clock())
        if principal is not None:
            record_use(self.name, resource, accepted=True, reason=_reason_of(principal))
        return principal

    def record(self, outcome: Outcome, resource: str | None) -> None:
        """Queue the audit event of one request's outcome (never the token or key)."""
        record_use = self._record_use
        if record_use is None:
            return
        if isinstance(outcome, Principal):
            record_use(self.name, resource, accepted=True, reason=_reason_of(outcome))
        elif not getattr(outcome, "_audited", False):
            record_use(self.name, resource, accepted=False, reason=outcome.reason)

    # -- internals -------------------------------------------------------------------------
    async def _averify(
        self, parsed: Headers, resource: str | None, rec: Record | None
    ) -> Principal:
        """The full check: ``rec`` is the fresh record (``None`` for a plain resolver)."""
        try:
            if rec is not None and self._service is not None:
                cred, grace = self._load(self._service, rec, resource)
            else:
                cred, grace = await self._resolver.aresolve(self.name, resource=resource), None
        except CredentialError as exc:
            raise self._refusal(exc) from None
        if isinstance(cred, JwtCredential) and cred.jwks is None:
            source = self._source(cred)
            kid = token_kid(self.name, bearer_token(self.name, parsed))
            if not source.ready(kid):
                return await asyncio.to_thread(self._check, cred, parsed, grace)
        return self._check(cred, parsed, grace)

    def _verify_sync(self, parsed: Headers, resource: str | None) -> Principal:
        try:
            if self._service is not None:
                rec = self._service.service_record(self.name, resource=resource)
                fast = self._digest_match(rec, parsed)
                if fast is not None:
                    return fast
                cred, grace = self._load(self._service, rec, resource)
            else:
                cred, grace = self._resolver.resolve(self.name, resource=resource), None
        except CredentialError as exc:
            raise self._refusal(exc) from None
        return self._check(cred, parsed, grace)

    def _digest_match(self, rec: Record, parsed: Headers) -> Principal | None:
        """An exact match against this record version's keyed digests (no decryption), or
        ``None`` to run the full check; the digests are rebuilt when the record changes."""
        digests = self._digests
        if digests is None or (digests.blob is not rec.blob and digests.blob != rec.blob):
            return None
        principal = digests.match(parsed, self.clock())
        if principal is not None and self.kind != digests.kind:
            self._seen(digests.kind, self._scheme)
        return principal

    def _remember_digests(self, rec: Record, cred: CredentialBase, grace: Grace | None) -> None:
        previous = grace.secret.get_secret_value() if grace is not None else None
        until = grace.until if grace is not None else 0.0
        self._digests = KeyDigests.of(self.name, rec.blob, cred, previous, until)

    def _load(
        self, service: ServiceResolver, rec: Record, resource: str | None
    ) -> tuple[CredentialBase, Grace | None]:
        cached = self._jwt
        if cached is not None and cached[0] == rec.version and cached[1] == rec.blob:
            return cached[2], None
        cred, grace = service.load_service(rec, resource=resource)
        self._remember_digests(rec, cred, grace)
        if isinstance(cred, JwtCredential) and not any(
            getattr(cred, f, None) for f in cred.secret_fields
        ):
            self._jwt = (rec.version, rec.blob, cred)
        return cred, grace

    def _refusal(self, exc: CredentialError) -> CredentialError:
        """The 401 for a credential that cannot be used; already audited by the store."""
        refusal = self._refusal_of(exc)
        refusal._audited = True  # type: ignore[attr-defined]
        return refusal

    def _refusal_of(self, exc: CredentialError) -> CredentialError:
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

    def _check(self, cred: CredentialBase, headers: Headers, grace: Grace | None) -> Principal:
        previous = None
        if grace is not None and grace.active(self.clock()):
            previous = grace.secret.get_secret_value()
        try:
            if isinstance(cred, JwtCredential):
                self._seen("jwt", "Bearer")
                return self._jwt_check(cred)(headers)
            if isinstance(cred, ApiKeyCredential):
                self._seen("api_key", cred.prefix or "ApiKey")
                return verify_api_key(self.name, cred, headers, previous)
            if isinstance(cred, BasicAuthCredential):
                self._seen("basic", "Basic")
                if not self._warned_basic:
                    self._warned_basic = True
                    log.warning(BASIC_WARNING.format(name=self.name))
                return verify_basic(self.name, cred, headers, previous)
        except (AuthenticationError, PermissionDeniedError):
            raise
        except Exception:
            log.debug("inbound verify of %r failed unexpectedly", self.name, exc_info=False)
            raise AuthenticationError("credentials could not be verified", name=self.name) from None
        raise AuthenticationError(
            f"credential {self.name!r} is not an inbound kind (api_key, jwt, basic)",
            name=self.name,
        )

    def _seen(self, kind: str, scheme: str) -> None:
        if self.kind != kind or self._scheme != scheme:
            self.kind, self._scheme = kind, scheme

    def _jwt_check(self, cred: JwtCredential) -> JwtCheck:
        """The compiled check of this credential object (one per record version)."""
        last = self._last_check
        if last is not None and last[0] is cred:
            return last[1]
        if cred.jwks is None:
            check = JwtCheck(self.name, cred, self._source(cred).keys)
        else:
            check = JwtCheck(self.name, cred, self._static_keys(cred.jwks))
        self._last_check = (cred, check)
        return check

    def _static_keys(self, doc: dict[str, Any]) -> list[PyJWK]:
        """The parsed keys of a static JWKS, shared by the versions that carry the same set."""
        fingerprint = json.dumps(doc, sort_keys=True, default=str)
        keys = self._static.get(fingerprint)
        if keys is None:
            keys = usable_keys(doc)
            with self._lock:
                if len(self._static) > 8:
                    self._static.clear()
                self._static[fingerprint] = keys
        return keys

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


def _reason_of(accepted: Principal) -> str | None:
    """The audit reason of an accepted request: only a grace-period match has one."""
    return "previous secret (grace period)" if accepted.matched == "previous" else None


def make_verifier(resolver: CredentialResolver, name: str) -> Verifier:
    """A :class:`Verifier` for the service credential ``name`` (api_key, jwt or basic)."""
    return Verifier(resolver, name)
