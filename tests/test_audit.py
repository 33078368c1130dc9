"""The batched use-event writer: off the hot path, nothing lost when a write fails."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from agentrun_creds_plugin.audit import AuditQueue
from agentrun_creds_plugin.backends.base import AuditRow, UseEvent, use_event_row


def rows_to(sink: Any) -> Any:
    """The queue writes ``(events, pid, host)``; these tests look at the rows they make."""

    def write(events: Sequence[UseEvent], pid: int, host: str) -> None:
        sink([use_event_row(event, pid, host) for event in events])

    return write


def test_events_are_written_in_batches_by_the_background_thread() -> None:
    batches: list[list[AuditRow]] = []
    written = threading.Event()

    def write(rows: Sequence[AuditRow]) -> None:
        batches.append(list(rows))
        written.set()

    queue = AuditQueue(rows_to(write), interval=0.05)
    for i in range(100):
        queue.put("used", f"k{i}", "tool:t", None)
    assert written.wait(2)
    queue.close()
    rows = [r for b in batches for r in b]
    assert [r.name for r in rows] == [f"k{i}" for i in range(100)]
    assert len(batches) < 100  # batched, not one write per event
    assert all(r.action == "used" and r.resource == "tool:t" and r.pid > 0 for r in rows)


def test_a_failed_write_keeps_the_events_for_the_next_round() -> None:
    calls: list[int] = []
    kept: list[AuditRow] = []

    def flaky(rows: Sequence[AuditRow]) -> None:
        calls.append(len(rows))
        if len(calls) == 1:
            raise OSError("store briefly unavailable")
        kept.extend(rows)

    queue = AuditQueue(rows_to(flaky), interval=1.0)
    queue.put("used", "a", None, None)
    queue.put("use_failed", "b", None, "disabled")
    with pytest.raises(OSError):
        queue.flush()
    queue.flush()
    assert [(r.name, r.reason) for r in kept] == [("a", None), ("b", "disabled")]
    queue.close()


def test_flush_interval_is_at_most_one_second_and_close_writes_the_rest() -> None:
    kept: list[AuditRow] = []
    queue = AuditQueue(rows_to(kept.extend), interval=30.0)
    assert queue._interval == 1.0
    start = time.monotonic()
    queue.put("used", "a", None, None)
    queue.close()
    assert [r.name for r in kept] == ["a"] and time.monotonic() - start < 2.5


def test_the_queue_is_bounded_and_a_queuing_thread_writes_when_it_is_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Resolvers outpacing the writer thread used to grow the queue without bound (800,000
    events in 10 s under tests/test_load.py). Past the bound a queuing thread writes a batch
    itself; no event is lost and the order is kept."""
    import agentrun_creds_plugin.audit as audit

    monkeypatch.setattr(audit, "MAX_QUEUED", 500)
    monkeypatch.setattr(audit, "HELP_ROWS", 100)
    kept: list[AuditRow] = []
    queue = AuditQueue(rows_to(kept.extend), interval=1.0)
    peak = 0
    for i in range(5000):
        queue.put("used", f"k{i}", None, None)
        peak = max(peak, len(queue._events))
    assert peak <= 501
    queue.close()
    assert [r.name for r in kept] == [f"k{i}" for i in range(5000)]


def test_an_async_caller_is_held_back_without_blocking_its_event_loop(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import asyncio

    import agentrun_creds_plugin as acp
    import agentrun_creds_plugin.audit as audit

    monkeypatch.setattr(audit, "MAX_QUEUED", 300)
    monkeypatch.setattr(audit, "HELP_ROWS", 100)
    key = acp.generate_master_key()
    with acp.CredentialStore.open(f"sqlite:///{tmp_path / 'c.db'}", master_key=key) as store:
        store.create("k", acp.ToolApiKeyCredential(api_key="v"))
        ticks = 0

        async def main() -> int:
            nonlocal ticks

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0)

            task = asyncio.create_task(ticker())
            peak = 0
            for _ in range(3000):
                await store.aresolve("k")
                peak = max(peak, len(store._audit._events))
            task.cancel()
            return peak

        assert asyncio.run(main()) <= 301
        assert ticks > 0  # the loop kept running other tasks
        store.flush_audit()
        assert len(store.audit("k", action="used", limit=10_000)) == 3000
