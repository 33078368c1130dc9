"""anthropic clients whose key is read from the store on every request.

::

    from agentrun_creds_plugin.integrations.anthropic import anthropic_client

    client = anthropic_client(store, "claude-key")       # a real anthropic.Anthropic
    client.messages.create(model="claude-haiku-4-5", max_tokens=256, messages=[...])

How, and why this route: anthropic 2.x takes only a string ``api_key``, and of its hooks

- ``credentials=`` (an access-token provider) adds ``anthropic-beta: oauth-2025-04-20`` to
  every request and bypasses the http client's auth, so the server would not see what a plain
  ``anthropic.Anthropic(api_key=key)`` sends;
- an ``httpx2`` auth on the http client runs inside ``send``, and anthropic 2.x wraps *every*
  exception raised there into ``APIConnectionError`` and retries it (with back-off), so a
  disabled credential would surface late, retried, and not as ``CredentialDisabledError``;
- ``middleware=`` would put the key into the request options, which anthropic's DEBUG log
  prints as they are.

So the clients are thin subclasses (:class:`CredentialAnthropic`,
:class:`AsyncCredentialAnthropic`; ``isinstance(c, anthropic.Anthropic)`` holds) that use the
SDK's ``_prepare_request`` hook: it runs on every attempt (retries included) after the request
is built and logged, and outside the ``send`` that wraps errors. It resolves the credential and
replaces the value of the ``Authorization`` header that the SDK built from the placeholder key,
keeping the SDK's spelling, so the headers reaching the server are exactly those of a plain
client: ``Authorization: Bearer <key>``, ``anthropic-version``, and no beta header. A disabled
credential raises :class:`~agentrun_creds_plugin.errors.CredentialDisabledError` (401) from the
call, with no request sent and no retry (the SDK retries only its own connection and status
errors).

Decisions where the design is silent:

- ``name`` is a ``model_service`` credential with ``provider="anthropic"``; its ``base_url``
  (default ``https://api.anthropic.com``) is the client's. ``base_url`` in ``kwargs``
  overrides it; ``api_key``, ``auth_token``, ``credentials``, ``config`` and ``profile`` are
  refused (the key comes from the store, and an explicit placeholder keeps the SDK from
  picking up ``ANTHROPIC_API_KEY`` or a profile).
- ``copy()`` / ``with_options()`` / ``with_middleware()`` keep the binding.
- Attachment ``("client", client_name)``, default ``"anthropic:<credential name>"``; audit
  resource ``client:<client_name>``.
"""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Any

import anthropic
import httpx2

from ..errors import InvalidCredentialError
from ..outbound.redirects import guard_client
from ._common import (
    PLACEHOLDER_KEY,
    KeyBinding,
    attach_resource,
    bind_model_credential,
    refuse_key_arguments,
)
from ._compat import AsyncPrepareRequestHook, PrepareRequestHook, sdk_version
from ._pool import pooled_client

if TYPE_CHECKING:
    from typing import Self

    from ..resolver import CredentialResolver

__all__ = [
    "AsyncCredentialAnthropic",
    "CredentialAnthropic",
    "anthropic_client",
    "async_anthropic_client",
]

_REFUSED = ("api_key", "auth_token", "credentials", "config", "profile")


def _unbound() -> RuntimeError:
    return RuntimeError(
        "this client has no credential binding; build it with anthropic_client(store, name)"
    )


class CredentialAnthropic(PrepareRequestHook, anthropic.Anthropic):
    """``anthropic.Anthropic`` that puts the store's current key on every request."""

    _agentrun_binding: KeyBinding | None = None

    @property
    def user_agent(self) -> str:
        # The SDK derives it from the class name; keep what a plain client sends.
        return f"Anthropic/Python {sdk_version(self)}"

    def _agentrun_on_request(self, request: httpx2.Request) -> None:
        binding = self._agentrun_binding
        if binding is None:
            raise _unbound()
        binding.authorize(request)

    def copy(self, *args: Any, **kwargs: Any) -> Self:
        client = super().copy(*args, **kwargs)
        client._agentrun_binding = self._agentrun_binding
        return client

    with_options = copy


