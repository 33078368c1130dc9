"""Shared plumbing of the model-client integrations (openai, anthropic, LangChain).

Every client the integrations build holds a :class:`KeyBinding`: the store, the credential
*name*, the audit resource and the endpoint the client was built for. The binding resolves
the credential on every HTTP attempt (the SDKs' retries included), turns it into the
provider's header (the rule of :func:`agentrun_creds_plugin.outbound.plan.apply_credential`)
and sets it on the outgoing ``httpx2`` request only. No plaintext is kept on any long-lived
object: the SDK clients carry :data:`PLACEHOLDER_KEY`.

Why not ``store.http_auth(name)`` itself: model clients need an endpoint check that a generic
auth cannot do (below). The header rule and the spelling-preserving setter are ``outbound.plan``'s.

Decisions where the design is silent:

- **The endpoint is fixed when the client is built; keys are not.** Building a client resolves
  the credential once to read its non-secret fields (provider, base URL, API version) and
  discards the key; this is audited as a use by the client's resource. A credential that is
  disabled, expired or missing therefore fails at build time too.
- **A key is only ever sent to the endpoint it belongs to.** On every request the resolved
  credential (after a per-run selection, see :mod:`agentrun_creds_plugin.selection`) must be a
  ``model_service`` credential with the same wire protocol and the same base URL as the one
  the client was built for. Otherwise the request is refused before anything is sent with
  :class:`~agentrun_creds_plugin.errors.InvalidCredentialError` (422): a selection swaps keys,
  not endpoints, so a tenant's DeepSeek key can never go to api.openai.com, and a credential
  whose ``base_url`` was edited asks for the client to be rebuilt instead of leaking the new
  key to the old host.
- **Header names keep the SDK's spelling.** When the SDK already set the header (with its
  placeholder key), the value is replaced under the name the SDK used, so the server sees
  byte-for-byte the headers a plain ``openai.OpenAI(api_key=...)`` or
  ``anthropic.Anthropic(api_key=...)`` sends.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx2

from ..codec import credential_from_plaintext
from ..errors import InvalidCredentialError
from ..grace import GRACE_SEPARATOR
from ..kinds import CredentialBase, ModelServiceCredential
from ..outbound.plan import model_auth_header, model_key_header, set_headers
from ..outbound.redirects import mark_sent
from ..selection import selected_name

if TYPE_CHECKING:
    from ..backends.base import Record
    from ..resolver import CredentialResolver

__all__ = [
    "PLACEHOLDER_KEY",
    "KeyBinding",
    "ModelEndpoint",
    "ModelKeyAuth",
    "attach_resource",
    "bind_model_credential",
    "refuse_key_arguments",
    "with_auth",
]

#: What the SDK clients are built with instead of a key. Never valid anywhere: if a request
#: ever went out without the plugin's header, the provider would answer 401.
PLACEHOLDER_KEY = "agentrun-creds-placeholder"


@dataclass(frozen=True)
class ModelEndpoint:
    """The non-secret facts of a model credential a client is built for."""

    credential: str
    provider: str
    api_style: str  # "openai" | "anthropic" | "azure_openai"
    base_url: str
    api_version: str | None


def _norm_url(url: str) -> str:
    return url.rstrip("/")


def _model_credential(cred: CredentialBase, name: str) -> ModelServiceCredential:
    # exact type first: isinstance through pydantic's metaclass is slower, and this runs per request
    if type(cred) is not ModelServiceCredential and not isinstance(cred, ModelServiceCredential):
        kind = type(cred).model_fields["kind"].default
        raise InvalidCredentialError(
            f"credential {name!r} is a {kind} credential; model clients need a model_service "
            "credential (acp.ModelServiceCredential(provider=..., api_key=...))",
            name=name,
        )
    return cred


#: The header-name tuples the redirect guard records, built once (the rule has three names).
_NAMES = {name: (name,) for name in ("Authorization", "api-key", "x-api-key")}
_AUTHORIZATION = _NAMES["Authorization"]


class KeyBinding:
    """Resolves the model key per request and says which header carries it.

    Holds names only. ``resource`` is what audit events record as the user of the key.

    The per-request path (:meth:`authorize`) uses the store's ``_use_plaintext`` when it has
    one (``CredentialStore`` does): the record is read and decrypted on every request, as by
    ``resolve``, but the kind object is not rebuilt. What is learnt once per record (the
    endpoint check passed, where the key lies in the plaintext) is kept with the record it was
    learnt from, so an update, a rotation or a re-encryption (a new record) is checked again
    before its key is sent. Other resolvers go through ``resolve``.
    """

    __slots__ = (
        "_accepted",
        "_aopen",
        "_bearer",
        "_memo",
        "_open",
        "_store",
        "endpoint",
        "name",
        "resource",
    )

    def __init__(
        self, store: CredentialResolver, endpoint: ModelEndpoint, *, resource: str | None
    ) -> None:
        self._store = store
        self.endpoint = endpoint
        self.name = endpoint.credential
        self.resource = resource
        # (provider, base_url) pairs already checked against the endpoint: non-secret
        self._accepted: set[tuple[str, str | None]] = set()
        self._open: Any = getattr(store, "_use_plaintext", None)
        self._aopen: Any = getattr(store, "_ause_plaintext", None)
        # credential name -> (record, key start, key end) in its plaintext: offsets, no secret
        self._memo: dict[str, tuple[Record, int, int]] = {}
        self._bearer = endpoint.api_style == "openai"  # "Authorization: Bearer <key>"

    def __repr__(self) -> str:
        return f"KeyBinding(name={self.name!r}, resource={self.resource!r})"

    @property
    def store(self) -> CredentialResolver:
        return self._store

    def _check(self, cred: CredentialBase, used: str) -> ModelServiceCredential:
        model = cred if type(cred) is ModelServiceCredential else _model_credential(cred, used)
        seen = (model.provider, model.base_url)
        if seen in self._accepted:
            return model
        ep = self.endpoint
        if model.api_style != ep.api_style or _norm_url(model.effective_base_url) != ep.base_url:
            what = "was changed to" if used == ep.credential else "is for"
            raise InvalidCredentialError(
                f"credential {used!r} {what} provider {model.provider} at "
                f"{model.effective_base_url}, but this client was built for {ep.provider} at "
                f"{ep.base_url} (from credential {ep.credential!r}); a key is only sent to "
                f"its own endpoint: build a new client from {used!r}",
                name=used,
            )
        self._accepted.add(seen)
        return model

    def resolve(self) -> ModelServiceCredential:
        """The credential to use for this request (selection applied), checked."""
        used = selected_name(self.name)
        return self._check(self._store.resolve(used, resource=self.resource), used)

    async def aresolve(self) -> ModelServiceCredential:
        used = selected_name(self.name)
        return self._check(await self._store.aresolve(used, resource=self.resource), used)

    def authorize(self, request: httpx2.Request, spellings: dict[str, str] | None = None) -> None:
        """Resolve the key for this request (selection applied, checked) and set its header."""
        used = selected_name(self.name)
        if self._open is None:
            self.apply(self.resolve(), request, spellings)
            return
        rec, plaintext = self._open(used, self.resource)
        self._put(used, rec, plaintext, request, spellings)

    async def aauthorize(
        self, request: httpx2.Request, spellings: dict[str, str] | None = None
    ) -> None:
        """Async twin of :meth:`authorize` (the key is read in the request's own task)."""
        used = selected_name(self.name)
        if self._aopen is None:
            self.apply(await self.aresolve(), request, spellings)
            return
        rec, plaintext = await self._aopen(used, self.resource)
        self._put(used, rec, plaintext, request, spellings)

    def _put(
        self,
        used: str,
        rec: Record,
        plaintext: bytes,
        request: httpx2.Request,
        spellings: dict[str, str] | None,
    ) -> None:
        memo = self._memo.get(used)
        if memo is None or memo[0] is not rec:
            if memo is not None and memo[0] == rec:  # the same row, read again
                memo = self._memo[used] = (rec, memo[1], memo[2])
            else:
                memo = self._learn(used, rec, plaintext)
        if memo[1] < 0:  # a layout the offsets cannot describe: decode the record in full
            cred = credential_from_plaintext(rec.kind, plaintext.partition(GRACE_SEPARATOR)[0])
            key = self._check(cred, used).api_key.get_secret_value()
        else:
            key = plaintext[memo[1] : memo[2]].decode()
        style = self.endpoint.api_style
        if self._bearer and spellings:  # one header, spelling known
            spelled = spellings.get("Authorization")
            if spelled is not None:
                request.headers[spelled] = "Bearer " + key
                mark_sent(request, _AUTHORIZATION)
                return
        name, value = model_key_header(style, key, request.headers)
        _set_key_header(request, name, value, spellings)

    def _learn(self, used: str, rec: Record, plaintext: bytes) -> tuple[Record, int, int]:
        """Check a record not seen before against the endpoint; learn where its key lies."""
        cred = credential_from_plaintext(rec.kind, plaintext.partition(GRACE_SEPARATOR)[0])
        key = self._check(cred, used).api_key.get_secret_value().encode()
        start = plaintext.find(b"\x00") + 1
        end = start + len(key)
        tail = plaintext[end : end + 1]
        if start == 0 or plaintext[start:end] != key or tail not in (b"", GRACE_SEPARATOR):
            start = end = -1
        if len(self._memo) >= 1024:
            self._memo.clear()
        memo = self._memo[used] = (rec, start, end)
        return memo

    @staticmethod
    def apply(
        cred: ModelServiceCredential,
        request: httpx2.Request,
        spellings: dict[str, str] | None = None,
    ) -> None:
        """Set the provider's auth header on ``request``, under the SDK's own spelling
        (the rule of :func:`agentrun_creds_plugin.outbound.plan.apply_credential`).

        ``spellings`` (the rule's header name -> the SDK's spelling of it) lets a client that
        sends many requests learn its SDK's spelling once.
        """
        name, value = model_auth_header(cred, request.headers)
        _set_key_header(request, name, value, spellings)


def _set_key_header(
    request: httpx2.Request, name: str, value: str, spellings: dict[str, str] | None
) -> None:
    """Set the key's header under the SDK's spelling, and record its name for the redirect
    guard. This runs on every model request, with the CPU caches cold after the SDK's own
    work, so it does only what it must: one header set."""
    headers = request.headers
    spelled = spellings.get(name) if spellings is not None else None
    if spelled is None:
        learnt: dict[str, str] = {}
        set_headers(headers, {name: value}, learnt)
        if spellings is not None:
            spellings[name] = learnt[name.lower()]
    else:
        headers[spelled] = value
    mark_sent(request, _NAMES.get(name) or (name,))  # dropped on a cross-origin redirect


class ModelKeyAuth(httpx2.Auth):
    """An ``httpx2`` auth that puts the store's current model key on every request.

    Used on the SDK's own ``http_client``: the SDK builds the request with its placeholder
    key, then this flow resolves the credential and replaces the header, on every send (so on
    every SDK retry). An error (disabled, expired, not found, wrong endpoint) is raised before
    the request is yielded, so nothing reaches the network.
    """

    requires_request_body = False
    requires_response_body = False

    def __init__(self, binding: KeyBinding) -> None:
        self.binding = binding
        self._spellings: dict[str, str] = {}  # the SDK's spelling of each header, learnt once

    def __repr__(self) -> str:
        return f"ModelKeyAuth(name={self.binding.name!r})"

    def sync_auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, Any, None]:
        self.binding.authorize(request, self._spellings)
        yield request

    async def async_auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, Any]:
        await self.binding.aauthorize(request, self._spellings)
        yield request

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, Any, None]:
        yield from self.sync_auth_flow(request)


