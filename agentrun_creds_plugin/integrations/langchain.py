"""LangChain chat models and embeddings whose key is read from the store on every request.

::

    from agentrun_creds_plugin.integrations.langchain import chat_model, embeddings

    store.create_model("gpt", credential="my-llm-key", model="gpt-4o-mini", temperature=0)
    llm = chat_model(store, "gpt")                          # a real ChatOpenAI
    llm = chat_model(store, "claude-key", model="claude-haiku-4-5", max_tokens=512)
    llm.invoke("hi"); await llm.ainvoke("hi"); llm.stream("hi"); llm.batch([...])
    llm.bind_tools([...]).invoke(...)

    # one run of a shared agent uses another tenant's credential (names only, no secret):
    llm.invoke("hi", config={"configurable": {"agentrun_credentials": {"my-llm-key": "tenant-a"}}})
    with acp.use_credentials({"my-llm-key": "tenant-a"}):
        agent.invoke(...)

What is built:

- OpenAI-compatible providers (openai, dashscope, deepseek, moonshot, openrouter,
  openai_compatible): :class:`CredentialChatOpenAI`, a ``ChatOpenAI``. Azure OpenAI:
  :class:`CredentialAzureChatOpenAI`, an ``AzureChatOpenAI`` (``model`` is the deployment).
  Both get a placeholder ``api_key`` plus ``http_client`` and ``http_async_client``
  (``openai.DefaultHttpxClient`` / ``DefaultAsyncHttpxClient``) whose ``httpx2`` auth resolves
  the credential on every request (see :mod:`.openai` for why this route).
- Anthropic: :class:`CredentialChatAnthropic`, a ``ChatAnthropic`` whose ``_client`` /
  ``_async_client`` are the plugin's anthropic clients (``ChatAnthropic`` has no http-client
  field; see :mod:`.anthropic` for the per-request hook). It keeps LangChain's shared default
  ``httpx2`` clients (and ``anthropic_proxy``).
- :func:`embeddings`: an ``OpenAIEmbeddings`` (``AzureOpenAIEmbeddings`` for Azure) built the
  same way as the OpenAI chat model.

Per-run selection. A config passed straight to ``model.invoke(x, config=...)`` never reaches
an SDK hook (LangChain drops ``configurable`` before calling the model), so the chat-model
classes override ``invoke``, ``ainvoke``, ``stream`` and ``astream`` to run the call inside
``use_credentials(selection_from_config(config))``. ``batch`` / ``abatch``, ``bind_tools``,
``with_structured_output``, ``with_config`` and chains all reach those methods with the
merged config. For the two streaming methods, the selection is set and reset around each
step of the underlying generator, never across a ``yield``, so it cannot leak into the
consumer's context or be reset from another context (async generators may be finalised
elsewhere). A selection made with ``use_credentials`` around the call follows the call
through asyncio tasks and LangChain's thread pools (``ContextThreadPoolExecutor`` and
``run_in_executor`` copy the context); on async paths the key is resolved in the request's own
task by an async auth, never in a bare executor.

Decisions where the design is silent:

- ``model_or_credential`` is looked up as a model configuration first (its model, optional
  ``base_url`` and ``params`` are used; ``kwargs`` override them), then as a credential name,
  which then needs ``model=``.
- Attachments: from a model configuration ``("model", <configuration name>)`` (the one
  ``create_model`` made); from a credential name ``("model", "<provider>:<model>")`` (no
  clash: configuration names cannot contain ``:``). Audit events of the requests name the
  resource ``model:<that name>``.
- ``api_key`` (and for Azure ``azure_ad_token`` / ``azure_ad_token_provider``) is refused: the
  key comes from the store. Caller-supplied ``http_client`` / ``http_async_client`` must be
  ``httpx2`` clients without an auth; the plugin sets it.
- Serialisation (``dumpd`` / ``dumps``): the classes keep LangChain's secret handling (the
  placeholder ``api_key`` is written as a secret reference, never a value) and declare their
  own namespace ``agentrun_creds_plugin.integrations.langchain``; the store and the credential
  binding are private attributes and are not serialised. A loaded object has no binding, so it
  cannot call a provider until rebuilt with :func:`chat_model`.
- ``stream_events(version="v3")`` (beta) bypasses the four entry points: there, use
  ``use_credentials`` rather than the config entry.
- Embeddings of providers other than ``openai``/``azure_openai`` default to
  ``check_embedding_ctx_length=False`` (OpenAI-compatible providers take text, not tiktoken
  token ids, and tiktoken would fetch its tables from the internet).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AbstractContextManager
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import anthropic
import openai
from langchain_anthropic import ChatAnthropic
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.runnables import RunnableConfig
from langchain_openai import AzureChatOpenAI, AzureOpenAIEmbeddings, ChatOpenAI, OpenAIEmbeddings
from langchain_openai.chat_models.base import BaseChatOpenAI
from pydantic import PrivateAttr, SecretStr

from ..errors import InvalidCredentialError
from ..outbound.redirects import guard_client
from ..selection import selection_from_config, use_credentials
from ._common import (
    PLACEHOLDER_KEY,
    KeyBinding,
    ModelKeyAuth,
    attach_resource,
    bind_model_credential,
    refuse_key_arguments,
    with_auth,
)
from ._compat import chat_anthropic_client_params, langchain_anthropic_http_clients
from ._pool import pooled_client
from .anthropic import make_async_client, make_sync_client

if TYPE_CHECKING:
    from ..resolver import CredentialResolver

__all__ = [
    "CredentialAzureChatOpenAI",
    "CredentialChatAnthropic",
    "CredentialChatOpenAI",
    "chat_model",
    "embeddings",
    "requires_credential",
]

_NAMESPACE = ["agentrun_creds_plugin", "integrations", "langchain"]
_REFUSED = ("api_key", "openai_api_key", "anthropic_api_key", "azure_ad_token")
_REFUSED_CALLABLES = ("azure_ad_token_provider", "azure_ad_async_token_provider")

T = TypeVar("T")


# -- per-run selection ----------------------------------------------------------------------
def _steps(selection: Mapping[str, str], iterator: Iterator[T]) -> Iterator[T]:
    """Drive ``iterator`` with ``selection`` in force during each step only."""
    try:
        while True:
            with use_credentials(selection):
                try:
                    item = next(iterator)
                except StopIteration:
                    return
            yield item
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            with use_credentials(selection):
                close()


async def _asteps(selection: Mapping[str, str], iterator: AsyncIterator[T]) -> AsyncIterator[T]:
    """Async twin of :func:`_steps` (set and reset within one step, in the driving task)."""
    try:
        while True:
            with use_credentials(selection):
                try:
                    item = await anext(iterator)
                except StopAsyncIteration:
                    return
            yield item
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            with use_credentials(selection):
                await aclose()


if TYPE_CHECKING:
    _ChatBase = BaseChatModel
else:
    _ChatBase = object


def _selection_in_force(config: RunnableConfig | None) -> AbstractContextManager[object]:
    """The run's per-call credential selection put in force (nothing when it has none)."""
    selection = selection_from_config(config)
    return use_credentials(selection) if selection else contextlib.nullcontext()


