"""Tools that use a credential by name: ``requires_credential``.

A tool author names the credential; the secret is decrypted only when the tool runs, handed to
the function as an argument the model never sees, and never written to a callback payload or a
trace::

    from langchain_core.tools import tool
    from agentrun_creds_plugin.integrations.langchain import requires_credential

    @tool
    @requires_credential(store, "weather-key", into="client")
    def get_weather(city: str, client: httpx2.Client) -> str:
        \"\"\"Current weather for a city.\"\"\"
        return client.get("https://api.example.com/weather", params={"q": city}).text

Why it cannot leak: the secret is never a tool *argument*. LangChain builds the tool's schema
from the wrapper's signature, from which the injected parameter is removed, so the model is not
asked for it, ``tool.args`` / ``tool.tool_call_schema`` do not list it, a value the model sends
under that name is dropped by the schema, and ``on_tool_start`` (which reports the tool input)
never had it. The value is produced inside the wrapper, at call time, after the callbacks saw the
input. What the function *returns* or *raises* is the author's: return no secret.

Decisions where the design is silent:

- **What is injected.** The parameter named by ``into`` decides by its annotation:
  ``httpx2.Client`` / ``httpx2.AsyncClient`` / ``httpx.Client`` / ``httpx.AsyncClient`` (or a
  subclass) / ``requests.Session`` get a new client whose ``auth`` is
  ``store.http_auth(name)``, so the credential is resolved on every request (a retry too), and
  the client is closed when the call returns. Before the function runs, the credential's
  metadata is checked (nothing decrypted), so a disabled, expired or deleted credential fails
  the call up front, as it does with an injected credential. Anything else (a kind class such
  as ``ToolApiKeyCredential``, a union of kinds, ``CredentialBase``, or no annotation) gets the
  resolved credential object, whose secret fields are ``SecretStr``; with a kind annotation the
  kind is checked (a mismatch is ``InvalidCredentialError``, 422). An ``AsyncClient`` needs an
  ``async def`` function; generator functions are refused (the client would close under them).
  ``client_kwargs`` (``timeout``, ``base_url``, ``verify``...) go to the client's constructor.
- **The schema.** The wrapper carries ``__signature__`` without the injected parameter (and
  with a keyword-only ``agentrun_config: RunnableConfig`` that LangChain fills with the run's
  config and filters from every schema; a function that already takes a ``RunnableConfig``
  parameter keeps its own). ``__wrapped__`` is kept, as ``functools.wraps`` sets it:
  ``inspect.signature`` and LangChain stop unwrapping at a ``__signature__``, so the original
  parameter does not come back, and ``inspect.unwrap`` still reaches the original function.
  ``__annotations__`` are resolved once at decoration time (so
  ``from __future__ import annotations`` works) and keep the injected parameter, so a
  Google-style docstring that documents it still passes ``parse_docstring=True``.
- **When.** Nothing is resolved at decoration. Every call resolves the credential (or builds the
  auth that resolves it per request), so an update, a disable or a delete reaches the next call.
- **Attachment and audit.** Decorating attaches the credential to resource type ``tool`` named
  ``tool_name`` (default: the function's ``__name__``, which is what ``@tool`` names the tool;
  pass ``tool_name=`` when the tool gets another name). A credential that does not exist yet is
  logged and attached at the first call that finds it. Uses are audited with the tool's name
  as the resource (issue 5), so ``store.audit(resource="get_weather")`` lists the tool's uses;
  the store's own attach event of the tool reads ``tool:get_weather``. With a
  credential, a call is one use; with a client, each request is one use (a call that sends no
  request uses nothing). A per-run selection (below) attaches nothing: the tool is attached to
  the credential it declares.
- **Per-run selection.** The default name goes through :func:`~agentrun_creds_plugin.selection.
  selected_name`: ``use_credentials({...})`` around the run, and the run's
  ``RunnableConfig["configurable"]["agentrun_credentials"]`` mapping (names only; it wins over
  the context manager for that run, and it is put in force with ``use_credentials`` while the
  function runs, so code the function calls sees it too). The context manager lives in a
  ``ContextVar``, which LangChain and langgraph copy into the threads and tasks they start. A
  decorated function called directly (not as a tool) from inside a LangChain run reads that
  run's config from LangChain's own context variable, for the selection only.
- **Failures as tool messages.** Called as a plain function, a credential failure raises the
  store's error unchanged (``CredentialDisabledError``, 401; ``CredentialNotFoundError``, 404...).
  Called by LangChain as a tool (the wrapper then receives the run config), any
  ``CredentialError`` raised by the call (resolution, the injected client's auth, the function)
  is re-raised as a :class:`CredentialToolError`: an instance of the *same* error class (same
  message, ``status_code``, ``name``) that is also a ``ToolException``, and, when langgraph is
  installed, langgraph's ``ToolInvocationError``. So ``tool.invoke`` still raises a
  ``CredentialDisabledError``; a tool with ``handle_tool_error=True`` returns its message; and a
  default ``ToolNode`` (whose handler re-raises everything but ``ToolInvocationError``) turns it
  into a ``ToolMessage`` with ``status="error"`` whose content is the error's message (the
  disabled text of DESIGN section 7), and the graph goes on. The messages hold names, never a
  secret. ``ToolNode(handle_tool_errors=False)`` still raises: that is an explicit choice.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import threading
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ..errors import CredentialError, CredentialNotFoundError, InvalidCredentialError
from ..kinds import CredentialBase, check_name
from ..selection import selected_name, selection_from_config, use_credentials
from ._compat import build_without_init, current_runnable_config, tool_exception_base

if TYPE_CHECKING:
    from ..store import CredentialStore

__all__ = ["CONFIG_PARAM", "CredentialToolError", "requires_credential"]

log = logging.getLogger(__name__)

R = TypeVar("R")

#: The keyword-only parameter added to the wrapper's signature so that LangChain passes the run
#: config (it fills any parameter annotated ``RunnableConfig`` and hides it from the schema).
CONFIG_PARAM = "agentrun_config"

_NO_CONFIG: Any = object()

ClientKind = Literal["sync", "async"]


# -- failures as tool messages ----------------------------------------------------------------
class CredentialToolError(CredentialError):
    """A credential failure inside a LangChain tool run.

    Never raised as such: the wrapper raises an instance of a class derived from this one, from
    the original error's class (so ``except CredentialDisabledError`` and ``status_code`` keep
    working) and from LangChain's ``ToolException`` (langgraph's ``ToolInvocationError`` when
    langgraph is installed), so tool executors turn it into the tool message. ``tool_name`` is
    the tool that failed; ``credential_error`` the store's original error.
    """

    tool_name: str
    credential_error: CredentialError
    _credential_class: type[CredentialError]

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from class, args and attributes: the error classes' __init__ take names.
        state = {k: v for k, v in self.__dict__.items() if k != "credential_error"}
        return (_rebuild_tool_error, (self._credential_class, self.args, state))


_TOOL_ERROR_CLASSES: dict[type[CredentialError], type[CredentialToolError]] = {}
_TOOL_ERROR_LOCK = threading.Lock()


def _tool_error_class(cls: type[CredentialError]) -> type[CredentialToolError] | None:
    """The class that is both ``cls`` and a tool exception (one per ``cls``)."""
    with _TOOL_ERROR_LOCK:
        found = _TOOL_ERROR_CLASSES.get(cls)
        if found is not None:
            return found
        base = tool_exception_base()
        if base is None:  # pragma: no cover - see _tool_exception_base
            return None
        made = types.new_class(
            cls.__name__,
            (CredentialToolError, cls, base),
            exec_body=lambda ns: ns.update(
                {"__module__": __name__, "__qualname__": cls.__qualname__, "_credential_class": cls}
            ),
        )
        _TOOL_ERROR_CLASSES[cls] = made
        return made


def _as_tool_error(error: CredentialError, tool_name: str) -> CredentialError:
    """``error`` as a :class:`CredentialToolError` (same class, message and attributes)."""
    if isinstance(error, CredentialToolError):
        return error
    cls = _tool_error_class(type(error))
    if cls is None:  # pragma: no cover - see _tool_exception_base
        return error
    # The error classes' __init__ take names, not a message: build without calling them.
    made = build_without_init(cls, error.args, error.__dict__)
    made.tool_name = tool_name
    made.credential_error = error
    # What langgraph's ToolInvocationError carries (never the tool's arguments).
    made.__dict__.setdefault("tool_kwargs", {})
    made.__dict__.setdefault("source", None)
    made.__dict__.setdefault("filtered_errors", None)
    return made


_TOOL_ATTRIBUTES = ("tool_name", "credential_error", "tool_kwargs", "source", "filtered_errors")


def _rebuild_tool_error(
    cls: type[CredentialError], args: tuple[Any, ...], state: dict[str, Any]
) -> CredentialError:
    kept = {k: v for k, v in state.items() if k not in _TOOL_ATTRIBUTES}
    original = build_without_init(cls, args, kept)
    return _as_tool_error(original, str(state.get("tool_name", "")))


# -- what to inject -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Injection:
    """How to produce the injected value: a credential object, or a client of ``factory``."""

    factory: type | None = None  # None: the credential object
    client_kind: ClientKind = "sync"
    kinds: tuple[type[CredentialBase], ...] = ()  # expected kinds; empty: any


def _client_classes() -> list[tuple[type, ClientKind]]:
    """The HTTP client classes that are installed, with how they are used."""
    found: list[tuple[type, ClientKind]] = []
    for module, sync_name, async_name in (
        ("httpx2", "Client", "AsyncClient"),
        ("httpx", "Client", "AsyncClient"),
        ("requests", "Session", None),
    ):
        try:
            mod = __import__(module)
        except ImportError:
            continue
        found.append((getattr(mod, sync_name), "sync"))
        if async_name is not None:
            found.append((getattr(mod, async_name), "async"))
    return found


def _members(annotation: Any) -> list[Any]:
    """The types an annotation allows: ``Annotated`` and ``Optional`` unwrapped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                out.extend(_members(arg))
        return out
    return [annotation]


