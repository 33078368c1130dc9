"""What outbound auth, inbound verifiers and integrations need of a store.

They type against :class:`CredentialResolver` instead of importing ``CredentialStore``, so the
arrows point one way: ``store`` reaches ``outbound`` and ``inbound`` by a local import, and
neither of them imports ``store``. ``CredentialStore`` satisfies the protocol; a test double
for code that only resolves may too.
"""

from __future__ import annotations

import ssl
from typing import Protocol, runtime_checkable

from .info import CredentialInfo, ModelConfig
from .kinds import CredentialBase

__all__ = ["CredentialResolver"]


@runtime_checkable
class CredentialResolver(Protocol):
    """Resolve credentials by name, read their metadata, record who uses them."""

    def resolve(self, name: str, *, resource: str | None = None) -> CredentialBase:
        """Decrypt now (every call: a change anywhere is seen by the next one)."""
        ...

    async def aresolve(self, name: str, *, resource: str | None = None) -> CredentialBase:
        """Async twin of :meth:`resolve`; never blocks the event loop."""
        ...

    def get(self, name: str) -> CredentialInfo:
        """Metadata, never a secret."""
        ...

    async def aget(self, name: str) -> CredentialInfo: ...

    def attach(self, name: str, resource_type: str, resource_name: str) -> None:
        """Record that a resource relies on the credential (idempotent)."""
        ...

    async def aattach(self, name: str, resource_type: str, resource_name: str) -> None: ...

    def resolve_model(self, name: str) -> tuple[ModelConfig | None, str]:
        """A model configuration (or None) and the name of the credential it uses."""
        ...

    def ssl_context(self) -> ssl.SSLContext:
        """The trust for https fetches (system store, ``SSL_CERT_FILE``, ``ca_file``)."""
        ...
