"""Write flows: one statement of each write, driven sync or async, rolled back on refusal."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.backends.sqlite import SQLiteBackend
from agentrun_creds_plugin.flows import Flow, arun, run
from agentrun_creds_plugin.testing.conformance import record


def _insert_then_refuse(name: str) -> Flow[None]:
    assert (yield "insert", (record(name),))
    yield "get", (name,)
    raise acp.InvalidCredentialError("refused after the insert")


def _insert(name: str) -> Flow[str]:
    ok = yield "insert", (record(name),)
    got = yield "get", (name,)
    return f"{ok}:{got.name}"


@pytest.fixture
def backend(tmp_path: Path) -> SQLiteBackend:
    b = SQLiteBackend(tmp_path / "f.db")
    yield b  # type: ignore[misc]
    b.close()


def test_sync_flow_returns_its_value(backend: SQLiteBackend) -> None:
    assert run(backend, _insert("a")) == "True:a"
    assert backend.get("a") is not None


def test_refusal_rolls_back_everything_the_flow_did(backend: SQLiteBackend) -> None:
    with pytest.raises(acp.InvalidCredentialError):
        run(backend, _insert_then_refuse("b"))
    assert backend.get("b") is None


def test_async_flow_runs_off_the_loop(backend: SQLiteBackend) -> None:
    """While another connection holds the write lock, the loop keeps ticking."""
    import sqlite3

    blocker = sqlite3.connect(backend.path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, blocker.rollback)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def main() -> str:
        t = asyncio.create_task(ticker())
        start = time.monotonic()
        release.start()
        result = await arun(backend, _insert("c"))
        assert time.monotonic() - start >= 0.25
        t.cancel()
        return result

    assert asyncio.run(main()) == "True:c"
    assert ticks >= 10
    blocker.close()