def _injection_for(annotation: Any, *, where: str, is_async: bool) -> _Injection:
    if annotation is inspect.Parameter.empty:
        return _Injection()
    if isinstance(annotation, str):
        raise TypeError(
            f"requires_credential: cannot resolve the annotation {annotation!r} of {where}; "
            "import its type at module level (or drop the annotation to get the credential)"
        )
    members = _members(annotation)
    clients = _client_classes()
    matched: list[tuple[type, ClientKind]] = []
    for member in members:
        for cls, kind in clients:
            if isinstance(member, type) and issubclass(member, cls):
                matched.append((member, kind))
                break
    if matched:
        if len(members) != 1:
            raise TypeError(
                f"requires_credential: {where} must be annotated with one HTTP client class "
                "(e.g. httpx2.Client), not a union"
            )
        factory, kind = matched[0]
        if kind == "async" and not is_async:
            raise TypeError(
                f"requires_credential: {where} asks for an {factory.__name__}; an async client "
                "needs an 'async def' function (or annotate it with the sync Client)"
            )
        return _Injection(factory=factory, client_kind=kind)
    kinds = tuple(m for m in members if isinstance(m, type) and issubclass(m, CredentialBase))
    if len(kinds) == len(members) and CredentialBase not in kinds:
        return _Injection(kinds=kinds)
    return _Injection()


