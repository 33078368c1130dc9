"""The small interface every storage backend implements.

A backend stores rows and keeps reads fresh; it knows nothing of encryption, kinds or
versions' meaning (the store does). Writes happen inside :meth:`Backend.transaction`, which
yields a :class:`Transaction` holding the backend's writer lock (SQLite) or row locks
(PostgreSQL), so that read-check-write sequences such as compare-and-swap lose no update.

Freshness is each backend's duty, and each says which one it takes on (:attr:`Backend.freshness`):

- ``"checked"``: every read of a credential is checked against the database's committed state
  (SQLite's change counter), so a commit by any process is seen by the next read: zero stale
  reads.
- ``"notified"``: reads are served from a cache that change notifications invalidate (PostgreSQL
  ``LISTEN/NOTIFY``); the writing process sees its own change at once, other processes within
  the notification delay, and while the notification channel is down or has just come back,
  every read is revalidated against the database before anything is served.

A cache, of either kind, holds rows (ciphertext and metadata), never plaintext.

Async reads must never block the event loop. The defaults below run the sync read in a worker
thread; a backend overrides them when it has a cheaper way (SQLite reads in WAL mode never wait
for a lock; PostgreSQL has native async connections). A backend with native async writes sets
:attr:`Backend.native_async` and implements :meth:`Backend.atransaction`.

One conformance suite (``agentrun_creds_plugin.testing.conformance``) runs against every
backend; a third-party backend subclasses it in its own tests.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

from .._threads import to_thread

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = [
    "AsyncTransaction",
    "AuditRow",
    "Backend",
    "Freshness",
    "ModelRow",
    "Record",
    "Transaction",
    "UseEvent",
    "audit_query",
    "use_event_row",
]

Freshness = Literal["checked", "notified"]


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

    def as_params(self) -> tuple[Any, ...]:
        """The ``models`` table's columns in order (``params`` as JSON text), for SQL."""
        return (
            self.name,
            self.credential,
            self.model,
            self.base_url,
            json.dumps(self.params),
            self.created_at,
        )

    @classmethod
    def from_params(cls, r: Sequence[Any]) -> ModelRow:
        """A row of the ``models`` table, columns as :meth:`as_params` gives them."""
        return cls(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5])


class AuditRow(NamedTuple):
    """One audit event as stored.

    A named tuple, not a dataclass: a busy process queues tens of thousands of use events a
    second, and the audit writer thread must turn them into rows faster than they come with
    a small share of the GIL (a tuple is built and serialized in C).
    """

    at: float
    action: str
    name: str | None
    resource: str | None
    reason: str | None
    pid: int
    host: str


#: One queued use event of this process: ``(at_us, action, name, resource, reason)``, the
#: time in whole microseconds since the epoch (an int: a batch is written as JSON, and
#: formatting an int costs under half of a float's shortest repr); the queue adds the pid
#: and host once per batch (see :meth:`Backend.append_use_events`).
UseEvent = tuple[int, str, str | None, str | None, str | None]


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

    @abc.abstractmethod
    def master_key_id(self) -> bytes | None:
        """The id of the master key the store is encrypted with (None: never rotated).

        Must hold off a concurrent :meth:`set_master_key_id` until this transaction ends
        (SQLite's writer lock does; PostgreSQL reads the meta row ``FOR SHARE``), so a write
        that checked the id commits before a rotation's switch, or sees the new id.
        """

    @abc.abstractmethod
    def set_master_key_id(self, key_id: bytes) -> None:
        """Record the master key new writes must use (a rotation's first transaction)."""


class AsyncTransaction(abc.ABC):
    """:class:`Transaction`'s operations for a backend with native async connections."""

    @abc.abstractmethod
    async def get(self, name: str) -> Record | None: ...

    @abc.abstractmethod
    async def insert(self, record: Record) -> bool: ...

    @abc.abstractmethod
    async def replace(self, record: Record) -> None: ...

    @abc.abstractmethod
    async def delete(self, name: str) -> None: ...

    @abc.abstractmethod
    async def all_records(self) -> list[Record]: ...

    @abc.abstractmethod
    async def attachments(self, name: str) -> list[tuple[str, str]]: ...

    @abc.abstractmethod
    async def attach(
        self, name: str, resource_type: str, resource_name: str, at: float
    ) -> bool: ...

    @abc.abstractmethod
    async def detach(self, name: str, resource_type: str, resource_name: str) -> bool: ...

    @abc.abstractmethod
    async def get_model(self, name: str) -> ModelRow | None: ...

    @abc.abstractmethod
    async def insert_model(self, row: ModelRow) -> bool: ...

    @abc.abstractmethod
    async def delete_model(self, name: str) -> None: ...

    @abc.abstractmethod
    async def audit(self, row: AuditRow) -> None: ...

    @abc.abstractmethod
    async def master_key_id(self) -> bytes | None: ...

    @abc.abstractmethod
    async def set_master_key_id(self, key_id: bytes) -> None: ...


