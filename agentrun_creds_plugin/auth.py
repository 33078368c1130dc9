"""Per-request outbound auth for httpx2, httpx and requests.

``store.http_auth(name)`` returns a :class:`CredentialAuth`: the credential is resolved from the
store on every request (and every retry the SDK makes), never at construction, so a rotation
or a disable reaches the very next request and the auth object holds no plaintext.

The shape follows httpx's ``_auth.py``: ``sync_auth_flow`` / ``async_auth_flow`` do the I/O
(resolving the credential), then hand over to a pure step (:func:`apply_credential`) that only
computes what to add to the request. No lock is held across a ``yield``. The same object is
an ``httpx2.Auth`` and an ``httpx.Auth`` (whichever is installed) and a ``requests`` auth
callable.

Decisions where the design is silent:
- ``ModelServiceCredential`` sends what the provider's current SDK sends: ``Authorization:
  Bearer`` for OpenAI-compatible providers and for Anthropic (anthropic 2.x does), the
  ``api-key`` header for Azure OpenAI. A request that already carries ``x-api-key`` (an
  older anthropic SDK) gets the key there instead.
- A key sent as a query parameter is unavoidably in the URL on the wire; the URL put back on
  the request after the response is redacted, and a logging filter redacts it in the httpx,
  httpx2 and urllib3 loggers.
- JWT credentials verify inbound tokens only; using one outbound is refused (422).
"""

from __future__ import annotations

import base64
import logging
import os
import re
import time
import urllib.parse
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import InvalidCredentialError
from .kinds import (
    ApiKeyCredential,
    BasicAuthCredential,
    CloudAccessKeyCredential,
    CredentialBase,
    CustomHeadersCredential,
    JwtCredential,
    ModelServiceCredential,
    ToolApiKeyCredential,
)
from .selection import selected_name

if TYPE_CHECKING:
    from .store import CredentialStore

__all__ = [
    "AuthPlan",
    "CredentialAuth",
    "SigningOptions",
    "apply_credential",
    "make_auth",
    "redact_url",
    "set_headers",
    "sign_cloud",
]

REDACTED = "[REDACTED]"


@dataclass
class AuthPlan:
    """What to add to one request: headers to set, query parameters to set."""

    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    redact_query: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"AuthPlan(headers={sorted(self.headers)}, query={sorted(self.query)})"


@dataclass(frozen=True)
class SigningOptions:
    """Explicit signing targets; anything left ``None`` is derived from the URL and headers
    (the provider's convention), then from the credential's ``region``."""

    service: str | None = None
    region: str | None = None
    action: str | None = None
    version: str | None = None
    unsigned_payload: bool = False


_PROCESS_KEY = os.urandom(32)
_SIGNING_KEYS: dict[tuple[bytes | str, ...], bytes] = {}


def _scoped_key(derive: Callable[..., bytes], secret: str, ident: str, *scope: str) -> bytes:
    """A provider's scoped signing key, cached per (keyed digest of the secret, scope).

    The cache is keyed by an HMAC of the key pair under a per-process random key, so it
    holds no secret and a rotated secret gets its own entry; a scope lasts one day.
    """
    from .signing._request import hmac_sha256

    digest = hmac_sha256(_PROCESS_KEY, f"{ident}\x00{secret}".encode())
    key: tuple[bytes | str, ...] = (digest, *scope)
    found = _SIGNING_KEYS.get(key)
    if found is None:
        if len(_SIGNING_KEYS) > 1024:
            _SIGNING_KEYS.clear()
        found = derive(secret, *scope)
        _SIGNING_KEYS[key] = found
    return found