class _RunSelection(_ChatBase):
    """Mixin: honour ``configurable["agentrun_credentials"]`` of the call's config."""

    _agentrun_binding: KeyBinding | None

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return list(_NAMESPACE)

    @property
    def credential_name(self) -> str | None:
        """The credential this model uses when no per-run selection applies."""
        binding = self._agentrun_binding
        return binding.name if binding is not None else None

    def invoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AIMessage:
        if not config:  # the common call: no context manager to enter on every invoke
            return super().invoke(input, config, **kwargs)
        with _selection_in_force(config):
            return super().invoke(input, config, **kwargs)

    async def ainvoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AIMessage:
        with _selection_in_force(config):
            return await super().ainvoke(input, config, **kwargs)

    def stream(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[AIMessageChunk]:
        selection = selection_from_config(config)
        inner = super().stream(input, config, **kwargs)
        return _steps(selection, inner) if selection else inner

    def astream(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[AIMessageChunk]:
        selection = selection_from_config(config)
        inner = super().astream(input, config, **kwargs)
        return _asteps(selection, inner) if selection else inner


class CredentialChatOpenAI(_RunSelection, ChatOpenAI):
    """A ``ChatOpenAI`` whose key comes from the credential store on every request."""

    _agentrun_binding: KeyBinding | None = PrivateAttr(default=None)


class CredentialAzureChatOpenAI(_RunSelection, AzureChatOpenAI):
    """An ``AzureChatOpenAI`` whose key comes from the credential store on every request."""

    _agentrun_binding: KeyBinding | None = PrivateAttr(default=None)


class CredentialChatAnthropic(_RunSelection, ChatAnthropic):
    """A ``ChatAnthropic`` whose SDK clients resolve the key from the store per request."""

    _agentrun_binding: KeyBinding | None = PrivateAttr(default=None)

    def _binding(self) -> KeyBinding:
        binding = self._agentrun_binding
        if binding is None:
            raise RuntimeError(
                "this chat model has no credential binding; build it with chat_model(store, ...)"
            )
        return binding

    def _sdk_params(self, asynchronous: bool) -> dict[str, Any]:
        params = chat_anthropic_client_params(self)
        params.pop("api_key", None)
        factories = langchain_anthropic_http_clients()
        if factories is not None:
            http_params: dict[str, Any] = {"base_url": params["base_url"]}
            if "timeout" in params:
                http_params["timeout"] = params["timeout"]
            if self.anthropic_proxy:
                http_params["anthropic_proxy"] = self.anthropic_proxy
            params["http_client"] = factories[1 if asynchronous else 0](**http_params)
        return params

    @cached_property
    def _client(self) -> anthropic.Client:
        return make_sync_client(self._binding(), **self._sdk_params(False))

    @cached_property
    def _async_client(self) -> anthropic.AsyncClient:
        return make_async_client(self._binding(), **self._sdk_params(True))


# -- builders --------------------------------------------------------------------------------
def _target(
    store: CredentialResolver, model_or_credential: str, kwargs: dict[str, Any]
) -> tuple[str, str, str | None, dict[str, Any], str | None]:
    """(credential name, model id, base_url override, params, model configuration name)."""
    config, credential = store.resolve_model(model_or_credential)
    model = kwargs.pop("model", None)
    if config is not None:
        params = {**config.params, **kwargs}
        return credential, model or config.model, config.base_url, params, config.name
    if not model:
        raise InvalidCredentialError(
            f"model: {model_or_credential!r} is not a model configuration, so give the "
            "provider's model id, e.g. chat_model(store, name, model='gpt-4o-mini')",
            name=model_or_credential,
        )
    return credential, model, None, dict(kwargs), None


def _http_clients(
    binding: KeyBinding, params: dict[str, Any]
) -> tuple[openai.DefaultHttpxClient, openai.DefaultAsyncHttpxClient]:
    auth = ModelKeyAuth(binding)
    sync_client = params.pop("http_client", None)
    async_client = params.pop("http_async_client", None)
    if sync_client is None:
        sync_client = pooled_client("openai", asynchronous=False, auth=auth)
    else:
        with_auth(sync_client, auth, kind="sync")
    if async_client is None:
        async_client = pooled_client("openai", asynchronous=True, auth=auth)
    else:
        with_auth(async_client, auth, kind="async")
    return guard_client(sync_client), guard_client(async_client)


def _openai_params(
    binding: KeyBinding, model: str, base_url: str | None, params: dict[str, Any]
) -> dict[str, Any]:
    ep = binding.endpoint
    sync_client, async_client = _http_clients(binding, params)
    out: dict[str, Any] = {
        "api_key": SecretStr(PLACEHOLDER_KEY),
        "http_client": sync_client,
        "http_async_client": async_client,
    }
    if ep.api_style == "azure_openai":
        out["azure_endpoint"] = base_url or ep.base_url
        out["api_version"] = ep.api_version
        out["azure_deployment"] = model
        out["model"] = model
    else:
        out["base_url"] = base_url or ep.base_url
        out["model"] = model
    out.update(params)
    return out


def chat_model(
    store: CredentialResolver, model_or_credential: str, **kwargs: Any
) -> BaseChatOpenAI | ChatAnthropic:
    """A real ``ChatOpenAI`` / ``AzureChatOpenAI`` / ``ChatAnthropic`` keyed from the store.

    ``model_or_credential`` names a model configuration (``store.create_model``) or a
    ``model_service`` credential (then pass ``model=``). ``kwargs`` go to the LangChain class.
    Every ``invoke``, ``ainvoke``, ``stream``, ``astream``, ``batch`` and tool call resolves
    the key for that request; a ``configurable["agentrun_credentials"]`` mapping in the call's
    config selects another credential for that run.
    """
    refuse_key_arguments(kwargs, (*_REFUSED, *_REFUSED_CALLABLES))
    credential, model, base_url, params, config_name = _target(store, model_or_credential, kwargs)
    binding0 = bind_model_credential(store, credential, resource=None)
    resource_name = config_name or f"{binding0.endpoint.provider}:{model}"
    binding = KeyBinding(store, binding0.endpoint, resource=f"model:{resource_name}")
    llm: CredentialChatOpenAI | CredentialAzureChatOpenAI | CredentialChatAnthropic
    if binding.endpoint.api_style == "anthropic":
        anthropic_params: dict[str, Any] = {
            "model": model,
            "api_key": SecretStr(PLACEHOLDER_KEY),
            "base_url": base_url or binding.endpoint.base_url,
            **params,
        }
        llm = CredentialChatAnthropic(**anthropic_params)
    elif binding.endpoint.api_style == "azure_openai":
        llm = CredentialAzureChatOpenAI(**_openai_params(binding, model, base_url, params))
    else:
        llm = CredentialChatOpenAI(**_openai_params(binding, model, base_url, params))
    llm._agentrun_binding = binding
    attach_resource(store, credential, "model", resource_name)
    return llm


def embeddings(
    store: CredentialResolver, model_or_credential: str, **kwargs: Any
) -> OpenAIEmbeddings:
    """A real ``OpenAIEmbeddings`` (``AzureOpenAIEmbeddings`` for Azure) keyed from the store.

    Same lookup, attachment and per-request resolution as :func:`chat_model`. Embeddings are
    not runnables (no config), so a per-run selection is made with ``use_credentials``.
    """
    refuse_key_arguments(kwargs, (*_REFUSED, *_REFUSED_CALLABLES))
    credential, model, base_url, params, config_name = _target(store, model_or_credential, kwargs)
    binding0 = bind_model_credential(store, credential, resource=None)
    ep = binding0.endpoint
    if ep.api_style == "anthropic":
        raise InvalidCredentialError(
            f"credential {credential!r} is an anthropic credential; Anthropic has no embeddings "
            "API, use an OpenAI-compatible provider",
            name=credential,
        )
    resource_name = config_name or f"{ep.provider}:{model}"
    binding = KeyBinding(store, ep, resource=f"model:{resource_name}")
    if ep.provider not in ("openai", "azure_openai"):
        params.setdefault("check_embedding_ctx_length", False)
    built = _openai_params(binding, model, base_url, params)
    result: OpenAIEmbeddings
    if ep.api_style == "azure_openai":
        result = AzureOpenAIEmbeddings(**built)
    else:
        result = OpenAIEmbeddings(**built)
    attach_resource(store, credential, "model", resource_name)
    return result


# ``requires_credential`` (LangChain tools) lives in ``integrations/tools/``; the documented
# usage (docs/contract.md, "What you get") imports it from here together with ``chat_model``.
try:
    from .tools import requires_credential
except ModuleNotFoundError as _exc:  # pragma: no cover - only while tools.py is absent
    if _exc.name != f"{__package__}.tools":
        raise
