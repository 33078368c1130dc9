"""The SQLite backend's schema and statements: rows to records and back, the write
transaction's statements, and the audit batch inserts.

A batch of audit rows (or of use events) goes to SQLite as one JSON text, inserted by one
statement that runs in SQLite's C code with the GIL released, so a busy process does not
stretch the write transaction (``executemany`` gives the GIL back and waits for it again on
every row).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from .base import AuditRow, ModelRow, Record, Transaction, UseEvent

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
        cur = self._c.execute("INSERT OR IGNORE INTO models VALUES (?,?,?,?,?,?)", row.as_params())
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


def _get_model(c: sqlite3.Connection, name: str) -> ModelRow | None:
    r = c.execute("SELECT * FROM models WHERE name=?", (name,)).fetchone()
    return ModelRow.from_params(r) if r else None


_INSERT_AUDIT_JSON = (
    "INSERT INTO audit(at, action, name, resource, reason, pid, host) "
    "SELECT " + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(7)) + " FROM json_each(?)"
)


#: Use events as rows of five JSON values (time in whole microseconds, action, name,
#: resource, reason); the pid and host bound once.
_INSERT_EVENTS_JSON = (
    "INSERT INTO audit(at, action, name, resource, reason, pid, host) "
    "SELECT json_extract(value, '$[0]') / 1e6, "
    + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(1, 5))
    + ", ?2, ?3 FROM json_each(?1)"
)

#: One group of use events that differ only in time: ?1 is a JSON list of the times in whole
#: microseconds, the other values are bound once for the group.
_INSERT_EVENT_GROUP = (
    "INSERT INTO audit(at, action, name, resource, reason, pid, host) "
    "SELECT value / 1e6, ?2, ?3, ?4, ?5, ?6, ?7 FROM json_each(?1)"
)

#: Events a group needs to be written as one: a statement costs about as much as 2.5 events
#: saved by grouping.
GROUP_MIN = 4

GroupParams = tuple[str, str, str | None, str | None, str | None, int, str]


def _event_groups(
    events: Sequence[UseEvent], pid: int, host: str
) -> tuple[str | None, list[GroupParams]]:
    """A batch as statement parameters: the JSON rows of the events in small groups (or
    ``None``), and one :data:`_INSERT_EVENT_GROUP` parameter set per group of at least
    :data:`GROUP_MIN` events alike but for the time.

    A batch is mostly one credential, route and outcome over and over. Counted with
    cachegrind (the whole write, per event): 12.0k instructions for such a batch, against
    25.6k when every event was a row of five JSON values; 21.7k where a third of the events
    each have a route of their own. A statement per group would cost 59k per event where
    every event differs, so small groups stay rows: 31.5k there (27k as before), the price
    of looking for groups. Events in one microsecond may so be listed in either order.
    """
    groups: dict[tuple[str, str | None, str | None, str | None], list[UseEvent]] = {}
    for event in events:
        key = event[1:]
        alike = groups.get(key)
        if alike is None:
            alike = groups[key] = []
        alike.append(event)
    rows: list[UseEvent] = []
    grouped: list[GroupParams] = []
    for key, alike in groups.items():
        if len(alike) >= GROUP_MIN:
            grouped.append((json.dumps([event[0] for event in alike]), *key, pid, host))
        else:
            rows += alike
    return (json.dumps(rows) if rows else None), grouped


def _audit_payload(rows: Sequence[AuditRow]) -> str:
    """A batch as one JSON array: inserted by one statement that runs in SQLite's C code
    with the GIL released, so a busy process does not stretch the write transaction."""
    return json.dumps(rows)  # each row a JSON array in column order (a named tuple)


def _insert_audit(
    c: sqlite3.Connection, rows: Sequence[AuditRow], payload: str | None = None
) -> None:
    c.execute(_INSERT_AUDIT_JSON, (payload or _audit_payload(rows),))
