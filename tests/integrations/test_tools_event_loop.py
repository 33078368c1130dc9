"""The async tool wrapper keeps the event loop running while the store reads and writes.

A real store over a SQLite backend whose reads and writes are made slow (a blocking
``time.sleep``, as a remote database's round trip would be) and whose async reads take the
contract's default route (a worker thread). A ticker task on the same loop measures the
longest gap between its ticks while the tool runs: a store call made on the loop thread shows
up as a gap as long as the delay.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.backends.base import Backend, Record, Transaction
from agentrun_creds_plugin.backends.sqlite import SQLiteBackend
from agentrun_creds_plugin.integrations.tools import requires_credential
from agentrun_creds_plugin.keys import KeyRing
from tests.integrations.conftest import async_test

DELAY = 0.2


class SlowSQLite(SQLiteBackend):
    """SQLite whose reads and writes block for ``DELAY`` seconds once ``slow`` is set."""

    slow = False
    aget = Backend.aget  # the contract's default: the blocking read in a worker thread
    aattachments = Backend.aattachments

    def _pause(self) -> None:
        if self.slow:
            time.sleep(DELAY)

    def get(self, name: str) -> Record | None:
        self._pause()
        return super().get(name)

    def attachments(self, name: str) -> list[tuple[str, str]]:
        self._pause()
        return super().attachments(name)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        self._pause()
        with super().transaction() as tx:
            yield tx


@pytest.fixture
def slow_store(tmp_path: Path, master_key: str) -> Iterator[tuple[acp.CredentialStore, SlowSQLite]]:
    backend = SlowSQLite(tmp_path / "slow.db")
    with acp.CredentialStore(backend, KeyRing([master_key])) as store:
        yield store, backend


async def _longest_gap_while(
    coro_factory: Callable[[], Awaitable[object]],
) -> tuple[float, float, object]:
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)
    start = time.perf_counter()
    result = await coro_factory()
    elapsed = time.perf_counter() - start
    done.set()
    await tick
    return max(gaps), elapsed, result


@async_test
async def test_async_tool_attaches_and_checks_off_the_event_loop(
    slow_store: tuple[acp.CredentialStore, SlowSQLite],
) -> None:
    store, backend = slow_store

    # Declared before the credential exists: the attachment is written at the first call.
    @requires_credential(store, "weather-key", into="http")
    async def weather(city: str, http: httpx2.AsyncClient) -> str:
        return f"{city}: {type(http).__name__}"

    store.create("weather-key", acp.ToolApiKeyCredential(api_key="k-123", param="X-Api-Key"))
    backend.slow = True
    gap, elapsed, result = await _longest_gap_while(lambda: weather("Paris"))
    backend.slow = False

    assert result == "Paris: AsyncClient"
    assert ("tool", "weather") in store.attachments("weather-key")
    # The attach write and the metadata read each waited DELAY...
    assert elapsed >= 2 * DELAY
    # ...and the loop kept ticking all along.
    assert gap < DELAY / 2, f"event loop blocked for {gap:.3f}s"


@async_test
async def test_async_tool_with_injected_credential_resolves_off_the_loop(
    slow_store: tuple[acp.CredentialStore, SlowSQLite],
) -> None:
    store, backend = slow_store
    store.create("weather-key", acp.ToolApiKeyCredential(api_key="k-123", param="X-Api-Key"))

    @requires_credential(store, "weather-key")
    async def weather(city: str, credential: acp.ToolApiKeyCredential) -> str:
        return f"{city}: {len(credential.api_key.get_secret_value())}"

    backend.slow = True
    gap, elapsed, result = await _longest_gap_while(lambda: weather("Oslo"))
    backend.slow = False
    assert result == "Oslo: 5"
    assert elapsed >= DELAY  # the resolve did wait on the slow read
    assert gap < DELAY / 2, f"event loop blocked for {gap:.3f}s"