def _kind_id(cred: CredentialBase) -> str:
    return str(type(cred).model_fields["kind"].default)


# -- signatures --------------------------------------------------------------------------------
def _runnable_config_type() -> Any:
    try:
        from langchain_core.runnables import RunnableConfig
    except ImportError:  # plain functions work without LangChain
        return None
    return RunnableConfig


def _type_hints(func: Callable[..., Any]) -> dict[str, Any]:
    """Resolved annotations; one that cannot be resolved stays as written (a string)."""
    try:
        return typing.get_type_hints(func, include_extras=True)
    except Exception:  # an unresolvable forward reference: resolve the others one by one
        log.debug("annotations of %s: resolving one by one", getattr(func, "__qualname__", func))
    hints: dict[str, Any] = {}
    globalns = getattr(inspect.unwrap(func), "__globals__", {})
    for name, annotation in dict(getattr(func, "__annotations__", {})).items():
        probe = types.SimpleNamespace(__annotations__={name: annotation}, __globals__=globalns)
        try:
            hints[name] = typing.get_type_hints(probe, include_extras=True)[name]
        except Exception:
            hints[name] = annotation
    return hints


@dataclass(frozen=True)
class _Plan:
    """Everything decided at decoration time."""

    func: Callable[..., Any]
    signature: inspect.Signature  # the original, annotations resolved
    visible: inspect.Signature  # what LangChain (and help()) sees
    into: str
    config_param: str | None  # where LangChain puts the run config
    own_config: bool  # the function itself takes that parameter
    injection: _Injection
    annotations: dict[str, Any]


