"""PostgreSQL: one store shared by agents on many machines (the ``[postgres]`` extra).

Freshness is ``"notified"`` (see :mod:`._pg_cache`): ``get`` serves rows from a cache that a
``LISTEN`` thread invalidates when triggers in the database ``NOTIFY`` a change; a commit made
through any handle of this process on the same database empties the caches of all of them at
once, so the writing process sees its own change immediately. While the listener is down or
reconnecting, every read goes to the database.

Connections come from :mod:`psycopg_pool` pools (a sync pool, and an async pool per event loop
for the native async twins). Settings ride on the URL's query string: libpq's own
(``sslmode``, ``connect_timeout``, ``application_name``...) pass through, and ``pool_min`` /
``pool_max`` size the pools. Every connection failure becomes ``StoreUnavailableError`` (503)
naming the host and port, never the password, within ``connect_timeout`` (default 5 s).

The schema is created on open inside one transaction holding an advisory lock, and versioned
by the ``schema_version`` table, so processes opening a fresh database at once end with one
schema and later versions can migrate it in place.
"""

from __future__ import annotations

import asyncio
import os
import threading
import urllib.parse
import uuid
import weakref
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import psycopg
import psycopg_pool

from ..errors import StoreUnavailableError
from ..settings import Settings
from ._pg_cache import CHANNEL, MISSING, Listener, RowCache
from ._pg_sql import (
    COLS,
    MIGRATIONS,
    PgAsyncTransaction,
    PgTransaction,
    row_to_record,
)
from .base import AsyncTransaction, AuditRow, Backend, ModelRow, Record, Transaction, audit_query

__all__ = ["LISTENER_NAME", "PostgresBackend", "parse_postgres_url"]

_OWN_PARAMS = ("pool_min", "pool_max")
#: ``application_name`` of the listener's connection, so operators can tell it apart.
LISTENER_NAME = "agentrun-creds-listener"
_SCHEMA_LOCK = 0x61677263  # "agrc": the advisory lock key that serializes schema creation
# Handles of this process per database: a commit through one empties all their caches.
_PEERS: dict[tuple[str, str, str], weakref.WeakSet[PostgresBackend]] = {}
_PEERS_LOCK = threading.Lock()


