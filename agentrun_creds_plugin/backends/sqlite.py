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
import json
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
from .base import AuditRow, Backend, ModelRow, Record, Transaction, UseEvent, audit_query

__all__ = ["SQLiteBackend", "parse_sqlite_url"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS credentials(
    name TEXT PRIMARY KEY, category TEXT NOT NULL, kind TEXT NOT NULL,
    enabled INTEGER NOT NULL, description TEXT NOT NULL, version INTEGER NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, expires_at REAL,
    preview TEXT NOT NULL, secret BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS attachments(
    name TEXT NOT NULL, resource_type TEXT NOT NULL, resource_name TEXT NOT NULL,
    created_at REAL NOT NULL, PRIMARY KEY(name, resource_type, resource_name));
CREATE TABLE IF NOT EXISTS models(
    name TEXT PRIMARY KEY, credential TEXT NOT NULL, model TEXT NOT NULL, base_url TEXT,
    params TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS audit(
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, action TEXT NOT NULL,
    name TEXT, resource TEXT, reason TEXT, pid INTEGER NOT NULL, host TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
CREATE INDEX IF NOT EXISTS audit_name_at ON audit(name, at);
"""
_COLS = (
    "name, category, kind, enabled, description, version, created_at, updated_at, "
    "expires_at, preview, secret"
)
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


def _row_to_record(row: tuple[Any, ...]) -> Record:
    return Record(
        row[0],
        row[1],
        row[2],
        bool(row[3]),
        row[4],
        row[5],
        row[6],
        row[7],
        row[8],
        row[9],
        bytes(row[10]),
    )


def _record_params(r: Record) -> tuple[Any, ...]:
    return (
        r.name,
        r.category,
        r.kind,
        int(r.enabled),
        r.description,
        r.version,
        r.created_at,
        r.updated_at,
        r.expires_at,
        r.preview,
        r.blob,
    )


class _SQLiteTransaction(Transaction):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def get(self, name: str) -> Record | None:
        row = self._c.execute(f"SELECT {_COLS} FROM credentials WHERE name=?", (name,)).fetchone()
        return _row_to_record(row) if row else None

    def insert(self, record: Record) -> bool:
        cur = self._c.execute(
            f"INSERT OR IGNORE INTO credentials({_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            _record_params(record),
        )
        return cur.rowcount == 1

    def replace(self, record: Record) -> None:
        self._c.execute(
            "UPDATE credentials SET category=?, kind=?, enabled=?, description=?, version=?, "
            "created_at=?, updated_at=?, expires_at=?, preview=?, secret=? WHERE name=?",
            (*_record_params(record)[1:], record.name),
        )

    def delete(self, name: str) -> None:
        self._c.execute("DELETE FROM credentials WHERE name=?", (name,))
        self._c.execute("DELETE FROM attachments WHERE name=?", (name,))

    def all_records(self) -> list[Record]:
        rows = self._c.execute(f"SELECT {_COLS} FROM credentials ORDER BY name").fetchall()
        return [_row_to_record(r) for r in rows]

    def attachments(self, name: str) -> list[tuple[str, str]]:
        return _attachments(self._c, name)

    def attach(self, name: str, resource_type: str, resource_name: str, at: float) -> bool:
        cur = self._c.execute(
            "INSERT OR IGNORE INTO attachments VALUES (?,?,?,?)",
            (name, resource_type, resource_name, at),
        )
        return cur.rowcount == 1

    def detach(self, name: str, resource_type: str, resource_name: str) -> bool:
        cur = self._c.execute(
            "DELETE FROM attachments WHERE name=? AND resource_type=? AND resource_name=?",
            (name, resource_type, resource_name),
        )
        return cur.rowcount == 1

    def get_model(self, name: str) -> ModelRow | None:
        return _get_model(self._c, name)

    def insert_model(self, row: ModelRow) -> bool:
        cur = self._c.execute(
            "INSERT OR IGNORE INTO models VALUES (?,?,?,?,?,?)",
            (
                row.name,
                row.credential,
                row.model,
                row.base_url,
                json.dumps(row.params),
                row.created_at,
            ),
        )
        return cur.rowcount == 1

    def delete_model(self, name: str) -> None:
        self._c.execute("DELETE FROM models WHERE name=?", (name,))

    def audit(self, row: AuditRow) -> None:
        _insert_audit(self._c, [row])

    def master_key_id(self) -> bytes | None:
        # Read under the writer lock (BEGIN IMMEDIATE): no rotation can switch it meanwhile.
        row = self._c.execute("SELECT value FROM meta WHERE key='master_key_id'").fetchone()
        return bytes.fromhex(row[0]) if row and row[0] else None

    def set_master_key_id(self, key_id: bytes) -> None:
        self._c.execute("INSERT OR REPLACE INTO meta VALUES ('master_key_id', ?)", (key_id.hex(),))


def _attachments(c: sqlite3.Connection, name: str) -> list[tuple[str, str]]:
    rows = c.execute(
        "SELECT resource_type, resource_name FROM attachments WHERE name=? "
        "ORDER BY resource_type, resource_name",
        (name,),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def _model_from_row(r: tuple[Any, ...]) -> ModelRow:
    return ModelRow(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5])


def _get_model(c: sqlite3.Connection, name: str) -> ModelRow | None:
    r = c.execute("SELECT * FROM models WHERE name=?", (name,)).fetchone()
    return _model_from_row(r) if r else None


_INSERT_AUDIT_JSON = (
    "INSERT INTO audit(at, action, name, resource, reason, pid, host) "
    "SELECT " + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(7)) + " FROM json_each(?)"
)


_INSERT_EVENTS_JSON = (
    "INSERT INTO audit(at, action, name, resource, reason, pid, host) "
    "SELECT json_extract(value, '$[0]') / 1e6, "
    + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(1, 5))
    + ", ?2, ?3 FROM json_each(?1)"
)


def _audit_payload(rows: Sequence[AuditRow]) -> str:
    """A batch as one JSON array: inserted by one statement that runs in SQLite's C code
    with the GIL released, so a busy process does not stretch the write transaction."""
    return json.dumps(rows)  # each row a JSON array in column order (a named tuple)


def _insert_audit(
    c: sqlite3.Connection, rows: Sequence[AuditRow], payload: str | None = None
) -> None:
    c.execute(_INSERT_AUDIT_JSON, (payload or _audit_payload(rows),))


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
        return [_model_from_row(r) for r in rows]

    def append_audit(self, rows: Sequence[AuditRow]) -> None:
        if rows:
            payload = _audit_payload(rows)  # built before the writer lock is taken
            with self._write() as c:
                _insert_audit(c, rows, payload)

    def append_use_events(self, events: Sequence[UseEvent], pid: int, host: str) -> None:
        """As :meth:`append_audit`, with the pid and host bound once: the events go as they
        were queued (no row objects) and SQLite extracts five values per row, not seven,
        about a third less of the writer thread's time per event."""
        if events:
            payload = json.dumps(events)  # built before the writer lock is taken
            with self._write() as c:
                c.execute(_INSERT_EVENTS_JSON, (payload, pid, host))

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