class AsyncCredentialAnthropic(AsyncPrepareRequestHook, anthropic.AsyncAnthropic):
    """``anthropic.AsyncAnthropic`` that puts the store's current key on every request."""

    _agentrun_binding: KeyBinding | None = None

    @property
    def user_agent(self) -> str:
        # The SDK derives it from the class name; keep what a plain client sends.
        return f"AsyncAnthropic/Python {sdk_version(self)}"

    async def _agentrun_on_request(self, request: httpx2.Request) -> None:
        binding = self._agentrun_binding
        if binding is None:
            raise _unbound()
        await binding.aauthorize(request)

    def copy(self, *args: Any, **kwargs: Any) -> Self:
        client = super().copy(*args, **kwargs)
        client._agentrun_binding = self._agentrun_binding
        return client

    with_options = copy


def bind_anthropic(store: CredentialResolver, name: str, *, resource: str) -> KeyBinding:
    """Bind to an anthropic credential (refusing other providers)."""
    binding = bind_model_credential(store, name, resource=resource)
    if binding.endpoint.api_style != "anthropic":
        raise InvalidCredentialError(
            f"credential {name!r} is a {binding.endpoint.provider} credential; anthropic clients "
            "need provider='anthropic' (use integrations.openai for OpenAI-compatible providers)",
            name=name,
        )
    return binding


def _build(
    cls: type[CredentialAnthropic] | type[AsyncCredentialAnthropic],
    binding: KeyBinding,
    kwargs: dict[str, Any],
) -> Any:
    """A client of ``cls`` on the binding's endpoint with a placeholder key."""
    kwargs.setdefault("base_url", binding.endpoint.base_url)
    if kwargs.get("http_client") is None:
        kwargs["http_client"] = pooled_client(
            "anthropic", asynchronous=cls is AsyncCredentialAnthropic
        )
    client = cls(api_key=PLACEHOLDER_KEY, **kwargs)
    client._agentrun_binding = binding
    guard_client(client._client)  # a key never follows a redirect to another origin
    return client


def make_sync_client(binding: KeyBinding, **kwargs: Any) -> CredentialAnthropic:
    """Build the sync client for a binding (also used by the LangChain integration)."""
    return typing.cast("CredentialAnthropic", _build(CredentialAnthropic, binding, kwargs))


def make_async_client(binding: KeyBinding, **kwargs: Any) -> AsyncCredentialAnthropic:
    """Build the async client for a binding (also used by the LangChain integration)."""
    return typing.cast(
        "AsyncCredentialAnthropic", _build(AsyncCredentialAnthropic, binding, kwargs)
    )


def _client_binding(
    store: CredentialResolver, name: str, client_name: str | None, kwargs: dict[str, Any]
) -> tuple[KeyBinding, str]:
    """What both builders do before building: refuse keys, bind, name the client."""
    refuse_key_arguments(kwargs, _REFUSED)
    client_name = client_name or f"anthropic:{name}"
    return bind_anthropic(store, name, resource=f"client:{client_name}"), client_name


def anthropic_client(
    store: CredentialResolver,
    name: str,
    *,
    client_name: str | None = None,
    **kwargs: Any,
) -> anthropic.Anthropic:
    """A real ``anthropic.Anthropic`` keyed by credential ``name``, resolved per request.

    ``kwargs`` go to the SDK constructor (``timeout``, ``max_retries``, ``http_client``...).
    """
    binding, client_name = _client_binding(store, name, client_name, kwargs)
    client = make_sync_client(binding, **kwargs)
    attach_resource(store, name, "client", client_name)
    return client


def async_anthropic_client(
    store: CredentialResolver,
    name: str,
    *,
    client_name: str | None = None,
    **kwargs: Any,
) -> anthropic.AsyncAnthropic:
    """A real ``anthropic.AsyncAnthropic``; see :func:`anthropic_client`.

    The key is resolved in the request's own task, so per-run selections of concurrent calls
    never mix.
    """
    binding, client_name = _client_binding(store, name, client_name, kwargs)
    client = make_async_client(binding, **kwargs)
    attach_resource(store, name, "client", client_name)
    return client