def _plan(func: Callable[..., Any], into: str) -> _Plan:
    where = f"{getattr(func, '__qualname__', func)!s}()"
    if not callable(func):
        raise TypeError(f"requires_credential: expected a function, got {type(func).__name__}")
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        raise TypeError(
            f"requires_credential: {where} is a generator; the injected value is only valid "
            "during the call, so return a value instead of yielding"
        )
    try:
        original = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"requires_credential: cannot read the signature of {where}") from exc
    hints = _type_hints(func)
    params = [
        p.replace(annotation=hints.get(p.name, p.annotation)) for p in original.parameters.values()
    ]
    signature = original.replace(
        parameters=params, return_annotation=hints.get("return", original.return_annotation)
    )
    target = signature.parameters.get(into)
    if target is None:
        names = ", ".join(signature.parameters) or "none"
        raise TypeError(
            f"requires_credential: {where} has no parameter {into!r} to inject into; "
            f"pass into= one of its parameters ({names})"
        )
    if target.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
        raise TypeError(
            f"requires_credential: {into!r} of {where} is *args/**kwargs; inject into a named "
            "parameter"
        )
    is_async = inspect.iscoroutinefunction(func)
    injection = _injection_for(
        target.annotation, where=f"parameter {into!r} of {where}", is_async=is_async
    )

    config_type = _runnable_config_type()
    config_param: str | None = None
    own_config = False
    if config_type is not None:
        for p in signature.parameters.values():
            if p.name != into and p.annotation is config_type:
                config_param, own_config = p.name, True
                break
    visible = [p for p in signature.parameters.values() if p.name != into]
    if config_type is not None and config_param is None:
        config_param = CONFIG_PARAM
        while config_param in signature.parameters:
            config_param += "_"
        extra = inspect.Parameter(
            config_param, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=config_type
        )
        at = next(
            (i for i, p in enumerate(visible) if p.kind is inspect.Parameter.VAR_KEYWORD),
            len(visible),
        )
        visible.insert(at, extra)
    annotations = {
        p.name: p.annotation
        for p in signature.parameters.values()
        if p.annotation is not inspect.Parameter.empty
    }
    if config_param is not None and not own_config:
        annotations[config_param] = config_type
    if signature.return_annotation is not inspect.Signature.empty:
        annotations["return"] = signature.return_annotation
    return _Plan(
        func=func,
        signature=signature,
        visible=signature.replace(parameters=visible),
        into=into,
        config_param=config_param,
        own_config=own_config,
        injection=injection,
        annotations=annotations,
    )


def _call_args(
    plan: _Plan, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, dict[str, Any]]:
    """Bind a call to the visible signature: (run config or _NO_CONFIG, arguments by name)."""
    try:
        bound = plan.visible.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"{plan.func.__name__}(): {exc}") from None
    values = dict(bound.arguments)
    config: Any = _NO_CONFIG
    if plan.config_param is not None and plan.config_param in values:
        config = values[plan.config_param]
        if not plan.own_config:
            del values[plan.config_param]
        if config is None:
            config = _NO_CONFIG
    return config, values


