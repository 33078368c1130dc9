"""The change check of the SQLite backend: has any connection committed since I last looked?

The pragma costs a few microseconds, more when the CPU caches are cold (as right after an SDK
call), which measurably showed in model calls, so a read first looks at the WAL-index header in
the ``-shm`` file: it is what SQLite itself compares to decide whether the database changed
(its format is documented in "WAL-mode File Format", section 2.1), and SQLite's writers update
its two copies in order, so "both copies equal, and equal to what I saw when I filled the
cache" means no commit since. Anything else (a change, a half-written header, a short read)
takes the pragma path. Two POSIX facts shape how the header is read:

- Closing *any* descriptor of a file drops every lock the process holds on it, SQLite's
  included (which would let another process reset the file under live connections). So a
  descriptor of the ``-shm`` file is opened once per file and closed only after SQLite has
  unlinked that file, which it does only when no connection anywhere uses it.
- SQLite unlinks the ``-shm`` file on the last close and a later open makes a new one, so the
  descriptor is checked against the path's inode whenever a thread opens its read connection;
  while that connection is open, no one can unlink or truncate the file.

The header is read through a read-only ``mmap`` of the file's first bytes, made once per file
beside that descriptor: a read is a memory copy, not a system call (on a small VM the two
system calls a request used to make, ``pread`` and ``getpid``, cost more than the rest of the
check). A mapping faults if the file shrinks under it; SQLite maps the same file itself and
never shrinks it while a connection has it open, and ours is read only while the reading
thread's connection is open. Where a file cannot be mapped, ``os.pread`` is used instead.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import sqlite3
import threading
from typing import Any

_HDR = 48  # one copy of the WAL-index header; SQLite keeps two, back to back
_SHM_FDS: dict[str, tuple[int, int, mmap.mmap | None]] = {}  # path -> (fd, inode, view)
_SHM_LOCK = threading.Lock()


def shm_file(path: str) -> tuple[int, mmap.mmap | None] | None:
    """The descriptor of the ``-shm`` file at ``path`` and a read-only mapping of its
    headers (``None`` where the file cannot be mapped), or ``None`` if it cannot be opened.
    Call it only while a connection of this process has that file open."""
    try:
        inode = os.stat(path).st_ino
    except OSError:
        return None
    with _SHM_LOCK:
        known = _SHM_FDS.get(path)
        if known is not None and known[1] == inode:
            return known[0], known[2]
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return None  # e.g. an unusual filesystem: every read asks the pragma
        stat = os.fstat(fd)
        if stat.st_ino != inode:
            os.close(fd)
            return None  # cannot happen while our connection holds the file; stay safe
        view = _map(fd, stat.st_size)
        if known is not None:
            # The old file was unlinked, so no connection anywhere holds locks on it. Its
            # mapping is left to the collector: a reader of that file, if any, still has it.
            os.close(known[0])
        _SHM_FDS[path] = (fd, inode, view)
        return fd, view


def _map(fd: int, size: int) -> mmap.mmap | None:
    if size < 2 * _HDR:
        return None  # not initialised yet (SQLite sizes it in 32 KiB regions): use pread
    try:
        return mmap.mmap(fd, 2 * _HDR, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None


class ReadState:
    """One thread's read connection, its row cache and what it last saw of the database."""

    __slots__ = (
        "__weakref__",
        "cache",
        "conn",
        "cursor",
        "data_version",
        "header",
        "pid",
        "shm",
        "view",
    )

    def __init__(
        self, conn: sqlite3.Connection, shm: int | None, view: mmap.mmap | None = None
    ) -> None:
        self.conn = conn
        self.cursor = conn.cursor()  # reused by the pragma: one object less per read
        self.shm = shm
        self.view = view
        self.header = b""
        self.cache: dict[str, Any] = {}
        self.data_version = -1
        self.pid = os.getpid()

    def __del__(self) -> None:
        # The thread that owned this state ended (or the store let it go): close the
        # connection now. Left to itself it would wait for the cyclic garbage collector (a
        # connection and its statement cache refer to each other), holding its descriptors
        # and page cache. Never in a forked child: the connection is the parent's.
        if self.pid == os.getpid():
            with contextlib.suppress(Exception):
                self.conn.close()

    def header_now(self) -> bytes:
        """The header as it stands, or b"" (never equal to a real one) while a writer is
        half-way through updating it or the file cannot be read."""
        if self.view is not None:
            both = self.view[: 2 * _HDR]
        elif self.shm is None:
            return b""
        else:
            try:
                both = os.pread(self.shm, 2 * _HDR, 0)
            except OSError:
                return b""
        first = both[:_HDR]
        return first if len(both) == 2 * _HDR and first == both[_HDR:] else b""

    def unchanged(self) -> bool:
        """True when the WAL-index header shows no commit since the cache was checked.

        :meth:`header_now`'s test, inlined: it runs on every resolve.
        """
        view = self.view
        if view is not None:
            return view[:_HDR] == self.header == view[_HDR : 2 * _HDR]
        if self.shm is None:
            return False
        try:
            both = os.pread(self.shm, 2 * _HDR, 0)
        except OSError:
            return False
        return len(both) == 2 * _HDR and both[:_HDR] == self.header == both[_HDR:]