def sign_cloud(
    cred: CloudAccessKeyCredential,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    now: float,
    options: SigningOptions = SigningOptions(),
) -> list[tuple[str, str]]:
    """The headers that sign one request with a cloud AK/SK (pure apart from a key cache)."""
    from .signing import aliyun, aws, tencent

    if body is None and not (cred.provider == "aws" and options.unsigned_payload):
        raise InvalidCredentialError(
            "request body: a streaming body cannot be signed; send bytes (content=...), read "
            "the stream first, or for S3 use http_auth(..., unsigned_payload=True)"
        )
    secret = cred.access_key_secret.get_secret_value()
    token = cred.security_token.get_secret_value() if cred.security_token else None
    host = urllib.parse.urlsplit(url).netloc
    try:
        if cred.provider == "aws":
            try:
                target = aws.resolve_target(host, service=options.service, region=options.region)
            except ValueError:
                target = aws.resolve_target(
                    host, service=options.service, region=options.region or cred.region
                )
            date = aws.date_stamp(now)
            key = _scoped_key(
                aws.derive_signing_key,
                secret,
                cred.access_key_id,
                date,
                target.region,
                target.service,
            )
            return aws.sign(
                method,
                url,
                headers,
                body or b"",
                access_key_id=cred.access_key_id,
                secret_access_key=secret,
                now=now,
                session_token=token,
                service=target.service,
                region=target.region,
                unsigned_payload=options.unsigned_payload,
                signing_key=key,
            )
        if cred.provider == "tencent":
            tc = tencent.resolve_target(
                host,
                headers,
                service=options.service,
                region=options.region,
                action=options.action,
                version=options.version,
            )
            if tc.service is None:
                raise ValueError(f"cannot tell the Tencent Cloud service from host {host}")
            date = tencent.credential_date(int(now))
            key = _scoped_key(
                tencent.derive_signing_key, secret, cred.access_key_id, date, tc.service
            )
            return tencent.sign(
                method,
                url,
                headers,
                body or b"",
                secret_id=cred.access_key_id,
                secret_key=secret,
                now=int(now),
                token=token,
                service=tc.service,
                region=tc.region or cred.region,
                action=tc.action,
                version=tc.version,
                signing_key=key,
            )
        return aliyun.sign(
            method,
            url,
            headers,
            body or b"",
            access_key_id=cred.access_key_id,
            access_key_secret=secret,
            now=now,
            security_token=token,
            action=options.action,
            version=options.version,
        )
    except ValueError as exc:
        raise InvalidCredentialError(
            f"signing ({cred.provider}): {exc}; pass service=/region=/action=/version= to "
            "store.http_auth(...)"
        ) from None


def _header(headers: Any, name: str) -> str | None:
    """A header of ``headers`` (pairs, or httpx/httpx2 ``Headers``), case-insensitively."""
    get = getattr(headers, "get", None)
    if get is not None:
        value: str | None = get(name)
        return value
    lname = name.lower()
    for k, v in headers:
        if k.lower() == lname:
            return str(v)
    return None


def apply_credential(
    cred: CredentialBase,
    method: str,
    url: str,
    headers: Any,
    body: bytes | None,
    *,
    now: float | None = None,
    signing: SigningOptions = SigningOptions(),
) -> AuthPlan:
    """The pure step: what ``cred`` adds to a request. No I/O, clock passed in.

    ``headers`` are the request's headers as pairs or an httpx/httpx2 ``Headers``. Kinds are
    told apart by exact type first (``isinstance`` through pydantic's ABC metaclass is
    measurably slower on this per-request path), subclasses by ``isinstance``.
    """
    plan = AuthPlan()
    if type(cred) is ModelServiceCredential or isinstance(cred, ModelServiceCredential):
        key = cred.api_key.get_secret_value()
        style = cred.api_style
        if style == "azure_openai":
            plan.headers["api-key"] = key
        elif style == "anthropic" and _header(headers, "x-api-key") is not None:
            plan.headers["x-api-key"] = key
        else:
            plan.headers["Authorization"] = f"Bearer {key}"
    elif isinstance(cred, ToolApiKeyCredential):
        key = cred.api_key.get_secret_value()
        if cred.location == "query":
            plan.query[cred.param] = key
            plan.redact_query = (cred.param,)
        else:
            plan.headers[cred.param] = f"{cred.prefix} {key}" if cred.prefix else key
    elif isinstance(cred, CustomHeadersCredential):
        plan.headers.update({k: v.get_secret_value() for k, v in cred.headers.items()})
    elif isinstance(cred, ApiKeyCredential):
        key = cred.api_key.get_secret_value()
        plan.headers[cred.header_name] = f"{cred.prefix} {key}" if cred.prefix else key
    elif isinstance(cred, BasicAuthCredential):
        token = base64.b64encode(
            f"{cred.username}:{cred.password.get_secret_value()}".encode()
        ).decode()
        plan.headers["Authorization"] = f"Basic {token}"
    elif isinstance(cred, CloudAccessKeyCredential):
        when = time.time() if now is None else now
        plan.headers.update(sign_cloud(cred, method, url, headers, body, when, signing))
    elif isinstance(cred, JwtCredential):
        raise _jwt_outbound()
    else:  # pragma: no cover - every kind is handled above
        raise InvalidCredentialError(f"kind: {type(cred).__name__} cannot be used outbound")
    return plan


