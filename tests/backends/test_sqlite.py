"""The SQLite backend runs the conformance suite, plus SQLite-only behaviour."""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.backends.sqlite import SQLiteBackend, parse_sqlite_url
from agentrun_creds_plugin.testing.conformance import BackendConformance, record


class TestSQLiteConformance(BackendConformance):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[SQLiteBackend]:
        b = SQLiteBackend(tmp_path / "c.db")
        yield b
        b.close()

    @pytest.fixture
    def second(self, backend: SQLiteBackend) -> Iterator[SQLiteBackend]:
        b = SQLiteBackend(backend.path)
        yield b
        b.close()


def test_url_convention() -> None:
    assert parse_sqlite_url("sqlite:///rel/c.db") == Path("rel/c.db")
    assert parse_sqlite_url("sqlite:////abs/c.db") == Path("/abs/c.db")
    with pytest.raises(acp.StoreUnavailableError, match="in-memory"):
        parse_sqlite_url("sqlite:///:memory:")
    with pytest.raises(acp.StoreUnavailableError, match="sqlite:///"):
        parse_sqlite_url("sqlite://c.db")


def test_wal_mode(tmp_path: Path) -> None:
    b = SQLiteBackend(tmp_path / "c.db")
    with sqlite3.connect(tmp_path / "c.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    b.close()


def test_held_writer_lock_becomes_store_unavailable(tmp_path: Path) -> None:
    b = SQLiteBackend(tmp_path / "c.db", busy_timeout=0.3)
    blocker = sqlite3.connect(tmp_path / "c.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    start = time.monotonic()
    with pytest.raises(acp.StoreUnavailableError) as info, b.transaction() as tx:
        tx.insert(record("a"))
    assert time.monotonic() - start >= 0.25  # it waited for the lock first
    assert info.value.status_code == 503
    assert "locked" not in str(info.value).replace("lock was held", "")
    blocker.execute("ROLLBACK")
    with b.transaction() as tx:  # usable once the lock is free
        assert tx.insert(record("a"))
    b.close()


def test_writer_waits_for_a_briefly_held_lock(tmp_path: Path) -> None:
    b = SQLiteBackend(tmp_path / "c.db", busy_timeout=5)
    blocker = sqlite3.connect(tmp_path / "c.db", isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, lambda: blocker.execute("COMMIT")).start()
    with b.transaction() as tx:
        assert tx.insert(record("a"))
    assert b.get("a") is not None
    b.close()


def test_closed_backend_refuses(tmp_path: Path) -> None:
    b = SQLiteBackend(tmp_path / "c.db")
    b.close()
    with pytest.raises(acp.StoreUnavailableError, match="closed"):
        b.get("a")


def test_unwritable_folder_is_store_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(acp.StoreUnavailableError, match="cannot create the folder"):
        SQLiteBackend(blocker / "sub" / "c.db")


def test_wal_index_fast_path_is_used_and_trips_on_every_commit(tmp_path: Path) -> None:
    reader = SQLiteBackend(tmp_path / "c.db")
    writer = SQLiteBackend(tmp_path / "c.db")
    with writer.transaction() as tx:
        tx.insert(record("a"))
    assert reader.get("a") is not None
    state = reader._read_state()
    assert state.shm is not None  # the header is readable here, so reads skip the pragma
    assert state.view is not None  # ... through a mapping: no system call per read
    assert state.unchanged()
    for version in range(2, 12):
        with writer.transaction() as tx:
            tx.replace(record("a", version=version))
        assert not state.unchanged()  # any commit by another connection is visible
        got = reader.get("a")
        assert got is not None and got.version == version
        assert state.unchanged()
    reader.close()
    writer.close()


def test_header_read_without_a_mapping_still_trips_on_every_commit(tmp_path: Path) -> None:
    """Where the -shm file cannot be mapped, the header is read with pread: same answers."""
    reader = SQLiteBackend(tmp_path / "c.db")
    writer = SQLiteBackend(tmp_path / "c.db")
    with writer.transaction() as tx:
        tx.insert(record("a"))
    assert reader.get("a") is not None
    state = reader._read_state()
    state.view = None
    state.header = state.header_now()
    assert state.header and state.unchanged()
    with writer.transaction() as tx:
        tx.replace(record("a", version=2))
    assert not state.unchanged()
    got = reader.get("a")
    assert got is not None and got.version == 2 and state.unchanged()
    reader.close()
    writer.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_a_forked_child_reads_through_its_own_connection(tmp_path: Path) -> None:
    """Reads do not ask for the pid; a fork hook drops the parent's read state in the child,
    whose next read opens its own connection and still sees commits made after the fork."""
    backend = SQLiteBackend(tmp_path / "c.db")
    with backend.transaction() as tx:
        tx.insert(record("a"))
    assert backend.get("a") is not None
    parent = backend._read_state()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            other = SQLiteBackend(tmp_path / "c.db")
            with other.transaction() as tx:
                tx.replace(record("a", version=7))
            got = backend.get("a")
            state = backend._read_state()
            fresh = got is not None and got.version == 7
            own = state is not parent and state.conn is not parent.conn
            os.write(write_fd, b"ok" if fresh and own and state.pid == os.getpid() else b"no")
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    _, status = os.waitpid(pid, 0)
    assert os.read(read_fd, 2) == b"ok" and os.waitstatus_to_exitcode(status) == 0
    os.close(read_fd)
    assert backend._read_state() is parent  # the parent's state is untouched
    got = backend.get("a")
    assert got is not None and got.version == 7
    backend.close()


def test_fast_path_follows_the_shm_file_sqlite_recreates(tmp_path: Path) -> None:
    """The last close unlinks the -shm file and the next open makes a new one: a reader
    opened afterwards in the same process must read the new file, not the old descriptor."""
    first = SQLiteBackend(tmp_path / "c.db")
    with first.transaction() as tx:
        tx.insert(record("a"))
    assert first.get("a") is not None
    first.close()  # the last connection: SQLite removes the -shm file
    reader = SQLiteBackend(tmp_path / "c.db")
    writer = SQLiteBackend(tmp_path / "c.db")
    got = reader.get("a")
    assert got is not None and got.version == 1
    for version in (2, 3, 4):
        with writer.transaction() as tx:
            tx.replace(record("a", version=version))
        got = reader.get("a")
        assert got is not None and got.version == version
    reader.close()
    writer.close()


_DMS_PROBE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 128)  # SQLite's DMS byte in -shm
    print("free")
except OSError:
    print("held")
"""


def _dms_lock(shm: Path) -> str:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _DMS_PROBE, str(shm)], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX locks")
def test_reading_the_wal_index_keeps_sqlites_locks(tmp_path: Path) -> None:
    """Closing any descriptor of a file drops the process's POSIX locks on it; the fast path
    must never do that, or another process may reset the -shm file under SQLite."""
    import os

    backend = SQLiteBackend(tmp_path / "c.db")
    with backend.transaction() as tx:
        tx.insert(record("a"))
    for _ in range(3):
        assert backend.get("a") is not None
    shm = tmp_path / "c.db-shm"
    assert _dms_lock(shm) == "held"
    fd = os.open(shm, os.O_RDONLY)  # what a careless open/close would do...
    os.close(fd)
    assert _dms_lock(shm) == "free"  # ...the pitfall this test guards against is real
    backend.close()


def test_a_thread_s_read_connection_goes_when_the_thread_ends(tmp_path: Path) -> None:
    """Each thread reads through its own connection; one of every thread ever started used to
    stay open (with its page cache) until the store closed, so a process that starts threads
    again and again grew without bound."""
    import os

    backend = SQLiteBackend(tmp_path / "c.db")

    def round_of_threads() -> int:
        threads = [threading.Thread(target=backend.get, args=("x",)) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sum(  # this store's descriptors only: other tests' threads may open files
            1
            for fd in os.listdir("/proc/self/fd")
            if os.path.realpath(f"/proc/self/fd/{fd}").startswith(str(tmp_path.resolve()))
        )

    try:
        backend.get("warm")
        after_first = round_of_threads()  # SQLite may keep a few descriptors for reuse
        for _ in range(10):
            after_more = round_of_threads()
        # Bounded (SQLite keeps a few for reuse, and a thread's state may go a moment after
        # join), not 2 per thread ever started: that was 200 more here.
        assert after_more - after_first < 20, (after_first, after_more)
        assert len(backend._readers) <= 1  # this thread's
        assert backend.get("x") is None
    finally:
        backend.close()
