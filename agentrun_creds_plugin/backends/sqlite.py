"""The embedded default: one SQLite file in WAL mode, shared by every process on the machine.

Freshness without staleness: each thread keeps its own read connection and a cache of rows
(ciphertext and metadata only). Before serving from that cache, a read asks
``PRAGMA data_version``, which changes whenever any *other* connection commits; all writes go
through a separate writer connection, so every commit, from this process or another, empties
the cache on the next read. A read therefore costs one pragma when nothing changed.

The pragma costs a few microseconds, so a read first compares the WAL-index header of the
``-shm`` file (see ``_sqlite_change``) and asks the pragma only when that header moved.

Writers take the lock up front (``BEGIN IMMEDIATE``) and wait for it (busy timeout) instead of
failing with "database is locked"; a wait past the timeout becomes ``StoreUnavailableError``.
Connections are re-created after ``fork``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import uuid
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import StoreUnavailableError
from ..settings import Settings
from ._sqlite_change import ReadState, shm_file
from ._sqlite_errors import store_error, unavailable
from ._sqlite_sql import (
    _COLS,
    _INSERT_EVENT_GROUP,
    _INSERT_EVENTS_JSON,
    _SCHEMA,
    _attachments,
    _audit_payload,
    _event_groups,
    _get_model,
    _insert_audit,
    _row_to_record,
    _SQLiteTransaction,
)
from .base import AuditRow, Backend, ModelRow, Record, Transaction, UseEvent, audit_query

__all__ = ["SQLiteBackend", "parse_sqlite_url"]

_MISSING = object()


def parse_sqlite_url(url: str) -> Path:
    """``sqlite:///relative.db`` or ``sqlite:////absolute.db`` (SQLAlchemy's convention)."""
    if not url.startswith("sqlite:///"):
        raise StoreUnavailableError(
            "store url: a SQLite url looks like sqlite:///relative.db or sqlite:////abs/path.db"
        )
    path = url[len("sqlite:///") :]
    if not path or path == ":memory:":
        raise StoreUnavailableError(
            "store url: an in-memory SQLite store cannot be shared between connections; "
            "use a file such as sqlite:////tmp/creds.db"
        )
    return Path(path)


