"""The small interface every storage backend implements.

A backend stores rows and keeps reads fresh; it knows nothing of encryption, kinds or
versions' meaning (the store does). Writes happen inside :meth:`Backend.transaction`, which
yields a :class:`Transaction` holding the backend's writer lock (SQLite) or row locks
(PostgreSQL), so that read-check-write sequences such as compare-and-swap lose no update.
One conformance suite (``tests/backends/conformance.py``) runs against every backend.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AuditRow", "Backend", "ModelRow", "Record", "Transaction"]


@dataclass(frozen=True, slots=True)
class Record:
    """One credential row: metadata plus the encrypted envelope (never plaintext)."""

    name: str
    category: str
    kind: str
    enabled: bool
    description: str
    version: int
    created_at: float
    updated_at: float
    expires_at: float | None
    preview: str
    blob: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ModelRow:
    """A model configuration that uses an existing credential."""

    name: str
    credential: str
    model: str
    base_url: str | None
    params: dict[str, Any]
    created_at: float


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One audit event as stored."""

    at: float
    action: str
    name: str | None
    resource: str | None
    reason: str | None
    pid: int
    host: str


class Transaction(abc.ABC):
    """Operations available while a write transaction is open."""

    @abc.abstractmethod
    def get(self, name: str) -> Record | None: ...

    @abc.abstractmethod
    def insert(self, record: Record) -> bool:
        """Insert; False when the name is taken."""

    @abc.abstractmethod
    def replace(self, record: Record) -> None: ...

    @abc.abstractmethod
    def delete(self, name: str) -> None:
        """Delete the credential and its attachments."""

    @abc.abstractmethod
    def all_records(self) -> list[Record]: ...

    @abc.abstractmethod
    def attachments(self, name: str) -> list[tuple[str, str]]: ...

    @abc.abstractmethod
    def attach(self, name: str, resource_type: str, resource_name: str, at: float) -> bool:
        """Add an attachment; False when it was already there."""

    @abc.abstractmethod
    def detach(self, name: str, resource_type: str, resource_name: str) -> bool:
        """Remove an attachment; False when it was not there."""

    @abc.abstractmethod
    def get_model(self, name: str) -> ModelRow | None: ...

    @abc.abstractmethod
    def insert_model(self, row: ModelRow) -> bool: ...

    @abc.abstractmethod
    def delete_model(self, name: str) -> None: ...

    @abc.abstractmethod
    def audit(self, row: AuditRow) -> None: ...


class Backend(abc.ABC):
    """A place to keep records, shared by every process that opens the same URL."""

    url: str

    @property
    @abc.abstractmethod
    def store_id(self) -> str:
        """A random id fixed when the store was created; bound into every ciphertext."""

    @property
    def default_key_file(self) -> str | None:
        """Where the embedded default keeps its key file, if the backend has a home."""
        return None

    @abc.abstractmethod
    def get(self, name: str) -> Record | None:
        """The committed record, never stale: checked against the database on each call."""

    @abc.abstractmethod
    def list_records(
        self, *, category: str | None = None, kind: str | None = None
    ) -> list[Record]: ...

    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[Transaction]: ...

    @abc.abstractmethod
    def attachments(self, name: str) -> list[tuple[str, str]]: ...

    @abc.abstractmethod
    def get_model(self, name: str) -> ModelRow | None: ...

    @abc.abstractmethod
    def list_models(self) -> list[ModelRow]: ...

    @abc.abstractmethod
    def append_audit(self, rows: Sequence[AuditRow]) -> None:
        """Write a batch of events in one transaction (the use-event queue's flush)."""

    @abc.abstractmethod
    def query_audit(
        self,
        *,
        name: str | None,
        limit: int,
        since: float | None,
        action: str | None,
        resource: str | None,
    ) -> list[AuditRow]:
        """Newest first."""

    @abc.abstractmethod
    def prune_audit(self, before: float) -> int: ...

    @abc.abstractmethod
    def close(self) -> None: ...