class Backend(abc.ABC):
    """A place to keep records, shared by every process that opens the same URL."""

    url: str

    #: The freshness duty this backend takes on (see the module docstring).
    freshness: ClassVar[Freshness]
    #: True when :meth:`atransaction` runs on native async connections.
    native_async: ClassVar[bool] = False
    #: True when :meth:`get` never waits on the network or a lock (a local file read), so
    #: code on an event loop may call it directly instead of awaiting :meth:`aget`.
    inline_reads: ClassVar[bool] = False

    @classmethod
    @abc.abstractmethod
    def from_url(cls, url: str, settings: Settings) -> Backend:
        """Open the backend a store URL names (``open_backend`` chooses the class by scheme)."""

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
        """The committed record, as fresh as :attr:`freshness` promises."""

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
        """Write a batch of events in one transaction."""

    def append_use_events(self, events: Sequence[UseEvent], pid: int, host: str) -> None:
        """The use-event queue's flush: one process's events in one transaction. A backend
        may write them more cheaply than as rows (the pid and host are the same for all)."""
        self.append_audit([use_event_row(event, pid, host) for event in events])

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

    def atransaction(self) -> AbstractAsyncContextManager[AsyncTransaction]:
        """A write transaction on native async connections (when :attr:`native_async`)."""
        raise NotImplementedError(f"{type(self).__name__} has no native async transactions")

    # -- async reads: worker threads unless a backend knows better -------------------------
    async def aget(self, name: str) -> Record | None:
        return await to_thread(self.get, name)

    async def alist_records(
        self, *, category: str | None = None, kind: str | None = None
    ) -> list[Record]:
        return await to_thread(self.list_records, category=category, kind=kind)

    async def aattachments(self, name: str) -> list[tuple[str, str]]:
        return await to_thread(self.attachments, name)

    async def aget_model(self, name: str) -> ModelRow | None:
        return await to_thread(self.get_model, name)

    async def alist_models(self) -> list[ModelRow]:
        return await to_thread(self.list_models)

    async def aappend_audit(self, rows: Sequence[AuditRow]) -> None:
        await to_thread(self.append_audit, rows)

    async def aquery_audit(
        self,
        *,
        name: str | None,
        limit: int,
        since: float | None,
        action: str | None,
        resource: str | None,
    ) -> list[AuditRow]:
        return await to_thread(
            self.query_audit, name=name, limit=limit, since=since, action=action, resource=resource
        )

    async def aclose(self) -> None:
        await to_thread(self.close)


def use_event_row(event: UseEvent, pid: int, host: str) -> AuditRow:
    """The stored row of a queued use event (the time back in seconds, as a float)."""
    at_us, action, name, resource, reason = event
    return AuditRow(at_us / 1_000_000, action, name, resource, reason, pid, host)


def audit_query(
    name: str | None,
    limit: int,
    since: float | None,
    action: str | None,
    resource: str | None,
    *,
    mark: str,
) -> tuple[str, list[Any]]:
    """The ``query_audit`` SELECT and its arguments, newest first; ``mark`` is the driver's
    placeholder (``?`` for sqlite3, ``%s`` for psycopg). Every value is a bound argument."""
    sql = "SELECT at, action, name, resource, reason, pid, host FROM audit WHERE 1=1"
    args: list[Any] = []
    for col, val in (("name", name), ("action", action), ("resource", resource)):
        if val is not None:
            sql += f" AND {col}={mark}"
            args.append(val)
    if since is not None:
        sql += f" AND at>={mark}"
        args.append(since)
    return sql + f" ORDER BY at DESC, id DESC LIMIT {mark}", [*args, limit]
