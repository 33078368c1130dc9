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
  store's disabled-credential text), and the graph goes on. The messages hold names, never a
  secret. ``ToolNode(handle_tool_errors=False)`` still raises: that is an explicit choice.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ...kinds import check_name
from .binding import _async_wrapper, _Binding, _sync_wrapper
from .errors import CredentialToolError
from .signature import CONFIG_PARAM, _plan

if TYPE_CHECKING:
    from ...store import CredentialStore

__all__ = ["CONFIG_PARAM", "CredentialToolError", "requires_credential"]

R = TypeVar("R")


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
