"""openai clients whose key is read from the store on every request.

::

    from agentrun_creds_plugin.integrations.openai import openai_client

    client = openai_client(store, "my-llm-key")          # a real openai.OpenAI
    client.chat.completions.create(model="gpt-4o-mini", messages=[...])
    store.update("my-llm-key", acp.ModelServiceCredential(provider="openai", api_key="sk-new"))
    client.chat.completions.create(...)                  # already sends sk-new

How: the SDK gets a placeholder ``api_key`` and an ``http_client``
(``openai.DefaultHttpxClient`` / ``DefaultAsyncHttpxClient``, so the SDK's default timeouts,
limits and redirect handling stay, on a connection pool shared by every client of the same
configuration, see :mod:`._pool`) whose ``httpx2`` auth resolves the credential on every send,
which openai 3.x does once per attempt, retries included. The auth replaces the header the SDK
built from the placeholder, so the server sees exactly the headers of a plain
``openai.OpenAI(api_key=key)``: ``Authorization: Bearer <key>`` (``api-key: <key>`` for Azure).
openai's own ``api_key=<callable>`` hook was not used because it stores the last key on
``client.api_key``; with this route no plaintext stays on the client after a call.

Errors: a disabled, expired or missing credential raises the store's own error
(:class:`~agentrun_creds_plugin.errors.CredentialDisabledError`, status 401, ...) from the
call, before anything is sent and without retries: openai 3.x only wraps (and retries)
``httpx2`` transport errors, and lets every other exception raised inside ``send`` through.

Decisions where the design is silent:

- ``name`` is a credential name (a ``model_service`` credential). The provider decides the
  class: ``azure_openai`` gives an :class:`openai.AzureOpenAI` (a subclass of
  ``openai.OpenAI``) on the credential's endpoint and ``api_version``; every other
  OpenAI-compatible provider gives an ``openai.OpenAI`` on the credential's base URL. An
  ``anthropic`` credential is refused (use :mod:`.anthropic`).
- ``base_url`` (or ``azure_endpoint``) in ``kwargs`` overrides the credential's URL, e.g. for
  a proxy: the key is then sent there. ``api_key`` and the other SDK credential arguments are
  refused: the key comes from the store.
- A caller-supplied ``http_client`` must be an ``httpx2`` client without an auth; the plugin
  sets its ``auth``.
- The client is attached to the credential as ``("client", client_name)``; ``client_name``
  defaults to ``"openai:<credential name>"`` (the same for the sync and the async client), and
  audit events of its requests name the resource ``client:<client_name>``.
- The client's endpoint is fixed at build time; see :mod:`._common` for the per-request check
  that a (selected or edited) credential still belongs to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import openai

from ..errors import InvalidCredentialError
from ..outbound.redirects import guard_client
from ._common import (
    PLACEHOLDER_KEY,
    KeyBinding,
    ModelKeyAuth,
    attach_resource,
    bind_model_credential,
    refuse_key_arguments,
    with_auth,
)
from ._pool import pooled_client

if TYPE_CHECKING:
    from ..resolver import CredentialResolver

__all__ = ["async_openai_client", "openai_client"]

_REFUSED = (
    "api_key",
    "azure_ad_token",
    "azure_ad_token_provider",
    "admin_api_key",
    "workload_identity",
)


def _binding(
    store: CredentialResolver, name: str, client_name: str | None
) -> tuple[KeyBinding, str]:
    client_name = client_name or f"openai:{name}"
    binding = bind_model_credential(store, name, resource=f"client:{client_name}")
    if binding.endpoint.api_style == "anthropic":
        raise InvalidCredentialError(
            f"credential {name!r} is an anthropic credential; build an Anthropic client with "
            "agentrun_creds_plugin.integrations.anthropic.anthropic_client",
            name=name,
        )
    return binding, client_name


def _client_kwargs(binding: KeyBinding, kwargs: dict[str, Any]) -> dict[str, Any]:
    ep = binding.endpoint
    if ep.api_style == "azure_openai":
        if "base_url" not in kwargs:
            kwargs.setdefault("azure_endpoint", ep.base_url)
        kwargs.setdefault("api_version", ep.api_version)
    else:
        kwargs.setdefault("base_url", ep.base_url)
    kwargs["api_key"] = PLACEHOLDER_KEY
    return kwargs


def _build(
    store: CredentialResolver,
    name: str,
    client_name: str | None,
    kwargs: dict[str, Any],
    *,
    sync: bool,
) -> Any:
    """One builder for the four clients (sync/async, OpenAI/Azure): only the classes differ."""
    refuse_key_arguments(kwargs, _REFUSED)
    binding, client_name = _binding(store, name, client_name)
    auth = ModelKeyAuth(binding)
    http_client = kwargs.pop("http_client", None)
    if http_client is None:
        http_client = pooled_client("openai", asynchronous=not sync, auth=auth)
    else:
        with_auth(http_client, auth, kind="sync" if sync else "async")
    params = _client_kwargs(binding, kwargs)
    if binding.endpoint.api_style == "azure_openai":
        cls: Any = openai.AzureOpenAI if sync else openai.AsyncAzureOpenAI
    else:
        cls = openai.OpenAI if sync else openai.AsyncOpenAI
    client = cls(http_client=guard_client(http_client), **params)
    attach_resource(store, name, "client", client_name)
    return client


def openai_client(
    store: CredentialResolver,
    name: str,
    *,
    client_name: str | None = None,
    **kwargs: Any,
) -> openai.OpenAI:
    """A real ``openai.OpenAI`` (``AzureOpenAI`` for Azure) keyed by credential ``name``.

    The key is resolved on every request and retry, after any per-run selection
    (:func:`agentrun_creds_plugin.use_credentials`); ``kwargs`` go to the SDK constructor.
    """
    client: openai.OpenAI = _build(store, name, client_name, kwargs, sync=True)
    return client


def async_openai_client(
    store: CredentialResolver,
    name: str,
    *,
    client_name: str | None = None,
    **kwargs: Any,
) -> openai.AsyncOpenAI:
    """A real ``openai.AsyncOpenAI`` (``AsyncAzureOpenAI`` for Azure); see :func:`openai_client`.

    The key is resolved in the request's own task, so context variables (per-run
    selections) of concurrent calls never mix.
    """
    client: openai.AsyncOpenAI = _build(store, name, client_name, kwargs, sync=False)
    return client
