"""The one place the integrations reach into the SDKs' private names.

Putting the store's current key on each request, keeping a plain client's ``User-Agent`` and
turning credential errors into tool errors needs a few names the SDKs do not promise to keep:

- anthropic: the per-request hook ``_prepare_request`` (sync and async) and ``_version``;
- langchain-anthropic: ``_client_utils._get_default_(async_)httpx_client`` and
  ``ChatAnthropic._client_params``;
- langchain-core: ``runnables.config.var_child_runnable_config``;
- langgraph: ``ToolInvocationError``, built here without running its ``__init__``.

Everything else in ``integrations/`` goes through the helpers below, so an SDK release that
moves one of these names breaks ``tests/integrations/test_compat.py`` (which checks each one
exists *and* behaves as relied on, e.g. the hook runs on every request so the real key is sent)
instead of silently sending the placeholder key or the default tenant's key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, cast

__all__ = [
    "ANTHROPIC_PREPARE_REQUEST",
    "AsyncPrepareRequestHook",
    "PrepareRequestHook",
    "build_without_init",
    "chat_anthropic_client_params",
    "current_runnable_config",
    "langchain_anthropic_http_clients",
    "sdk_version",
    "tool_exception_base",
]

E = TypeVar("E", bound=BaseException)

#: The anthropic client method called once per request, just before it is sent.
ANTHROPIC_PREPARE_REQUEST = "_prepare_request"


class PrepareRequestHook:
    """Mixin for ``anthropic.Anthropic``: runs ``_agentrun_on_request`` on every request."""

    def _agentrun_on_request(self, request: Any) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _prepare_request(self, request: Any) -> None:
        cast("Callable[[Any], None]", getattr(super(), ANTHROPIC_PREPARE_REQUEST))(request)
        self._agentrun_on_request(request)


class AsyncPrepareRequestHook:
    """Mixin for ``anthropic.AsyncAnthropic``: awaits ``_agentrun_on_request`` per request."""

    async def _agentrun_on_request(self, request: Any) -> None:  # pragma: no cover
        raise NotImplementedError

    async def _prepare_request(self, request: Any) -> None:
        hook = cast("Callable[[Any], Awaitable[None]]", getattr(super(), ANTHROPIC_PREPARE_REQUEST))
        await hook(request)
        await self._agentrun_on_request(request)


def sdk_version(client: object) -> str:
    """The anthropic SDK version a client reports (what its default ``User-Agent`` carries)."""
    return str(client._version)  # type: ignore[attr-defined]


def langchain_anthropic_http_clients() -> tuple[Any, Any] | None:
    """langchain-anthropic's default (sync, async) httpx client factories, or None if moved."""
    try:
        from langchain_anthropic import _client_utils
    except ImportError:  # pragma: no cover - private module moved
        return None
    return _client_utils._get_default_httpx_client, _client_utils._get_default_async_httpx_client


def chat_anthropic_client_params(model: object) -> dict[str, Any]:
    """The keyword arguments ``ChatAnthropic`` would build its SDK clients with (a copy)."""
    return dict(model._client_params)  # type: ignore[attr-defined]


def current_runnable_config() -> Mapping[str, object] | None:
    """The config of the LangChain run this code runs in, if any."""
    try:
        from langchain_core.runnables.config import var_child_runnable_config
    except ImportError:  # pragma: no cover - langchain-core missing
        return None
    return cast("Mapping[str, object] | None", var_child_runnable_config.get())


def tool_exception_base() -> type[Exception] | None:
    """langgraph's ``ToolInvocationError`` (handled by a default ``ToolNode``), else core's."""
    try:
        from langgraph.prebuilt.tool_node import ToolInvocationError
    except ImportError:
        pass
    else:
        return cast("type[Exception]", ToolInvocationError)
    try:
        from langchain_core.tools import ToolException
    except ImportError:  # pragma: no cover - the integrations extra installs langchain-core
        return None
    return ToolException


def build_without_init(cls: type[E], args: tuple[Any, ...], state: Mapping[str, Any]) -> E:
    """An instance of the exception class ``cls`` with ``args`` and ``state``, no ``__init__``.

    The credential errors' (and ``ToolInvocationError``'s) ``__init__`` take names, not a
    message; the attributes langgraph reads off a ``ToolInvocationError`` are set by default.
    """
    made = Exception.__new__(cls, *args)
    made.__dict__.update(state)
    return made
