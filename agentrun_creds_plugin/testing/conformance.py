"""One conformance suite every backend runs (as keyring ships one for its backends).

A backend's test module subclasses :class:`BackendConformance` and provides two fixtures:
``backend`` (a fresh, empty store) and ``second`` (another handle on the *same* store, as
another process would have), so freshness is tested across connections.
"""

from __future__ import annotations

import threading
import time

import pytest

from agentrun_creds_plugin.backends.base import (
    AuditRow,
    Backend,
    ModelRow,
    Record,
    UseEvent,
    use_event_row,
)


def record(
    name: str,
    *,
    version: int = 1,
    kind: str = "tool_api_key",
    enabled: bool = True,
    blob: bytes = b"\x01cipher",
) -> Record:
    now = time.time()
    category = "service" if kind in ("api_key", "jwt", "basic") else "third_party"
    return Record(name, category, kind, enabled, "d", version, now, now, None, "****", blob)


class BackendConformance:
    """Behaviour every backend must show."""

    def test_store_id_is_stable_and_shared(self, backend: Backend, second: Backend) -> None:
        assert backend.store_id and backend.store_id == second.store_id

    def test_insert_get_and_duplicate(self, backend: Backend) -> None:
        with backend.transaction() as tx:
            assert tx.insert(record("a"))
            assert not tx.insert(record("a", blob=b"other"))
        got = backend.get("a")
        assert got is not None and got.blob == b"\x01cipher" and got.version == 1
        assert backend.get("missing") is None

    def test_list_filters(self, backend: Backend) -> None:
        with backend.transaction() as tx:
            tx.insert(record("b", kind="basic"))
            tx.insert(record("a", kind="tool_api_key"))
            tx.insert(record("c", kind="api_key"))
        assert [r.name for r in backend.list_records()] == ["a", "b", "c"]
        assert [r.name for r in backend.list_records(category="service")] == ["b", "c"]
        assert [r.name for r in backend.list_records(kind="basic")] == ["b"]
        assert backend.list_records(category="service", kind="tool_api_key") == []

    def test_replace_and_delete(self, backend: Backend) -> None:
        with backend.transaction() as tx:
            tx.insert(record("a"))
            tx.attach("a", "tool", "t1", time.time())
        with backend.transaction() as tx:
            tx.replace(record("a", version=2, enabled=False, blob=b"new"))
        got = backend.get("a")
        assert got is not None and (got.version, got.enabled, got.blob) == (2, False, b"new")
        with backend.transaction() as tx:
            tx.delete("a")
        assert backend.get("a") is None
        assert backend.attachments("a") == []

    def test_failed_transaction_rolls_back(self, backend: Backend) -> None:
        with pytest.raises(RuntimeError), backend.transaction() as tx:
            tx.insert(record("a"))
            raise RuntimeError("boom")
        assert backend.get("a") is None
        with backend.transaction() as tx:  # the writer is usable again
            assert tx.insert(record("a"))

    def test_attachments_are_idempotent(self, backend: Backend) -> None:
        with backend.transaction() as tx:
            tx.insert(record("a"))
            assert tx.attach("a", "tool", "t", 1.0)
            assert not tx.attach("a", "tool", "t", 2.0)
            assert tx.attach("a", "model", "m", 1.0)
        assert backend.attachments("a") == [("model", "m"), ("tool", "t")]
        with backend.transaction() as tx:
            assert tx.detach("a", "tool", "t")
            assert not tx.detach("a", "tool", "t")
        assert backend.attachments("a") == [("model", "m")]

    def test_models(self, backend: Backend) -> None:
        row = ModelRow("gpt", "key", "gpt-4o-mini", None, {"temperature": 0.2}, 1.0)
        with backend.transaction() as tx:
            assert tx.insert_model(row)
            assert not tx.insert_model(row)
        assert backend.get_model("gpt") == row
        assert backend.list_models() == [row]
        with backend.transaction() as tx:
            tx.delete_model("gpt")
        assert backend.get_model("gpt") is None

    def test_use_events_are_written_as_rows_of_their_process(self, backend: Backend) -> None:
        """The use-event queue's batch: the pid and host given once, every value kept (text
        with quotes and non-ASCII, ``None``), the time back in seconds to the microsecond."""
        failed = 'missing header "X-Api-Key" \u00e9'
        events: list[UseEvent] = [
            (1700000000123456, "used", "a", "route:GET /x", None),
            (1700000001500000, "use_failed", "b", None, failed),
        ]
        backend.append_use_events(events, 4242, "host-\u00e9")
        backend.append_use_events([], 1, "empty")  # nothing to write is not an error
        got = backend.query_audit(name=None, limit=10, since=None, action=None, resource=None)
        assert got == [
            AuditRow(1700000001.5, "use_failed", "b", None, failed, 4242, "host-\u00e9"),
            AuditRow(1700000000.123456, "used", "a", "route:GET /x", None, 4242, "host-\u00e9"),
        ]
        assert got == [use_event_row(e, 4242, "host-\u00e9") for e in reversed(events)]

    def test_a_batch_of_alike_use_events_keeps_every_event(self, backend: Backend) -> None:
        """The usual batch: the same credential, route and outcome many times, another kind
        of event interleaved. Every event is a row of its own with its own time."""
        base = 1700000000000000
        events: list[UseEvent] = []
        for i in range(40):
            if i % 5 == 4:
                events.append((base + i, "use_failed", "svc", "route:GET /x", "wrong key"))
            else:
                events.append((base + i, "used", "svc", "route:GET /x", None))
        events.append((base + 40, "used", "svc", None, None))
        backend.append_use_events(events, 7, "h")
        got = backend.query_audit(name="svc", limit=100, since=None, action=None, resource=None)
        assert got == [use_event_row(e, 7, "h") for e in reversed(events)]
        failed = backend.query_audit(
            name=None, limit=100, since=None, action="use_failed", resource=None
        )
        assert [r.at for r in failed] == [(base + i) / 1e6 for i in (39, 34, 29, 24, 19, 14, 9, 4)]

    def test_audit_query_and_prune(self, backend: Backend) -> None:
        rows = [
            AuditRow(100.0, "created", "a", None, None, 1, "h"),
            AuditRow(200.0, "used", "a", "tool:x", None, 1, "h"),
            AuditRow(300.0, "used", "b", "tool:y", None, 2, "h"),
            AuditRow(400.0, "use_failed", "a", None, "disabled", 2, "h"),
        ]
        backend.append_audit(rows)
        q = backend.query_audit
        assert [r.at for r in q(name=None, limit=10, since=None, action=None, resource=None)] == [
            400.0,
            300.0,
            200.0,
            100.0,
        ]
        assert [r.at for r in q(name="a", limit=10, since=None, action=None, resource=None)] == [
            400.0,
            200.0,
            100.0,
        ]
        assert [r.at for r in q(name=None, limit=10, since=250.0, action=None, resource=None)] == [
            400.0,
            300.0,
        ]
        assert [r.at for r in q(name=None, limit=10, since=None, action="used", resource=None)] == [
            300.0,
            200.0,
        ]
        assert [
            r.at for r in q(name=None, limit=1, since=None, action=None, resource="tool:x")
        ] == [200.0]
        assert q(name=None, limit=2, since=None, action=None, resource=None)[0].reason == "disabled"
        assert backend.prune_audit(250.0) == 2
        assert len(q(name=None, limit=10, since=None, action=None, resource=None)) == 2

    def test_writes_of_another_handle_are_seen_at_once(
        self, backend: Backend, second: Backend
    ) -> None:
        with second.transaction() as tx:
            tx.insert(record("a"))
        first = backend.get("a")
        assert first is not None and first.version == 1
        for version in range(2, 30):
            with second.transaction() as tx:
                tx.replace(record("a", version=version, blob=bytes([version])))
            got = backend.get("a")
            assert got is not None and got.version == version and got.blob == bytes([version])
        with second.transaction() as tx:
            tx.delete("a")
        assert backend.get("a") is None
        with second.transaction() as tx:
            tx.insert(record("a", version=1, blob=b"again"))
        got = backend.get("a")
        assert got is not None and got.blob == b"again"

    def test_own_writes_are_seen_at_once_from_every_thread(self, backend: Backend) -> None:
        with backend.transaction() as tx:
            tx.insert(record("a"))
        assert backend.get("a") is not None
        seen: list[int] = []

        def reader() -> None:
            got = backend.get("a")
            seen.append(got.version if got else -1)

        for version in (2, 3):
            with backend.transaction() as tx:
                tx.replace(record("a", version=version))
            t = threading.Thread(target=reader)
            t.start()
            t.join()
            got = backend.get("a")
            assert got is not None and got.version == version
        assert seen == [2, 3]

    def test_master_key_id_is_none_until_set_and_shared(
        self, backend: Backend, second: Backend
    ) -> None:
        with backend.transaction() as tx:
            assert tx.master_key_id() is None
            tx.set_master_key_id(b"\x01" * 8)
        with second.transaction() as tx:
            assert tx.master_key_id() == b"\x01" * 8
            tx.set_master_key_id(b"\x02" * 8)
        with backend.transaction() as tx:
            assert tx.master_key_id() == b"\x02" * 8

    def test_a_write_that_read_the_key_id_holds_off_a_switch_until_it_commits(
        self, backend: Backend, second: Backend
    ) -> None:
        """What makes rotation safe beside writers: a switch of the store's key waits for
        every write transaction that read the old id, and a write after it sees the new id."""
        order: list[str] = []
        started = threading.Event()

        def switch() -> None:
            started.set()
            with second.transaction() as tx:
                tx.set_master_key_id(b"\x02" * 8)
            order.append("switched")

        with backend.transaction() as tx:
            assert tx.master_key_id() is None
            thread = threading.Thread(target=switch)
            thread.start()
            started.wait()
            time.sleep(0.3)  # the switch had time to happen, were it not held off
            tx.insert(record("a"))
            order.append("written")
        thread.join(10)
        assert order == ["written", "switched"]
        with backend.transaction() as tx:
            assert tx.master_key_id() == b"\x02" * 8