def set_headers(
    headers: Any, values: dict[str, str], spellings: dict[str, str] | None = None
) -> None:
    """Set ``values`` on httpx/httpx2 ``Headers``, keeping the spelling a header already has.

    An SDK that built the request with a placeholder key (``authorization: Bearer ...``) then
    sends byte-for-byte what it sends without the plugin. A client's SDK spells its headers
    the same way on every request, so a caller may pass ``spellings`` to remember them.
    """
    for name, value in values.items():
        lowered = name.lower()
        spelled = spellings.get(lowered) if spellings is not None else None
        if spelled is None:
            wanted = lowered.encode()
            spelled = name
            for raw, _ in headers.raw:
                if raw.lower() == wanted:
                    spelled = raw.decode("latin-1")
                    break
            if spellings is not None:
                spellings[lowered] = spelled
        headers[spelled] = value


def _jwt_outbound() -> InvalidCredentialError:
    return InvalidCredentialError(
        "credential kind jwt verifies inbound tokens and cannot authenticate outbound "
        "requests; use a tool_api_key, custom_headers or api_key credential"
    )


def _set_query(url: str, params: dict[str, str]) -> str:
    parts = urllib.parse.urlsplit(url)
    pairs = [
        (k, v)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if k not in params
    ]
    pairs += list(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(pairs)))


def redact_url(url: str, params: tuple[str, ...]) -> str:
    """``url`` with the values of ``params`` replaced by ``[REDACTED]``."""
    if not params:
        return url
    parts = urllib.parse.urlsplit(url)
    pairs = [
        (k, REDACTED if k in params else v)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(pairs, safe="[]")))


class _QueryRedactor(logging.Filter):
    """Redacts registered query parameters in log lines of HTTP client libraries."""

    def __init__(self) -> None:
        super().__init__()
        self.params: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, param: str) -> None:
        if param not in self.params:
            self.params.add(param)
            names = "|".join(re.escape(urllib.parse.quote(p, safe="")) for p in self.params)
            self._pattern = re.compile(rf"([?&](?:{names})=)[^&\s\"'#]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is not None:
            message = record.getMessage()
            redacted = self._pattern.sub(rf"\g<1>{REDACTED}", message)
            if redacted != message:
                record.msg, record.args = redacted, ()
        return True


_REDACTOR = _QueryRedactor()
_REDACTED_LOGGERS = ("httpx", "httpx2", "urllib3.connectionpool", "requests")


def _register_query_param(param: str) -> None:
    _REDACTOR.add(param)
    for name in _REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)


