"""``CredentialAuth``: one object that is an httpx2, httpx and requests auth at once.

httpx and httpx2 accept an auth object only if it is an instance of their ``Auth`` class (a
plain callable would be wrapped as a requests-style function), so the class derives from the
``Auth`` of whichever of the two is installed; ``requests`` only needs ``__call__``.
"""

from __future__ import annotations

import importlib

from .httpx_flow import HttpxFlows
from .requests_auth import RequestsAuth

__all__ = ["CredentialAuth"]


def _installed_auth_bases() -> tuple[type, ...]:
    bases: list[type] = []
    for module in ("httpx2", "httpx"):
        try:
            bases.append(importlib.import_module(module).Auth)
        except ImportError:
            continue
    return tuple(bases)


class CredentialAuth(HttpxFlows, RequestsAuth, *_installed_auth_bases()):  # type: ignore[misc]  # bases: the installed httpx libraries
    """Resolve-per-request auth. Build it with ``store.http_auth(name)``."""