def parse_postgres_url(url: str) -> tuple[str, dict[str, Any], str]:
    """``(conninfo, options, safe_url)``: libpq's url, our own options, the url sans password."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("postgresql", "postgres"):
        raise StoreUnavailableError(
            "store url: a PostgreSQL url looks like postgresql://user@host/db"
        )
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    own = {k: v for k, v in query if k in _OWN_PARAMS}
    rest = [(k, v) for k, v in query if k not in _OWN_PARAMS]
    opts: dict[str, Any] = {"connect_timeout": 5.0, "pool_min": 1, "pool_max": 10}
    try:
        for k, v in query:
            if k == "connect_timeout":
                opts[k] = float(v)
        for k, v in own.items():
            opts[k] = int(v)
    except ValueError:
        raise StoreUnavailableError(
            "store url: connect_timeout, pool_min and pool_max must be numbers, "
            "e.g. postgresql://host/db?connect_timeout=5&pool_max=10"
        ) from None
    if opts["pool_max"] < 1 or opts["pool_min"] > opts["pool_max"]:
        raise StoreUnavailableError("store url: need 1 <= pool_max and pool_min <= pool_max")
    given = {k for k, _ in rest}
    if "connect_timeout" not in given:
        rest.append(("connect_timeout", str(max(1, round(opts["connect_timeout"])))))
    # A server that vanishes without closing the socket (a cut network) is noticed too.
    timeout_ms = str(max(1000, round(opts["connect_timeout"] * 1000)))
    for k, v in (("keepalives_idle", "5"), ("keepalives_interval", "2"),
                 ("keepalives_count", "2"), ("tcp_user_timeout", timeout_ms)):  # fmt: skip
        if k not in given:
            rest.append((k, v))
    conninfo = urllib.parse.urlunsplit(
        ("postgresql", parts.netloc, parts.path, urllib.parse.urlencode(rest), "")
    )
    host = parts.hostname or "localhost"
    netloc = (f"{parts.username}@" if parts.username else "") + host
    if parts.port:
        netloc += f":{parts.port}"
    opts["where"] = f"{host}:{parts.port or 5432}"
    opts["password"] = parts.password
    opts["db"] = parts.path.lstrip("/") or (parts.username or "")
    return conninfo, opts, urllib.parse.urlunsplit(("postgresql", netloc, parts.path, "", ""))


class PostgresBackend(Backend):
    """One PostgreSQL database; see the module docstring for pooling and freshness."""

    freshness = "notified"
    native_async = True

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> PostgresBackend:
        return cls(url)

    def __init__(self, url: str) -> None:
        self._conninfo, opts, self.url = parse_postgres_url(url)
        self._where: str = opts["where"]
        self._password: str | None = opts["password"]
        self.connect_timeout: float = opts["connect_timeout"]
        self._pool_min: int = opts["pool_min"]
        self._pool_max: int = opts["pool_max"]
        self._key = (self._where, opts["db"], str(urllib.parse.urlsplit(url).username))
        self._cache = RowCache()
        self._closed = False
        self._apools: dict[int, tuple[asyncio.AbstractEventLoop, Any, Any]] = {}
        self._store_id = self._init_schema()
        self._start()
        with _PEERS_LOCK:
            _PEERS.setdefault(self._key, weakref.WeakSet()).add(self)

    def __repr__(self) -> str:
        return f"PostgresBackend({self.url!r})"

    # -- connections ---------------------------------------------------------------------
    def _start(self) -> None:
        self._pid = os.getpid()
        self._pool: psycopg_pool.ConnectionPool[Any] = psycopg_pool.ConnectionPool(
            self._conninfo,
            min_size=self._pool_min,
            max_size=self._pool_max,
            kwargs={"autocommit": True},
            timeout=self.connect_timeout,
            check=psycopg_pool.ConnectionPool.check_connection,
            reconnect_timeout=3600,
            open=False,
        )
        try:
            self._pool.open(wait=True, timeout=self.connect_timeout)
        except psycopg_pool.PoolTimeout:
            self._pool.close()
            raise self._unavailable(None) from None
        self._apools = {}
        self._listener = Listener(self._direct, self._cache, self._where)
        self._listener.wait_trusted(self.connect_timeout)

    def _direct(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self._conninfo, autocommit=True, application_name=LISTENER_NAME)

    def _unavailable(self, exc: BaseException | None) -> StoreUnavailableError:
        reason = "no connection within the timeout" if exc is None else _first_line(exc)
        if self._password:
            reason = reason.replace(self._password, "***")
        return StoreUnavailableError(
            f"store: PostgreSQL at {self._where} is unavailable ({reason}); check that the "
            f"server is running and reachable (waited at most {self.connect_timeout:g} s)"
        )

    def _check(self) -> None:
        if self._closed:
            raise StoreUnavailableError("store is closed; open it again")
        if self._pid != os.getpid():  # forked: the parent's pools and thread are not ours
            self._cache = RowCache()
            self._start()

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        self._check()
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg_pool.PoolTimeout:
            raise self._unavailable(None) from None
        except psycopg.OperationalError as exc:
            raise self._unavailable(exc) from None

    async def _apool(self) -> psycopg_pool.AsyncConnectionPool[Any]:
        self._check()
        loop = asyncio.get_running_loop()
        found = self._apools.get(id(loop))
        if found is not None and found[0] is loop:
            return found[1]  # type: ignore[no-any-return]
        pool: psycopg_pool.AsyncConnectionPool[Any] = psycopg_pool.AsyncConnectionPool(
            self._conninfo,
            min_size=1,
            max_size=self._pool_max,
            kwargs={"autocommit": True},
            timeout=self.connect_timeout,
            check=psycopg_pool.AsyncConnectionPool.check_connection,
            reconnect_timeout=3600,
            open=False,
        )
        await pool.open(wait=False)
        guard = loop.create_task(_close_with_loop(pool), name="agentrun-creds-pool-guard")
        self._apools[id(loop)] = (loop, pool, guard)  # a task is only weakly held by its loop
        return pool

    @asynccontextmanager
    async def _aconn(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        pool = await self._apool()
        try:
            async with pool.connection() as conn:
                yield conn
        except psycopg_pool.PoolTimeout:
            raise self._unavailable(None) from None
        except psycopg.OperationalError as exc:
            raise self._unavailable(exc) from None

    def _init_schema(self) -> str:
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True)
        except psycopg.OperationalError as exc:
            raise self._unavailable(exc) from None
        try:
            with conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                conn.execute("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)")
                row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
                current = (row[0] if row else None) or 0
                for version, sql in enumerate(MIGRATIONS, start=1):
                    if version > current:
                        conn.execute(sql.replace("{channel}", CHANNEL))
                        conn.execute("INSERT INTO schema_version VALUES (%s)", (version,))
                conn.execute(
                    "INSERT INTO meta VALUES ('store_id', %s) ON CONFLICT DO NOTHING",
                    (uuid.uuid4().hex,),
                )
                # '' until the first rotation; it must exist for writers to lock it
                conn.execute("INSERT INTO meta VALUES ('master_key_id', '') ON CONFLICT DO NOTHING")
                found = conn.execute("SELECT value FROM meta WHERE key='store_id'").fetchone()
        except psycopg.OperationalError as exc:
            raise self._unavailable(exc) from None
        assert found is not None
        return str(found[0])

    def _committed(self) -> None:
        """After this process committed a change: every handle on this database forgets."""
        with _PEERS_LOCK:
            peers = list(_PEERS.get(self._key, ()))
        for peer in peers or [self]:
            peer._cache.invalidate()

    # -- Backend -------------------------------------------------------------------------
    @property
    def store_id(self) -> str:
        return self._store_id

    @property
    def listener_healthy(self) -> bool:
        """True while the cache is trusted (the ``LISTEN`` connection is up)."""
        return self._cache.trusted

    def get(self, name: str) -> Record | None:
        self._check()
        hit = self._cache.lookup(name)
        if hit is not MISSING:
            return hit  # type: ignore[no-any-return]
        generation = self._cache.generation
        with self._conn() as conn:
            row = conn.execute(f"SELECT {COLS} FROM credentials WHERE name=%s", (name,)).fetchone()
        rec = row_to_record(row) if row else None
        self._cache.store(name, rec, generation)
        return rec

    async def aget(self, name: str) -> Record | None:
        self._check()
        hit = self._cache.lookup(name)
        if hit is not MISSING:
            return hit  # type: ignore[no-any-return]
        generation = self._cache.generation
        async with self._aconn() as conn:
            cur = await conn.execute(f"SELECT {COLS} FROM credentials WHERE name=%s", (name,))
            row = await cur.fetchone()
        rec = row_to_record(row) if row else None
        self._cache.store(name, rec, generation)
        return rec

    @staticmethod
    def _list_sql(category: str | None, kind: str | None) -> tuple[str, list[Any]]:
        sql = f"SELECT {COLS} FROM credentials WHERE true"
        args: list[Any] = []
        if category is not None:
            sql += " AND category=%s"
            args.append(category)
        if kind is not None:
            sql += " AND kind=%s"
            args.append(kind)
        return sql + " ORDER BY name", args

    def list_records(self, *, category: str | None = None, kind: str | None = None) -> list[Record]:
        sql, args = self._list_sql(category, kind)
        with self._conn() as conn:
            return [row_to_record(r) for r in conn.execute(sql, args).fetchall()]

    async def alist_records(
        self, *, category: str | None = None, kind: str | None = None
    ) -> list[Record]:
        sql, args = self._list_sql(category, kind)
        async with self._aconn() as conn:
            cur = await conn.execute(sql, args)
            return [row_to_record(r) for r in await cur.fetchall()]

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        try:
            with self._conn() as conn, conn.transaction():
                yield PgTransaction(conn)
        finally:
            self._committed()

    @asynccontextmanager
    async def atransaction(self) -> AsyncIterator[AsyncTransaction]:
        try:
            async with self._aconn() as conn, conn.transaction():
                yield PgAsyncTransaction(conn)
        finally:
            self._committed()

    def attachments(self, name: str) -> list[tuple[str, str]]:
        with self._conn() as conn:
            return PgTransaction(conn).attachments(name)

    async def aattachments(self, name: str) -> list[tuple[str, str]]:
        async with self._aconn() as conn:
            return await PgAsyncTransaction(conn).attachments(name)

    def get_model(self, name: str) -> ModelRow | None:
        with self._conn() as conn:
            return PgTransaction(conn).get_model(name)

    async def aget_model(self, name: str) -> ModelRow | None:
        async with self._aconn() as conn:
            return await PgAsyncTransaction(conn).get_model(name)

    def list_models(self) -> list[ModelRow]:
        with self._conn() as conn:
            rows = conn.execute("SELECT * FROM models ORDER BY name").fetchall()
        return [ModelRow.from_params(r) for r in rows]

    async def alist_models(self) -> list[ModelRow]:
        async with self._aconn() as conn:
            cur = await conn.execute("SELECT * FROM models ORDER BY name")
            return [ModelRow.from_params(r) for r in await cur.fetchall()]

    def append_audit(self, rows: Sequence[AuditRow]) -> None:
        if rows:
            with self._conn() as conn, conn.transaction():
                PgTransaction(conn).audit_many(rows)

    async def aappend_audit(self, rows: Sequence[AuditRow]) -> None:
        if rows:
            async with self._aconn() as conn, conn.transaction():
                await PgAsyncTransaction(conn).audit_many(rows)

    def query_audit(
        self,
        *,
        name: str | None,
        limit: int,
        since: float | None,
        action: str | None,
        resource: str | None,
    ) -> list[AuditRow]:
        sql, args = audit_query(name, limit, since, action, resource, mark="%s")
        with self._conn() as conn:
            return [AuditRow(*r) for r in conn.execute(sql, args).fetchall()]

    async def aquery_audit(
        self,
        *,
        name: str | None,
        limit: int,
        since: float | None,
        action: str | None,
        resource: str | None,
    ) -> list[AuditRow]:
        sql, args = audit_query(name, limit, since, action, resource, mark="%s")
        async with self._aconn() as conn:
            cur = await conn.execute(sql, args)
            return [AuditRow(*r) for r in await cur.fetchall()]

    def prune_audit(self, before: float) -> int:
        with self._conn() as conn:
            return conn.execute("DELETE FROM audit WHERE at<%s", (before,)).rowcount

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._pid != os.getpid():
            return
        self._listener.stop()
        self._cache.distrust()
        self._pool.close(timeout=2)
        for loop, pool, _guard in list(self._apools.values()):
            if not loop.is_closed():
                try:
                    running = asyncio.get_running_loop()
                except RuntimeError:
                    running = None
                if running is not loop and not loop.is_running():
                    loop.run_until_complete(pool.close())
        self._apools = {}

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        found = self._apools.pop(id(loop), None)
        if found is not None and found[0] is loop:
            await found[1].close()
            found[2].cancel()
        await asyncio.to_thread(self.close)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


async def _close_with_loop(pool: psycopg_pool.AsyncConnectionPool[Any]) -> None:
    """Close ``pool`` when its event loop shuts down.

    ``asyncio.run`` ends by cancelling every task of its loop and waiting for them. A
    psycopg_pool worker that is opening a connection at that moment (the pool opens them in
    the background) takes the cancellation for a failed connection attempt, logs "error
    connecting" and waits for its next job, so the program hangs at exit (psycopg_pool 3.3;
    seen under load in ``asyncio.run(store.acreate(...))``). This task waits for as long as
    the loop runs; cancelled with the others, it closes the pool, which sends each worker
    the message that ends it.
    """
    try:
        await asyncio.Event().wait()
    finally:
        await pool.close(timeout=2)
