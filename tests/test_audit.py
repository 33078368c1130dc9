"""The batched use-event writer: off the hot path, nothing lost when a write fails."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from agentrun_creds_plugin.audit import AuditQueue
from agentrun_creds_plugin.backends.base import AuditRow


def test_events_are_written_in_batches_by_the_background_thread() -> None:
    batches: list[list[AuditRow]] = []
    written = threading.Event()

    def write(rows: Sequence[AuditRow]) -> None:
        batches.append(list(rows))
        written.set()

    queue = AuditQueue(write, interval=0.05)
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

    queue = AuditQueue(flaky, interval=1.0)
    queue.put("used", "a", None, None)
    queue.put("use_failed", "b", None, "disabled")
    with pytest.raises(OSError):
        queue.flush()
    queue.flush()
    assert [(r.name, r.reason) for r in kept] == [("a", None), ("b", "disabled")]
    queue.close()


def test_flush_interval_is_at_most_one_second_and_close_writes_the_rest() -> None:
    kept: list[AuditRow] = []
    queue = AuditQueue(kept.extend, interval=30.0)
    assert queue._interval == 1.0
    start = time.monotonic()
    queue.put("used", "a", None, None)
    queue.close()
    assert [r.name for r in kept] == ["a"] and time.monotonic() - start < 2.5