class SQLiteBackend(Backend):
    """A SQLite file in WAL mode; see the module docstring for how reads stay fresh."""

    freshness = "checked"
    inline_reads = True

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> SQLiteBackend:
        return cls(parse_sqlite_url(url), busy_timeout=settings.busy_timeout)

    def __init__(self, path: Path | str, *, busy_timeout: float = 10.0) -> None:
        self.path = Path(path).expanduser().resolve()
        self.url = f"sqlite:///{self.path}"
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._all_conns: list[sqlite3.Connection] = []  # the writer's (readers: _readers)
        self._readers: weakref.WeakSet[ReadState] = weakref.WeakSet()
        self._conns_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._write_lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False
        _BACKENDS.add(self)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailableError(
                f"store: cannot create the folder {self.path.parent} ({exc.strerror})"
            ) from None
        self._store_id = self._init_schema()

    def __repr__(self) -> str:
        return f"SQLiteBackend({str(self.path)!r})"

    # -- connections ---------------------------------------------------------------------
    def _connect(self, *, track: bool = True) -> sqlite3.Connection:
        if self._closed:
            raise StoreUnavailableError("store is closed; open it again")
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute("PRAGMA synchronous=FULL")
        except (sqlite3.Error, UnicodeDecodeError) as exc:  # a damaged file can fail to decode
            raise StoreUnavailableError(f"store: cannot open {self.path} ({exc})") from None
        if track:
            with self._conns_lock:
                self._all_conns.append(conn)
        return conn

    def _check_fork(self) -> None:
        if self._pid != os.getpid():
            # Connections of the parent must not be used (nor closed) in the child.
            self._pid = os.getpid()
            self._local = threading.local()
            self._all_conns = []
            self._readers = weakref.WeakSet()
            self._conns_lock = threading.Lock()
            self._write_lock = threading.Lock()
            self._writer = None

    def _read_state(self) -> ReadState:
        st: ReadState | None = getattr(self._local, "st", None)
        if st is None or st.pid != os.getpid():
            self._check_fork()
            # Not kept in ``_all_conns``: the thread's state owns it, so the connection (and
            # its page cache) goes when the thread ends; a process that starts threads
            # again and again would otherwise keep a connection per thread it ever ran.
            conn = self._connect(track=False)
            conn.execute("PRAGMA data_version").fetchone()  # opens the -shm file
            shm = shm_file(f"{self.path}-shm")
            st = ReadState(conn, *(shm or (None, None)))
            with self._conns_lock:
                self._readers.add(st)
            self._local.st = st
        return st

    def _reader(self) -> sqlite3.Connection:
        return self._read_state().conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._check_fork()
        with self._write_lock:
            if self._writer is None:
                self._writer = self._connect()
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise unavailable(exc, self.busy_timeout) from None
            try:
                yield conn
            except sqlite3.Error as exc:  # e.g. a damaged file: a 503 that says so, not sqlite's
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise store_error(exc, self.path, self.busy_timeout) from None
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                conn.execute("ROLLBACK")
                raise unavailable(exc, self.busy_timeout) from None

    def _init_schema(self) -> str:
        with self._write_lock:
            conn = self._connect()
            try:
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            except sqlite3.OperationalError as exc:
                raise unavailable(exc, self.busy_timeout) from None
            if str(mode).lower() != "wal":
                raise StoreUnavailableError(f"store: {self.path} cannot use WAL mode ({mode})")
            self._writer = conn
        try:
            with self._write() as c:
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        c.execute(stmt)
                c.execute("INSERT OR IGNORE INTO meta VALUES ('store_id', ?)", (uuid.uuid4().hex,))
                c.execute("INSERT OR IGNORE INTO meta VALUES ('schema', '1')")
                row = c.execute("SELECT value FROM meta WHERE key='store_id'").fetchone()
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # a damaged file: say so
            raise store_error(exc, self.path, self.busy_timeout) from None
        store_id: str = row[0]
        return store_id

    # -- Backend -------------------------------------------------------------------------
    @property
    def store_id(self) -> str:
        return self._store_id

    @property
    def default_key_file(self) -> str | None:
        return str(self.path.with_name(self.path.name + ".key"))

    async def aget(self, name: str) -> Record | None:
        """Inline (:attr:`inline_reads`): a WAL read never waits for a lock and costs
        microseconds, far less than a hop to a worker thread."""
        return self.get(name)

    def get(self, name: str) -> Record | None:
        st: ReadState | None = getattr(self._local, "st", None)
        if st is None:  # a new thread, or a forked child (see _forget_reads_after_fork)
            st = self._read_state()
        if st.unchanged():
            rec = st.cache.get(name, _MISSING)
            if rec is not _MISSING:
                return rec  # type: ignore[no-any-return]
        try:
            header = st.header_now()
            dv = st.cursor.execute("PRAGMA data_version").fetchone()[0]
            if dv != st.data_version:
                st.cache.clear()
                st.data_version = dv
            rec = st.cache.get(name, _MISSING)
            if rec is _MISSING:
                row = st.conn.execute(
                    f"SELECT {_COLS} FROM credentials WHERE name=?", (name,)
                ).fetchone()
                rec = _row_to_record(row) if row else None
                st.cache[name] = rec
            # Read before the pragma and the select: if a commit slipped in between, the
            # header differs next time and the pragma path runs again.
            st.header = header
        except sqlite3.Error as exc:
            raise unavailable(exc, self.busy_timeout) from None
        return rec  # type: ignore[no-any-return]

    def list_records(self, *, category: str | None = None, kind: str | None = None) -> list[Record]:
        sql = f"SELECT {_COLS} FROM credentials WHERE 1=1"
        args: list[Any] = []
        if category is not None:
            sql += " AND category=?"
            args.append(category)
        if kind is not None:
            sql += " AND kind=?"
            args.append(kind)
        rows = self._read(lambda c: c.execute(sql + " ORDER BY name", args).fetchall())
        return [_row_to_record(r) for r in rows]

    def _read(self, fn: Any) -> Any:
        try:
            return fn(self._reader())
        except sqlite3.Error as exc:
            raise unavailable(exc, self.busy_timeout) from None

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._write() as conn:
            yield _SQLiteTransaction(conn)

    def attachments(self, name: str) -> list[tuple[str, str]]:
        result: list[tuple[str, str]] = self._read(lambda c: _attachments(c, name))
        return result

    def get_model(self, name: str) -> ModelRow | None:
        result: ModelRow | None = self._read(lambda c: _get_model(c, name))
        return result

    def list_models(self) -> list[ModelRow]:
        rows = self._read(lambda c: c.execute("SELECT * FROM models ORDER BY name").fetchall())
        return [ModelRow.from_params(r) for r in rows]

    def append_audit(self, rows: Sequence[AuditRow]) -> None:
        if rows:
            payload = _audit_payload(rows)  # built before the writer lock is taken
            with self._write() as c:
                _insert_audit(c, rows, payload)

    def append_use_events(self, events: Sequence[UseEvent], pid: int, host: str) -> None:
        """As :meth:`append_audit`, without row objects: events alike but for the time go as
        one statement with their times as a JSON list, the rest as JSON rows (see
        :func:`_event_groups`)."""
        if events:
            rows, groups = _event_groups(events, pid, host)  # before the writer lock is taken
            with self._write() as c:
                if rows is not None:
                    c.execute(_INSERT_EVENTS_JSON, (rows, pid, host))
                if groups:
                    c.executemany(_INSERT_EVENT_GROUP, groups)

    def query_audit(
        self,
        *,
        name: str | None,
        limit: int,
        since: float | None,
        action: str | None,
        resource: str | None,
    ) -> list[AuditRow]:
        sql, args = audit_query(name, limit, since, action, resource, mark="?")
        rows = self._read(lambda c: c.execute(sql, args).fetchall())
        return [AuditRow(*r) for r in rows]

    def prune_audit(self, before: float) -> int:
        with self._write() as c:
            return c.execute("DELETE FROM audit WHERE at<?", (before,)).rowcount

    def close(self) -> None:
        if self._pid != os.getpid():
            return
        self._closed = True
        with self._conns_lock:
            conns, self._all_conns = self._all_conns, []
            conns += [st.conn for st in list(self._readers)]
            self._readers = weakref.WeakSet()
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._writer = None
        self._local = threading.local()


_BACKENDS: weakref.WeakSet[SQLiteBackend] = weakref.WeakSet()


def _forget_reads_after_fork() -> None:
    """In a forked child, every backend's read states are the parent's: drop them, so the
    next read makes its own connection. This hook is why a read need not compare the pid
    with ``os.getpid()``, a system call, on every resolve."""
    for backend in list(_BACKENDS):
        backend._local = threading.local()


if hasattr(os, "register_at_fork"):  # POSIX; elsewhere there is no fork
    os.register_at_fork(after_in_child=_forget_reads_after_fork)
