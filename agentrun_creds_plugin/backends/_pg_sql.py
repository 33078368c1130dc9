"""The PostgreSQL backend's schema migrations and its statements, sync and async.

Row locks make read-check-write sequences safe: :meth:`PgTransaction.get` reads with
``FOR UPDATE``, so two transactions that both read a credential before writing it run one after
the other (compare-and-swap loses no update), and attachments reference their credential with
``ON DELETE CASCADE``, so no attachment can outlive a deleted credential. Triggers ``NOTIFY``
the store's channel on every change, which is what keeps other processes' caches honest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from .base import AsyncTransaction, AuditRow, ModelRow, Record, Transaction

__all__ = [
    "COLS",
    "MIGRATIONS",
    "PgAsyncTransaction",
    "PgTransaction",
    "row_to_record",
]

#: Schema versions in order; version N is ``MIGRATIONS[N-1]``. Append, never edit.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE credentials(
        name TEXT PRIMARY KEY, category TEXT NOT NULL, kind TEXT NOT NULL,
        enabled BOOLEAN NOT NULL, description TEXT NOT NULL, version INTEGER NOT NULL,
        created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION, preview TEXT NOT NULL, secret BYTEA NOT NULL);
    CREATE TABLE attachments(
        name TEXT NOT NULL REFERENCES credentials(name) ON DELETE CASCADE,
        resource_type TEXT NOT NULL, resource_name TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY(name, resource_type, resource_name));
    CREATE TABLE models(
        name TEXT PRIMARY KEY, credential TEXT NOT NULL, model TEXT NOT NULL, base_url TEXT,
        params TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL);
    CREATE TABLE audit(
        id BIGSERIAL PRIMARY KEY, at DOUBLE PRECISION NOT NULL, action TEXT NOT NULL,
        name TEXT, resource TEXT, reason TEXT, pid INTEGER NOT NULL, host TEXT NOT NULL);
    CREATE INDEX audit_at ON audit(at);
    CREATE INDEX audit_name_at ON audit(name, at);
    CREATE FUNCTION agentrun_creds_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('{channel}', TG_TABLE_NAME || ':' ||
            CASE WHEN TG_OP = 'DELETE' THEN OLD.name ELSE NEW.name END);
        RETURN NULL;
    END $$;
    CREATE TRIGGER credentials_notify AFTER INSERT OR UPDATE OR DELETE ON credentials
        FOR EACH ROW EXECUTE FUNCTION agentrun_creds_notify();
    CREATE TRIGGER attachments_notify AFTER INSERT OR UPDATE OR DELETE ON attachments
        FOR EACH ROW EXECUTE FUNCTION agentrun_creds_notify();
    CREATE TRIGGER models_notify AFTER INSERT OR UPDATE OR DELETE ON models
        FOR EACH ROW EXECUTE FUNCTION agentrun_creds_notify();
    """,
)

COLS = (
    "name, category, kind, enabled, description, version, created_at, updated_at, "
    "expires_at, preview, secret"
)
_GET = f"SELECT {COLS} FROM credentials WHERE name=%s FOR UPDATE"
_INSERT = (
    f"INSERT INTO credentials({COLS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
    "ON CONFLICT DO NOTHING"
)
_REPLACE = (
    "UPDATE credentials SET category=%s, kind=%s, enabled=%s, description=%s, version=%s, "
    "created_at=%s, updated_at=%s, expires_at=%s, preview=%s, secret=%s WHERE name=%s"
)
_ALL = f"SELECT {COLS} FROM credentials ORDER BY name"
_ATTACHMENTS = (
    "SELECT resource_type, resource_name FROM attachments WHERE name=%s "
    "ORDER BY resource_type, resource_name"
)
_ATTACH = "INSERT INTO attachments VALUES (%s,%s,%s,%s) ON CONFLICT DO NOTHING"
_DETACH = "DELETE FROM attachments WHERE name=%s AND resource_type=%s AND resource_name=%s"
_GET_MODEL = "SELECT * FROM models WHERE name=%s"
_INSERT_MODEL = "INSERT INTO models VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING"
_AUDIT = (
    "INSERT INTO audit(at, action, name, resource, reason, pid, host) VALUES (%s,%s,%s,%s,%s,%s,%s)"
)
# FOR SHARE: a rotation's UPDATE of the row waits for every write transaction that read it, and
# a write that reads it after that UPDATE waits for the rotation's commit and sees the new id.
# The row always exists (made on open), or there would be nothing to lock.
_KEY_ID = "SELECT value FROM meta WHERE key='master_key_id' FOR SHARE"
# The table lock queues new writers behind the rotation (row share locks alone would let a
# stream of overlapping writers starve it) and waits for the writers already in flight.
_LOCK_META = "LOCK TABLE meta IN EXCLUSIVE MODE"
_SET_KEY_ID = (
    "INSERT INTO meta VALUES ('master_key_id', %s) "
    "ON CONFLICT (key) DO UPDATE SET value=EXCLUDED.value"
)


def row_to_record(row: Sequence[Any]) -> Record:
    return Record(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9],
        bytes(row[10]),
    )  # fmt: skip


def _params(r: Record) -> tuple[Any, ...]:
    return (
        r.name, r.category, r.kind, r.enabled, r.description, r.version, r.created_at,
        r.updated_at, r.expires_at, r.preview, r.blob,
    )  # fmt: skip


