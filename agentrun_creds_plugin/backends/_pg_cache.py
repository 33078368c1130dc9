"""The PostgreSQL backend's row cache and the ``LISTEN`` thread that keeps it honest.

The cache holds :class:`~.base.Record` rows (ciphertext and metadata, never plaintext) and is
trusted only while the listener is healthy: a dedicated connection that has run ``LISTEN`` on
the store's channel. Triggers in the database ``NOTIFY`` that channel on every change to a
credential, attachment or model, whoever makes it, so a healthy listener hears of every commit.

Two races are closed with a generation counter, bumped on every invalidation:

- a read that fetched a row while a change to it committed stores it only if no invalidation
  happened in between, so a late notification can never be overwritten by the older row;
- when the listener loses its connection it marks itself unhealthy and empties the cache
  first; after it reconnects and has run ``LISTEN`` again, it empties the cache once more and
  only then is trusted, so a change committed during the outage is read from the database.

A heartbeat query every few seconds notices a dead connection that the socket did not report.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

from .base import Record

__all__ = ["CHANNEL", "Listener", "RowCache"]

log = logging.getLogger(__name__)

#: The notification channel; one per database (one database is one store).
CHANNEL = "agentrun_creds_changes"
_MISSING: Any = object()


class RowCache:
    """``name -> Record | None``; served only while :attr:`trusted`."""

    def __init__(self) -> None:
        self._rows: dict[str, Record | None] = {}
        self._lock = threading.Lock()
        self.generation = 0
        self.trusted = False

    def lookup(self, name: str) -> Any:
        """The cached row (maybe None), or ``MISSING`` when the database must be asked."""
        if not self.trusted:
            return _MISSING
        return self._rows.get(name, _MISSING)

    def store(self, name: str, row: Record | None, generation: int) -> None:
        """Keep ``row`` read when the generation was ``generation``, unless it moved since."""
        with self._lock:
            if self.trusted and self.generation == generation:
                self._rows[name] = row

    def invalidate(self, name: str | None = None) -> None:
        with self._lock:
            self.generation += 1
            if name is None:
                self._rows.clear()
            else:
                self._rows.pop(name, None)

    def distrust(self) -> None:
        with self._lock:
            self.trusted = False
            self.generation += 1
            self._rows.clear()

    def trust(self) -> None:
        with self._lock:
            self.generation += 1
            self._rows.clear()
            self.trusted = True


MISSING = _MISSING


class Listener:
    """A daemon thread running ``LISTEN`` and feeding invalidations to a :class:`RowCache`."""

    heartbeat = 2.0

    def __init__(
        self, connect: Callable[[], psycopg.Connection[Any]], cache: RowCache, label: str
    ) -> None:
        self._connect = connect
        self._cache = cache
        self._stop = threading.Event()
        self.pid = os.getpid()
        self.reconnects = 0
        self._thread = threading.Thread(target=self._run, name=f"pg-listen {label}", daemon=True)
        self._thread.start()

    def wait_trusted(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self._cache.trusted:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def _run(self) -> None:
        delay = 0.05
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._cache.trust()
                    delay = 0.05
                    self._serve(conn)
            except psycopg.Error as exc:
                log.debug("store change listener lost its connection: %s", type(exc).__name__)
            self._cache.distrust()
            if not self._stop.is_set():
                self.reconnects += 1
                self._stop.wait(delay)
                delay = min(delay * 2, 1.0)

    def _serve(self, conn: psycopg.Connection[Any]) -> None:
        beat = time.monotonic() + self.heartbeat
        while not self._stop.is_set():
            for note in conn.notifies(timeout=0.2):
                table, _, name = note.payload.partition(":")
                self._cache.invalidate(name if table == "credentials" else None)
            if time.monotonic() >= beat:
                conn.execute("SELECT 1")
                beat = time.monotonic() + self.heartbeat

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread() and self.pid == os.getpid():
            self._thread.join(timeout=2)
