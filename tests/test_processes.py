"""Freshness, concurrency and fork safety across real processes (docs/contract.md, "Freshness")."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import agentrun_creds_plugin as acp

CTX = multiprocessing.get_context("spawn")


def _in_other_process(url: str, key: str, code: str) -> None:
    """Run ``code`` with ``s`` bound to the store, in a fresh interpreter."""
    script = (
        "import agentrun_creds_plugin as acp\n"
        f"s = acp.CredentialStore.open({url!r}, master_key={key!r})\n"
        f"{code}\n"
        "s.close()\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


def test_next_resolve_sees_another_process_change(
    store: acp.CredentialStore, store_url: str, master_key: str
) -> None:
    store.create("k", acp.ToolApiKeyCredential(api_key="v1"))
    assert store.resolve("k").api_key.get_secret_value() == "v1"  # type: ignore[attr-defined]
    _in_other_process(
        store_url, master_key, "s.update('k', acp.ToolApiKeyCredential(api_key='v2'))"
    )
    assert store.resolve("k").api_key.get_secret_value() == "v2"  # type: ignore[attr-defined]
    _in_other_process(store_url, master_key, "s.disable('k')")
    with pytest.raises(acp.CredentialDisabledError):
        store.resolve("k")
    _in_other_process(store_url, master_key, "s.enable('k')")
    assert store.resolve("k").api_key.get_secret_value() == "v2"  # type: ignore[attr-defined]
    _in_other_process(store_url, master_key, "s.delete('k')")
    with pytest.raises(acp.CredentialNotFoundError):
        store.resolve("k")


def _cas_worker(url: str, key: str, n: int, out: multiprocessing.Queue[tuple[int, int]]) -> None:
    s = acp.CredentialStore.open(url, master_key=key)
    wins = conflicts = 0
    while wins < n:
        info = s.get("counter")
        count = int(info.description)
        try:
            s.update("counter", description=str(count + 1), expected_version=info.version)
            wins += 1
        except acp.VersionConflictError:
            conflicts += 1
    s.close()
    out.put((wins, conflicts))


@pytest.mark.slow
def test_concurrent_compare_and_swap_loses_no_update(
    store: acp.CredentialStore, store_url: str, master_key: str
) -> None:
    store.create("counter", acp.ToolApiKeyCredential(api_key="x"), description="0")
    out: multiprocessing.Queue[tuple[int, int]] = CTX.Queue()
    procs = [
        CTX.Process(target=_cas_worker, args=(store_url, master_key, 25, out)) for _ in range(4)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0  # no "database is locked" or any other error
    info = store.get("counter")
    assert info.description == "100"
    assert info.version == 101
    assert sum(w for w, _ in results) == 100


def _rotator(url: str, key: str, rounds: int) -> None:
    s = acp.CredentialStore.open(url, master_key=key)
    for i in range(rounds):
        s.update("k", acp.CustomHeadersCredential(headers={"X-A": f"a{i}", "X-B": f"b{i}"}))
    s.close()


@pytest.mark.slow
def test_threads_resolving_while_another_process_writes(
    store: acp.CredentialStore, store_url: str, master_key: str
) -> None:
    store.create("k", acp.CustomHeadersCredential(headers={"X-A": "a-init", "X-B": "b-init"}))
    writer = CTX.Process(target=_rotator, args=(store_url, master_key, 150))
    torn: list[tuple[str, str]] = []
    seen: set[str] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            cred = store.resolve("k")
            assert isinstance(cred, acp.CustomHeadersCredential)
            a = cred.headers["X-A"].get_secret_value()
            b = cred.headers["X-B"].get_secret_value()
            seen.add(a)
            if a[1:] != b[1:]:
                torn.append((a, b))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    writer.start()
    writer.join(120)
    stop.set()
    for t in threads:
        t.join(30)
    assert writer.exitcode == 0
    assert torn == []
    assert len(seen) > 2  # the readers really saw the values change
    final = store.resolve("k")
    assert final.headers["X-A"].get_secret_value() == "a149"  # type: ignore[attr-defined]


def test_two_processes_opening_a_fresh_default_store_share_one_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    script = (
        "import sys, agentrun_creds_plugin as acp\n"
        f"s = acp.CredentialStore.open({url!r})\n"
        "try:\n"
        "    s.create(sys.argv[1], acp.ToolApiKeyCredential(api_key='v-' + sys.argv[1]))\n"
        "finally:\n"
        "    s.close()\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, f"p{i}"]) for i in range(4)]
    assert [p.wait(60) for p in procs] == [0, 0, 0, 0]
    with acp.CredentialStore.open(url) as s:
        assert [s.resolve(f"p{i}").api_key.get_secret_value() for i in range(4)] == [  # type: ignore[attr-defined]
            f"v-p{i}" for i in range(4)
        ]
    assert len((tmp_path / "fresh.db.key").read_text().split()) == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_store_is_fork_safe(store: acp.CredentialStore, store_url: str, master_key: str) -> None:
    store.create("k", acp.ToolApiKeyCredential(api_key="parent"))
    assert store.resolve("k").api_key.get_secret_value() == "parent"  # type: ignore[attr-defined]
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child uses the parent's store object
        code = 1
        try:
            value = store.resolve("k").api_key.get_secret_value()  # type: ignore[attr-defined]
            store.update("k", acp.ToolApiKeyCredential(api_key="child"))
            store.resolve("k", resource="child")
            store.flush_audit()
            code = 0 if value == "parent" else 2
            os.write(write_fd, b"ok")
        finally:
            os._exit(code)
    os.close(write_fd)
    _, status = os.waitpid(pid, 0)
    assert os.read(read_fd, 2) == b"ok" and os.waitstatus_to_exitcode(status) == 0
    os.close(read_fd)
    assert store.resolve("k").api_key.get_secret_value() == "child"  # type: ignore[attr-defined]
    events = store.audit("k", action="used")
    assert [e.resource for e in events].count("child") == 1  # written once, by the child
    assert len([e for e in events if e.pid == pid]) == 2
    assert len([e for e in events if e.pid == os.getpid()]) == 2  # the parent's, not duplicated


def test_resolve_from_many_threads(store: acp.CredentialStore) -> None:
    store.create("k", acp.ToolApiKeyCredential(api_key="shared"))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(200):
                assert store.resolve("k").api_key.get_secret_value() == "shared"  # type: ignore[attr-defined]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and len(store.audit("k", action="used", limit=5000)) < 1600:
        time.sleep(0.05)
    assert len(store.audit("k", action="used", limit=5000)) == 1600


def test_fresh_after_close_and_reopen_in_the_same_process(store_url: str, master_key: str) -> None:
    """The last close removes SQLite's -shm file; a reopened store must still see every
    change another process makes (nothing may cling to the old file)."""
    with acp.CredentialStore.open(store_url, master_key=master_key) as s:
        s.create("k", acp.ToolApiKeyCredential(api_key="v1"))
        assert s.resolve("k").api_key.get_secret_value() == "v1"  # type: ignore[attr-defined]
    with acp.CredentialStore.open(store_url, master_key=master_key) as s:
        assert s.resolve("k").api_key.get_secret_value() == "v1"  # type: ignore[attr-defined]
        for value in ("v2", "v3"):
            _in_other_process(
                store_url, master_key, f"s.update('k', acp.ToolApiKeyCredential(api_key={value!r}))"
            )
            assert s.resolve("k").api_key.get_secret_value() == value  # type: ignore[attr-defined]