def bind_model_credential(
    store: CredentialResolver, name: str, *, resource: str | None
) -> KeyBinding:
    """Resolve ``name`` once to learn its endpoint (the key is discarded) and bind to it."""
    cred = _model_credential(store.resolve(name, resource=resource), name)
    endpoint = ModelEndpoint(
        credential=name,
        provider=cred.provider,
        api_style=cred.api_style,
        base_url=_norm_url(cred.effective_base_url),
        api_version=cred.api_version,
    )
    return KeyBinding(store, endpoint, resource=resource)


def attach_resource(
    store: CredentialResolver, name: str, resource_type: str, resource: str
) -> None:
    """Record the client as an attachment of ``name`` (idempotent).

    Most builds attach a resource that is attached already (a model rebuilt per run or per
    tenant): a read tells, and then the write transaction, which cost more than the rest of a
    model build (tens of µs), is skipped. ``attach`` is ``INSERT OR IGNORE``, so the outcome is
    the same.
    """
    attached = getattr(store, "attachments", None)
    if attached is not None and (resource_type, resource) in attached(name):
        return
    store.attach(name, resource_type, resource)


def with_auth(client: Any, auth: httpx2.Auth, *, kind: str) -> Any:
    """Put ``auth`` on a caller-supplied ``httpx2`` client, refusing anything else.

    ``kind`` is the expected class (``"sync"`` or ``"async"``) for the error message.
    """
    expected = httpx2.Client if kind == "sync" else httpx2.AsyncClient
    if not isinstance(client, expected):
        raise TypeError(
            f"http_client: expected an httpx2.{expected.__name__} (e.g. "
            f"openai.Default{'Async' if kind == 'async' else ''}HttpxClient()), got "
            f"{type(client).__name__}"
        )
    if client.auth is not None:
        raise ValueError(
            "http_client: it already has an auth; the plugin sets the client's auth to put "
            "the store's key on each request, so pass a client without one"
        )
    client.auth = auth
    return client


def refuse_key_arguments(kwargs: dict[str, Any], refused: tuple[str, ...]) -> None:
    """Refuse (TypeError) a key argument in ``kwargs``; drop the ``None`` ones.

    The key comes from the store on every request, so a key passed to a builder would be
    either ignored or, worse, sent instead of the store's current one.
    """
    for arg in refused:
        if kwargs.get(arg) is not None:
            raise TypeError(
                f"{arg}: the key comes from the credential store on every request; do not pass "
                "one (update the credential with store.update instead)"
            )
        kwargs.pop(arg, None)
