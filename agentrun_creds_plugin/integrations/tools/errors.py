"""Credential failures as tool errors: the class that is both the store's error and a
LangChain/langgraph tool exception, so a tool executor turns it into the tool message.
"""

from __future__ import annotations

import threading
import types
from typing import TYPE_CHECKING, Any

from ...errors import CredentialError
from .._compat import build_without_init, tool_exception_base

if TYPE_CHECKING:
    pass


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
                {
                    "__module__": "agentrun_creds_plugin.integrations.tools",
                    "__qualname__": cls.__qualname__,
                    "_credential_class": cls,
                }
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
