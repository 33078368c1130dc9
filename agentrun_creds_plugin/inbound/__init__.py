"""Inbound verification: a service checks who calls it with a stored service credential.

``make_verifier(resolver, name)`` (also ``store.verifier(name)``) returns a :class:`Verifier`
whose ``verify(headers)`` returns a :class:`Principal` or raises ``AuthenticationError`` (401) /
``PermissionDeniedError`` (403). The credential is resolved on every call, so an update, a
disable or a key rotation made by any process takes effect on the next request.
"""

from __future__ import annotations

from .principal import Principal
from .verifier import Verifier, make_verifier

__all__ = ["Principal", "Verifier", "make_verifier"]