def _key_id(row: Sequence[Any] | None) -> bytes | None:
    return bytes.fromhex(row[0]) if row and row[0] else None


def _audit_params(r: AuditRow) -> tuple[Any, ...]:
    return (r.at, r.action, r.name, r.resource, r.reason, r.pid, r.host)


class PgTransaction(Transaction):
    """Statements on one pooled connection inside ``conn.transaction()``."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._c = conn

    def get(self, name: str) -> Record | None:
        row = self._c.execute(_GET, (name,)).fetchone()
        return row_to_record(row) if row else None

    def insert(self, record: Record) -> bool:
        return self._c.execute(_INSERT, _params(record)).rowcount == 1

    def replace(self, record: Record) -> None:
        self._c.execute(_REPLACE, (*_params(record)[1:], record.name))

    def delete(self, name: str) -> None:
        self._c.execute("DELETE FROM credentials WHERE name=%s", (name,))  # cascades

    def all_records(self) -> list[Record]:
        return [row_to_record(r) for r in self._c.execute(_ALL).fetchall()]

    def attachments(self, name: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self._c.execute(_ATTACHMENTS, (name,)).fetchall()]

    def attach(self, name: str, resource_type: str, resource_name: str, at: float) -> bool:
        return self._c.execute(_ATTACH, (name, resource_type, resource_name, at)).rowcount == 1

    def detach(self, name: str, resource_type: str, resource_name: str) -> bool:
        return self._c.execute(_DETACH, (name, resource_type, resource_name)).rowcount == 1

    def get_model(self, name: str) -> ModelRow | None:
        r = self._c.execute(_GET_MODEL, (name,)).fetchone()
        return ModelRow.from_params(r) if r else None

    def insert_model(self, row: ModelRow) -> bool:
        return self._c.execute(_INSERT_MODEL, row.as_params()).rowcount == 1

    def delete_model(self, name: str) -> None:
        self._c.execute("DELETE FROM models WHERE name=%s", (name,))

    def audit(self, row: AuditRow) -> None:
        self._c.execute(_AUDIT, _audit_params(row))

    def master_key_id(self) -> bytes | None:
        return _key_id(self._c.execute(_KEY_ID).fetchone())

    def set_master_key_id(self, key_id: bytes) -> None:
        self._c.execute(_LOCK_META)
        self._c.execute(_SET_KEY_ID, (key_id.hex(),))

    def audit_many(self, rows: Sequence[AuditRow]) -> None:
        with self._c.cursor() as cur:
            cur.executemany(_AUDIT, [_audit_params(r) for r in rows])


class PgAsyncTransaction(AsyncTransaction):
    """:class:`PgTransaction` on a native :class:`psycopg.AsyncConnection`."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._c = conn

    async def _one(self, sql: str, args: Sequence[Any]) -> Any:
        cur = await self._c.execute(sql, args)
        return await cur.fetchone()

    async def _count(self, sql: str, args: Sequence[Any]) -> int:
        return (await self._c.execute(sql, args)).rowcount

    async def get(self, name: str) -> Record | None:
        row = await self._one(_GET, (name,))
        return row_to_record(row) if row else None

    async def insert(self, record: Record) -> bool:
        return await self._count(_INSERT, _params(record)) == 1

    async def replace(self, record: Record) -> None:
        await self._c.execute(_REPLACE, (*_params(record)[1:], record.name))

    async def delete(self, name: str) -> None:
        await self._c.execute("DELETE FROM credentials WHERE name=%s", (name,))

    async def all_records(self) -> list[Record]:
        cur = await self._c.execute(_ALL)
        return [row_to_record(r) for r in await cur.fetchall()]

    async def attachments(self, name: str) -> list[tuple[str, str]]:
        cur = await self._c.execute(_ATTACHMENTS, (name,))
        return [(r[0], r[1]) for r in await cur.fetchall()]

    async def attach(self, name: str, resource_type: str, resource_name: str, at: float) -> bool:
        return await self._count(_ATTACH, (name, resource_type, resource_name, at)) == 1

    async def detach(self, name: str, resource_type: str, resource_name: str) -> bool:
        return await self._count(_DETACH, (name, resource_type, resource_name)) == 1

    async def get_model(self, name: str) -> ModelRow | None:
        r = await self._one(_GET_MODEL, (name,))
        return ModelRow.from_params(r) if r else None

    async def insert_model(self, row: ModelRow) -> bool:
        return await self._count(_INSERT_MODEL, row.as_params()) == 1

    async def delete_model(self, name: str) -> None:
        await self._c.execute("DELETE FROM models WHERE name=%s", (name,))

    async def audit(self, row: AuditRow) -> None:
        await self._c.execute(_AUDIT, _audit_params(row))

    async def master_key_id(self) -> bytes | None:
        return _key_id(await self._one(_KEY_ID, ()))

    async def set_master_key_id(self, key_id: bytes) -> None:
        await self._c.execute(_LOCK_META)
        await self._c.execute(_SET_KEY_ID, (key_id.hex(),))

    async def audit_many(self, rows: Sequence[AuditRow]) -> None:
        async with self._c.cursor() as cur:
            await cur.executemany(_AUDIT, [_audit_params(r) for r in rows])
