"""Per-run credential selection: one run of a shared agent uses another credential name.

Multi-tenant agents are built once, with default credential names; a run for tenant A maps a
default name to tenant A's credential. The mapping holds *names only* (never a secret), lives
in a ``ContextVar`` (so it follows asyncio tasks and ``contextvars.copy_context()`` runs, which
is how LangChain hands context to its thread pools), and every auth flow consults it on each
request::

    with use_credentials({"openai-default": "tenant-a-openai"}):
        agent.invoke(...)        # every call that would use openai-default uses tenant-a-openai

LangChain users can put the same mapping into a ``RunnableConfig`` under
``configurable["agentrun_credentials"]``; the integrations read it there too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

from .kinds import check_name

__all__ = [
    "CONFIG_KEY",
    "current_selection",
    "selected_name",
    "selection_from_config",
    "use_credential",
    "use_credentials",
]

#: The ``RunnableConfig["configurable"]`` key LangChain integrations read.
CONFIG_KEY = "agentrun_credentials"

_EMPTY: Mapping[str, str] = MappingProxyType({})
_SELECTION: ContextVar[Mapping[str, str]] = ContextVar("agentrun_creds_selection", default=_EMPTY)


def selected_name(name: str) -> str:
    """The credential name to use for ``name`` in the current context."""
    return _SELECTION.get().get(name, name)


def current_selection() -> Mapping[str, str]:
    """The mapping in force (read-only)."""
    return _SELECTION.get()


def selection_from_config(config: Mapping[str, object] | None) -> Mapping[str, str]:
    """The name mapping a LangChain ``RunnableConfig`` carries, or an empty mapping.

    Read from ``config["configurable"]["agentrun_credentials"]``; a non-mapping value is
    refused (422) rather than ignored, so a typo cannot silently use the default credential.
    """
    if not config:
        return _EMPTY
    configurable = config.get("configurable")
    if not isinstance(configurable, Mapping):
        return _EMPTY
    mapping = configurable.get(CONFIG_KEY)
    if mapping is None:
        return _EMPTY
    if not isinstance(mapping, Mapping):
        from .errors import InvalidCredentialError

        raise InvalidCredentialError(
            f"configurable.{CONFIG_KEY}: must map default credential names to the names to use"
        )
    return {str(k): str(v) for k, v in mapping.items()}


@contextmanager
def use_credentials(mapping: Mapping[str, str]) -> Iterator[None]:
    """Within the block, use ``mapping[name]`` wherever credential ``name`` would be used.

    Nested blocks add to (and override) the outer mapping. Names are checked against the name
    rule here, so a secret pasted by mistake is refused before it can reach a trace.
    """
    for default, chosen in mapping.items():
        check_name(default, field="use_credentials key")
        check_name(chosen, field="use_credentials value")
    merged = MappingProxyType({**_SELECTION.get(), **mapping})
    token = _SELECTION.set(merged)
    try:
        yield
    finally:
        _SELECTION.reset(token)


@contextmanager
def use_credential(name: str, *, instead_of: str) -> Iterator[None]:
    """Shorthand for ``use_credentials({instead_of: name})``."""
    with use_credentials({instead_of: name}):
        yield
