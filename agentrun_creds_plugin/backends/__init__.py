"""Where records live: :func:`open_backend` picks the backend class by the URL's scheme.

Built in: ``sqlite:`` (the embedded default) and ``postgresql:`` / ``postgres:`` (the
``[postgres]`` extra). A third-party backend registers itself under the entry-point group
``agentrun_creds_plugin.backends`` (name: the scheme, value: ``module:Class``); the class
subclasses :class:`~agentrun_creds_plugin.backends.base.Backend` and passes the conformance
suite in :mod:`agentrun_creds_plugin.testing.conformance`. Backend modules are imported only
when a URL needs them, so ``import agentrun_creds_plugin`` stays light.
"""

from __future__ import annotations

import importlib
import urllib.parse
from typing import TYPE_CHECKING

from ..errors import StoreUnavailableError

if TYPE_CHECKING:
    from ..settings import Settings
    from .base import Backend

__all__ = ["BACKENDS", "open_backend"]

#: Built-in backends: URL scheme -> ``module:Class`` (the module relative to this package).
BACKENDS: dict[str, str] = {
    "sqlite": ".sqlite:SQLiteBackend",
    "postgresql": ".postgres:PostgresBackend",
    "postgres": ".postgres:PostgresBackend",
}

_EXTRAS = {"postgresql": "postgres", "postgres": "postgres"}
_GROUP = "agentrun_creds_plugin.backends"


def _target(scheme: str) -> str | None:
    found = BACKENDS.get(scheme)
    if found is not None:
        return found
    from importlib.metadata import entry_points  # only for third-party schemes (slow import)

    for ep in entry_points(group=_GROUP):
        if ep.name == scheme:
            return str(ep.value)
    return None


def backend_class(scheme: str) -> type[Backend]:
    """The class that serves ``scheme``; 503 naming what to install or use instead."""
    target = _target(scheme)
    if target is None:
        raise StoreUnavailableError(
            f"store url: unsupported scheme {scheme!r}; use sqlite:///relative.db, "
            "sqlite:////absolute.db or postgresql://user@host/db"
        )
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name, package=__name__)
    except ImportError as exc:
        extra = _EXTRAS.get(scheme)
        hint = f"pip install 'agentrun-creds-plugin[{extra}]'" if extra else "install it"
        raise StoreUnavailableError(
            f"store url: the {scheme} backend needs a package that is missing "
            f"({exc.name or 'unknown'}); {hint}"
        ) from None
    cls: type[Backend] = getattr(module, attr)
    return cls


def open_backend(url: str, settings: Settings) -> Backend:
    """Open the backend ``url`` names, e.g. ``sqlite:///creds.db`` or ``postgresql://...``."""
    scheme = urllib.parse.urlsplit(url).scheme.lower() if ":" in url else ""
    if not scheme:
        raise StoreUnavailableError(
            "store url: no scheme; use sqlite:///relative.db, sqlite:////absolute.db or "
            "postgresql://user@host/db"
        )
    return backend_class(scheme).from_url(url, settings)
