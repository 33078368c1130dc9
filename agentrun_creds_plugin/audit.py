"""The use-event queue: audit every resolve without slowing it.

``resolve`` appends a tuple to a deque (thread-safe, no lock, no I/O); a daemon thread writes
the queue in one transaction every ``interval`` seconds (at most one second), and ``flush`` or
``close`` write what is left. After ``fork`` the child drops the parent's queued events (the
parent writes them) and starts its own thread on first use.

The queue is bounded without losing an event: when many threads resolve flat out, the writer
thread gets too small a share of the GIL to keep up (8 threads at about 70,000 resolves/s
queued about 800,000 events, 60 MiB, in 10 s). Past :data:`MAX_QUEUED` events a thread that
queues one writes a batch itself before it returns (back-pressure: resolves slow down to the
rate the audit trail is written at). A caller on an event loop never writes inline (that would
block the loop): ``aresolve`` awaits :meth:`AuditQueue.make_room`, a batch written in a worker
thread.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence

from ._threads import to_thread
from .backends.base import UseEvent

__all__ = ["BATCH_ROWS", "HOST", "MAX_QUEUED", "AuditQueue"]

#: Events written per transaction (a few milliseconds of the writer lock at most).
BATCH_ROWS = 2000
#: Queued events past which a queuing thread writes a batch itself (about 10 MiB of events).
MAX_QUEUED = 100_000
#: Events a queuing thread writes in one transaction when over the bound: larger than a
#: routine batch, so one commit (one fsync) carries more of the backlog.
HELP_ROWS = 5 * BATCH_ROWS

log = logging.getLogger("agentrun_creds_plugin.audit")


def _host() -> str:
    """This machine's name, as ``socket.gethostname()`` says, without importing socket."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket  # pragma: no cover - Windows

    return socket.gethostname()  # pragma: no cover


HOST = _host()
_QUEUES: weakref.WeakSet[AuditQueue] = weakref.WeakSet()


class AuditQueue:
    """A batched writer of ``used`` / ``use_failed`` events.

    ``write(events, pid, host)`` writes one batch in one transaction (a backend's
    ``append_use_events``).
    """

    def __init__(
        self,
        write: Callable[[Sequence[UseEvent], int, str], None],
        *,
        interval: float = 0.5,
        prune: Callable[[], None] | None = None,
        prune_every: float = 3600.0,
    ) -> None:
        self._write = write
        self._interval = max(0.01, min(interval, 1.0))
        self._prune = prune
        self._prune_every = prune_every
        self._last_prune: float | None = None
        self._events: deque[UseEvent] = deque()
        self._wake = threading.Event()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._closed = False
        _QUEUES.add(self)

    def put(self, action: str, name: str | None, resource: str | None, reason: str | None) -> None:
        self._events.append((time.time_ns() // 1000, action, name, resource, reason))
        if self._thread is None:
            self._start()
        if len(self._events) > MAX_QUEUED:
            self._help()

    def _help(self) -> None:
        """Over the bound: write one batch from this thread, unless it runs an event loop."""
        import asyncio  # here, not at import: a cold start does not load asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._write_batch()

    @property
    def backlogged(self) -> bool:
        """More than :data:`MAX_QUEUED` events wait: async callers should :meth:`make_room`."""
        return len(self._events) > MAX_QUEUED

    async def make_room(self) -> None:
        """An async caller's back-pressure: write a batch in a worker thread, awaited."""
        await to_thread(self._write_batch)

    def _write_batch(self) -> None:
        if self._pid != os.getpid():
            return
        with self._flush_lock:
            if len(self._events) <= MAX_QUEUED:
                return  # another thread wrote meanwhile
            batch = [self._events.popleft() for _ in range(HELP_ROWS)]
            try:
                self._write(batch, self._pid, HOST)
            except Exception:
                self._events.extendleft(reversed(batch))  # the writer thread retries

    def _start(self) -> None:
        if self._pid != os.getpid():
            self._after_fork()
        with self._flush_lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._run, name="agentrun-creds-audit", daemon=True
                )
                self._thread.start()

    def _after_fork(self) -> None:
        self._pid = os.getpid()
        self._events = deque()
        self._thread = None
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the store may be briefly unavailable; retry next round
                log.warning("audit: could not write queued use events; will retry", exc_info=False)

    def flush(self) -> None:
        """Write every queued event now (events queued meanwhile wait for the next round)."""
        if self._pid != os.getpid():
            self._after_fork()
        with self._flush_lock:
            # Only what is queued now, in short transactions: a busy process must neither hold
            # the store's writer lock for long nor keep a flush chasing new events forever.
            pending = len(self._events)
            pid = os.getpid()
            while pending > 0:
                batch = [self._events.popleft() for _ in range(min(pending, BATCH_ROWS))]
                pending -= len(batch)
                try:
                    self._write(batch, pid, HOST)
                except Exception:
                    self._events.extendleft(reversed(batch))
                    raise
            due = (
                self._last_prune is None or time.monotonic() - self._last_prune > self._prune_every
            )
            if self._prune is not None and due:
                self._last_prune = time.monotonic()
                self._prune()

    def close(self) -> None:
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self._wake.set()
            thread = self._thread
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=2)


def _flush_all_at_exit() -> None:
    for queue in list(_QUEUES):
        try:
            queue.close()
        except Exception:  # noqa: S112 - the interpreter is exiting; nothing to tell
            continue


atexit.register(_flush_all_at_exit)


def _reset_after_fork() -> None:
    for queue in list(_QUEUES):
        queue._after_fork()


if hasattr(os, "register_at_fork"):  # POSIX; elsewhere there is no fork
    os.register_at_fork(after_in_child=_reset_after_fork)