class CredentialAuth:
    """Resolve-per-request auth. Build it with ``store.http_auth(name)``."""

    requires_response_body = False

    def __init__(
        self,
        store: CredentialStore,
        name: str,
        *,
        resource: str | None = None,
        signing: SigningOptions | None = None,
    ) -> None:
        info = store.get(name)
        if info.kind == "jwt":
            raise _jwt_outbound()
        self._store = store
        self.name = name
        self.resource = resource
        self.signing = signing or SigningOptions()
        self.requires_request_body = (
            info.kind == "cloud_ak_sk" and not self.signing.unsigned_payload
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    # -- resolution (I/O) ------------------------------------------------------------------
    def _name(self) -> str:
        return selected_name(self.name)

    def _resolve(self) -> CredentialBase:
        return self._store.resolve(self._name(), resource=self.resource)

    async def _aresolve(self) -> CredentialBase:
        return await self._store.aresolve(self._name(), resource=self.resource)

    # -- httpx / httpx2 --------------------------------------------------------------------
    def _plan_for(self, cred: CredentialBase, request: Any) -> AuthPlan:
        body: bytes | None
        try:
            body = request.content
        except Exception:  # httpx.RequestNotRead: a stream that was not read
            body = None
        headers = [(k, v) for k, v in request.headers.multi_items()]
        plan = apply_credential(
            cred, request.method, str(request.url), headers, body, signing=self.signing
        )
        if plan.query:
            for param in plan.redact_query:
                _register_query_param(param)
        return plan

    @staticmethod
    def _apply_httpx(request: Any, plan: AuthPlan) -> str | None:
        original = None
        if plan.query:
            original = str(request.url)
            request.url = request.url.copy_merge_params(plan.query)
        set_headers(request.headers, plan.headers)
        return original

    @staticmethod
    def _restore(request: Any, original: str | None, plan: AuthPlan) -> None:
        if original is not None:
            request.url = type(request.url)(redact_url(str(request.url), plan.redact_query))

    def sync_auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        if self.requires_request_body:
            request.read()
        cred = self._resolve()
        plan = self._plan_for(cred, request)
        original = self._apply_httpx(request, plan)
        try:
            yield request
        finally:
            self._restore(request, original, plan)

    async def async_auth_flow(self, request: Any) -> AsyncGenerator[Any, Any]:
        if self.requires_request_body:
            await request.aread()
        cred = await self._aresolve()
        plan = self._plan_for(cred, request)
        original = self._apply_httpx(request, plan)
        try:
            yield request
        finally:
            self._restore(request, original, plan)

    def auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        """httpx's generic entry point (used by custom transports): same as the sync flow."""
        yield from self.sync_auth_flow(request)

    # -- requests ----------------------------------------------------------------------------
    def __call__(self, request: Any) -> Any:
        """``requests`` calls the auth with the prepared request before each send."""
        cred = self._resolve()
        body = request.body
        if isinstance(body, str):
            body = body.encode()
        elif body is not None and not isinstance(body, bytes):
            body = None  # a file or generator: only a signer needs it, and refuses clearly
        elif body is None:
            body = b""
        headers = list(request.headers.items())
        plan = apply_credential(
            cred, request.method, request.url, headers, body, signing=self.signing
        )
        if plan.query:
            for param in plan.redact_query:
                _register_query_param(param)
            request.url = _set_query(request.url, plan.query)
            request.register_hook("response", _requests_redactor(plan.redact_query))
        for k, v in plan.headers.items():
            request.headers[k] = v
        return request


def _requests_redactor(params: tuple[str, ...]) -> Callable[..., Any]:
    """A ``requests`` response hook: the key leaves the URLs the caller can see."""

    def hook(response: Any, *args: Any, **kwargs: Any) -> Any:
        response.url = redact_url(response.url, params)
        response.request.url = redact_url(response.request.url, params)
        return response

    return hook


_AUTH_CLASS: type[CredentialAuth] | None = None


def _auth_class() -> type[CredentialAuth]:
    """CredentialAuth made an instance of every installed ``httpx*.Auth`` base."""
    global _AUTH_CLASS
    if _AUTH_CLASS is None:
        bases: list[type] = [CredentialAuth]
        for module in ("httpx2", "httpx"):
            try:
                bases.append(__import__(module).Auth)
            except ImportError:
                continue
        _AUTH_CLASS = type("CredentialAuth", tuple(bases), {"__module__": __name__})
    return _AUTH_CLASS


def make_auth(
    store: CredentialStore,
    name: str,
    *,
    resource: str | None = None,
    signing: SigningOptions | None = None,
) -> CredentialAuth:
    """Build the auth object (what ``store.http_auth`` returns)."""
    return _auth_class()(store, name, resource=resource, signing=signing)
