"""One decorated function bound to its store and credential: attachment, selection, the
kind check, and the sync and async wrappers that resolve and inject per call.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from ...errors import CredentialError, CredentialNotFoundError, InvalidCredentialError
from ...kinds import CredentialBase
from ...outbound.redirects import guard_client
from ...selection import selected_name, selection_from_config, use_credentials
from .._compat import current_runnable_config

if TYPE_CHECKING:
    from ...store import CredentialStore

from .errors import _as_tool_error
from .injection import _kind_id
from .signature import _NO_CONFIG, _call_args, _invoke_args, _Plan

log = logging.getLogger("agentrun_creds_plugin.integrations.tools")


# -- the decorator ------------------------------------------------------------------------------
class _Binding:
    """One decorated function: the store, the names, the attachment state."""

    def __init__(
        self,
        store: CredentialStore,
        name: str,
        tool_name: str,
        plan: _Plan,
        client_kwargs: Mapping[str, Any],
    ) -> None:
        self.store = store
        self.name = name
        self.tool_name = tool_name
        self.resource = tool_name
        self.plan = plan
        self.client_kwargs = dict(client_kwargs)
        self.attached = False

    def attach(self, *, at_decoration: bool) -> None:
        """Record the tool as an attachment of the declared credential (idempotent)."""
        if self.attached:
            return
        try:
            self.store.attach(self.name, "tool", self.tool_name)
        except CredentialError as exc:
            self._attach_failed(exc, at_decoration=at_decoration)
            return
        self.attached = True

    async def aattach(self) -> None:
        """:meth:`attach` at call time from a coroutine: the store write stays off the loop."""
        if self.attached:
            return
        try:
            await self.store.aattach(self.name, "tool", self.tool_name)
        except CredentialError as exc:
            self._attach_failed(exc, at_decoration=False)
            return
        self.attached = True

    def _attach_failed(self, exc: CredentialError, *, at_decoration: bool) -> None:
        """Log why the attachment is not recorded yet; it is retried at the next call."""
        if isinstance(exc, CredentialNotFoundError):
            if at_decoration:
                log.warning(
                    "tool %s: credential %r does not exist yet; the tool fails until it is "
                    "created (the attachment is recorded at the first call that finds it)",
                    self.tool_name,
                    self.name,
                )
            return
        # e.g. the store is unavailable: retried at call time
        log.warning(
            "tool %s: could not attach credential %r (%s); retried at the next call",
            self.tool_name,
            self.name,
            type(exc).__name__,
        )

    @contextmanager
    def scope(self, config: Any) -> Iterator[str]:
        """Put the run's selection in force; yields the credential name to use."""
        source = config if config is not _NO_CONFIG else current_runnable_config()
        mapping = selection_from_config(source)
        if mapping:
            with use_credentials(mapping):
                yield selected_name(self.name)
        else:
            yield selected_name(self.name)

    def check_kind(self, cred: CredentialBase, used: str) -> CredentialBase:
        kinds = self.plan.injection.kinds
        if kinds and not isinstance(cred, kinds):
            expected = " or ".join(k.__name__ for k in kinds)
            raise InvalidCredentialError(
                f"credential {used!r} is a {_kind_id(cred)} credential; parameter "
                f"{self.plan.into!r} of tool {self.tool_name} expects {expected}",
                name=used,
            )
        return cred

    def client(self, used: str) -> Any:
        """A new client whose auth resolves ``used`` on every request.

        The credential is checked first (metadata only, nothing decrypted), so a disabled,
        expired or missing credential fails the call before the function runs, as it does
        with an injected credential; the store's own ``resolve`` raises the error (and audits
        the refused use).
        """
        info = self.store.get(used)
        if not info.enabled or info.expired:
            self.store.resolve(used, resource=self.resource)
        return self._new_client(used)

    async def aclient(self, used: str) -> Any:
        """:meth:`client` from a coroutine: the metadata check uses the store's async reads."""
        info = await self.store.aget(used)
        if not info.enabled or info.expired:
            await self.store.aresolve(used, resource=self.resource)
        # Building the auth reads the credential's metadata (a blocking store read).
        return await asyncio.to_thread(self._new_client, used)

    def _new_client(self, used: str) -> Any:
        injection = self.plan.injection
        assert injection.factory is not None
        auth = self.store.http_auth(used, resource=self.resource)
        if injection.factory.__module__.split(".")[0] == "requests":
            session = injection.factory(**self.client_kwargs)
            session.auth = auth
            return session
        # the redirect guard: the key's headers never follow a redirect to another origin
        return guard_client(injection.factory(auth=auth, **self.client_kwargs))

    def as_tool_error(self, error: CredentialError) -> CredentialError:
        """The error to raise when LangChain runs the function as a tool."""
        log.debug(
            "tool %s: credential failure %s (%s) reported as the tool's result",
            self.tool_name,
            type(error).__name__,
            error.status_code,
        )
        return _as_tool_error(error, self.tool_name)

    @contextmanager
    def tool_errors(self, config: Any) -> Iterator[None]:
        """Turn a credential failure into the tool's result when LangChain runs the tool
        (``config`` given); a direct call sees the store's own error."""
        try:
            yield
        except CredentialError as exc:
            if config is _NO_CONFIG:
                raise
            raise self.as_tool_error(exc).with_traceback(exc.__traceback__) from None

    def call(self, values: Any, injected: Any) -> Any:
        """Run the function with ``injected`` in its credential parameter (a coroutine for
        an async tool, which the caller awaits)."""
        pos, kw = _invoke_args(self.plan, values, injected)
        return self.plan.func(*pos, **kw)


def _sync_wrapper(binding: _Binding) -> Callable[..., Any]:
    plan = binding.plan

    @functools.wraps(plan.func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        config, values = _call_args(plan, args, kwargs)
        with binding.tool_errors(config):
            binding.attach(at_decoration=False)
            with binding.scope(config) as used:
                if plan.injection.factory is None:
                    resolved = binding.store.resolve(used, resource=binding.resource)
                    return binding.call(values, binding.check_kind(resolved, used))
                client = binding.client(used)
                with typing.cast("AbstractContextManager[Any]", client) as opened:
                    return binding.call(values, opened)

    return wrapper


def _async_wrapper(binding: _Binding) -> Callable[..., Any]:
    """:func:`_sync_wrapper` for a coroutine function: every store read awaits the store's
    async twin, and an async client is entered with ``async with``."""
    plan = binding.plan

    @functools.wraps(plan.func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        config, values = _call_args(plan, args, kwargs)
        with binding.tool_errors(config):
            await binding.aattach()
            with binding.scope(config) as used:
                if plan.injection.factory is None:
                    resolved = await binding.store.aresolve(used, resource=binding.resource)
                    return await binding.call(values, binding.check_kind(resolved, used))
                client = await binding.aclient(used)
                if plan.injection.client_kind == "async":
                    async with typing.cast("AbstractAsyncContextManager[Any]", client) as opened:
                        return await binding.call(values, opened)
                with typing.cast("AbstractContextManager[Any]", client) as opened:
                    return await binding.call(values, opened)

    return wrapper