def _invoke_args(
    plan: _Plan, values: dict[str, Any], injected: Any
) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments for the original function, the injected one added."""
    values = {**values, plan.into: injected}
    params = list(plan.signature.parameters.values())
    var_pos = next(
        (i for i, p in enumerate(params) if p.kind is inspect.Parameter.VAR_POSITIONAL), None
    )
    # Parameters that must go by position: positional-only ones, and every one before a
    # non-empty *args.
    cut = -1
    for i, p in enumerate(params):
        if p.kind is inspect.Parameter.POSITIONAL_ONLY and p.name in values:
            cut = i
    if var_pos is not None and values.get(params[var_pos].name):
        cut = var_pos
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    for i, p in enumerate(params):
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            positional.extend(values.get(p.name, ()))
        elif p.kind is inspect.Parameter.VAR_KEYWORD:
            keywords.update(values.get(p.name, {}))
        elif i < cut:
            positional.append(values.get(p.name, p.default))
        elif p.name in values:
            if p.kind is inspect.Parameter.POSITIONAL_ONLY:
                positional.append(values[p.name])
            else:
                keywords[p.name] = values[p.name]
    return positional, keywords


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
        return injection.factory(auth=auth, **self.client_kwargs)

    def as_tool_error(self, error: CredentialError) -> CredentialError:
        """The error to raise when LangChain runs the function as a tool."""
        log.debug(
            "tool %s: credential failure %s (%s) reported as the tool's result",
            self.tool_name,
            type(error).__name__,
            error.status_code,
        )
        return _as_tool_error(error, self.tool_name)


def _sync_wrapper(binding: _Binding) -> Callable[..., Any]:
    plan = binding.plan

    @functools.wraps(plan.func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        config, values = _call_args(plan, args, kwargs)
        try:
            binding.attach(at_decoration=False)
            with binding.scope(config) as used:
                if plan.injection.factory is None:
                    cred = binding.check_kind(
                        binding.store.resolve(used, resource=binding.resource), used
                    )
                    pos, kw = _invoke_args(plan, values, cred)
                    del cred
                    return plan.func(*pos, **kw)
                client = binding.client(used)
                with typing.cast("AbstractContextManager[Any]", client) as opened:
                    pos, kw = _invoke_args(plan, values, opened)
                    return plan.func(*pos, **kw)
        except CredentialError as exc:
            if config is _NO_CONFIG:
                raise
            raise binding.as_tool_error(exc).with_traceback(exc.__traceback__) from None

    return wrapper


def _async_wrapper(binding: _Binding) -> Callable[..., Any]:
    plan = binding.plan

    @functools.wraps(plan.func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        config, values = _call_args(plan, args, kwargs)
        try:
            await binding.aattach()
            with binding.scope(config) as used:
                if plan.injection.factory is None:
                    cred = binding.check_kind(
                        await binding.store.aresolve(used, resource=binding.resource), used
                    )
                    pos, kw = _invoke_args(plan, values, cred)
                    del cred
                    return await plan.func(*pos, **kw)
                client = await binding.aclient(used)
                if plan.injection.client_kind == "async":
                    async with typing.cast("AbstractAsyncContextManager[Any]", client) as opened:
                        pos, kw = _invoke_args(plan, values, opened)
                        return await plan.func(*pos, **kw)
                with typing.cast("AbstractContextManager[Any]", client) as opened:
                    pos, kw = _invoke_args(plan, values, opened)
                    return await plan.func(*pos, **kw)
        except CredentialError as exc:
            if config is _NO_CONFIG:
                raise
            raise binding.as_tool_error(exc).with_traceback(exc.__traceback__) from None

    return wrapper


def requires_credential(
    store: CredentialStore,
    name: str,
    *,
    into: str = "credential",
    tool_name: str | None = None,
    client_kwargs: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Inject credential ``name`` (or an HTTP client using it) into parameter ``into``.

    Works on plain and ``async def`` functions, under LangChain's ``@tool`` and
    ``StructuredTool.from_function``. At each call the credential is resolved from ``store``
    (after any per-run selection) and passed as ``into``; when ``into`` is annotated as an
    ``httpx2``/``httpx`` client (or ``requests.Session``) a client carrying
    ``store.http_auth(name)`` is passed instead and closed after the call. The parameter is
    removed from the signature LangChain builds the tool's schema from, so the model never sees
    it. ``tool_name`` (default: the function's name) names the ``tool`` attachment and is the
    audit resource of each use. See the module docstring for the decisions.

    Raises (at decoration): ``TypeError`` when ``into`` is not a named parameter of the function
    or its annotation cannot be used; ``InvalidCredentialError`` for an invalid ``name``.
    """
    check_name(name, field="requires_credential name")
    if not isinstance(into, str) or not into.isidentifier():
        raise TypeError("requires_credential: into must be a parameter name")
    options = dict(client_kwargs or {})
    if "auth" in options:
        raise TypeError(
            "requires_credential: client_kwargs must not set auth; the client's auth is "
            "store.http_auth(name)"
        )

    def decorate(func: Callable[..., R]) -> Callable[..., R]:
        plan = _plan(func, into)
        if plan.injection.factory is None and options:
            raise TypeError(
                f"requires_credential: client_kwargs given, but parameter {into!r} of "
                f"{func.__qualname__}() is not annotated as an HTTP client"
            )
        binding = _Binding(store, name, tool_name or func.__name__, plan, options)
        if inspect.iscoroutinefunction(func):
            wrapper = _async_wrapper(binding)
        else:
            wrapper = _sync_wrapper(binding)
        wrapper.__signature__ = plan.visible  # type: ignore[attr-defined]
        wrapper.__annotations__ = dict(plan.annotations)
        wrapper.agentrun_credential = name  # type: ignore[attr-defined]
        wrapper.agentrun_tool_name = binding.tool_name  # type: ignore[attr-defined]
        binding.attach(at_decoration=True)
        return typing.cast("Callable[..., R]", wrapper)

    return decorate
