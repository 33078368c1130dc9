"""Crash safety: writers SIGKILLed at random moments lose nothing committed (docs/reliability.md).

Writer processes (tests/support/crash_worker.py) create, update and delete credentials and write
audit batches; another rotates the master key again and again, beside readers and, in the last
campaign, beside writers. The test kills one of them with SIGKILL at a random moment, starts a
new one in its place, many times. Afterwards: the store opens, SQLite's integrity check and the
store's ``check`` pass, every credential resolves to a complete value whose stamp is the last
one its writer saw committed (or the one it had in flight when it died), metadata and secret
agree, and every audit event reads back whole. Resolving with the keys the key file holds at
the end is what proves that no write committed under a key a rotation dropped (the race
``agentrun_creds_plugin.rotation`` closes). The PostgreSQL run of the rotation campaign is in
tests/backends/test_crash_safety_pg.py.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.audit_trail import AUDIT_ACTIONS
from agentrun_creds_plugin.keys import create_key_file
from tests.support.crash_worker import check_value

WORKER = Path(__file__).parent / "support" / "crash_worker.py"
ROOT = Path(__file__).parent.parent


@dataclass
class Slot:
    """One worker role; each incarnation writes its own log file."""

    worker: str
    mode: str
    logs: list[Path] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None


@dataclass
class Run:
    url: str
    folder: Path
    env: dict[str, str]
    kills: int = 0
    kills_after_ready: int = 0

    def spawn(self, slot: Slot) -> None:
        log = self.folder / f"{slot.worker}-{len(slot.logs)}.log"
        slot.logs.append(log)
        slot.proc = subprocess.Popen(
            [sys.executable, str(WORKER), self.url, str(log), slot.worker, slot.mode],
            env=self.env,
            cwd=ROOT,
            stderr=log.with_suffix(".err").open("wb"),
        )

    def kill_randomly(self, slots: list[Slot], kills: int, deadline: float) -> None:
        try:
            self._kill_randomly(slots, kills, deadline)
        finally:  # never leave a worker behind, whatever failed
            for slot in slots:
                if slot.proc is not None and slot.proc.poll() is None:
                    slot.proc.send_signal(signal.SIGKILL)
                    slot.proc.wait()
                    self.kills += 1

    def _kill_randomly(self, slots: list[Slot], kills: int, deadline: float) -> None:
        rng = random.Random()
        for slot in slots:
            self.spawn(slot)
        done = 0
        while done < kills and time.monotonic() < deadline:
            slot = rng.choice(slots)
            # Mostly at work, not starting up (a loaded machine starts Python slowly): wait
            # until the victim has opened the store, then a random moment of its work.
            if rng.random() < 0.85:
                self._wait_ready(slot, deadline)
            time.sleep(rng.uniform(0.02, 0.5))
            assert slot.proc is not None
            if slot.proc.poll() is not None:  # it died on its own: that is a failure
                err = slot.logs[-1].with_suffix(".err").read_text()
                pytest.fail(f"worker {slot.worker} exited by itself: {err[-2000:]}")
            slot.proc.send_signal(signal.SIGKILL)
            slot.proc.wait()
            done += 1
            self.kills += 1
            if slot.logs[-1].exists() and "ready" in slot.logs[-1].read_text():
                self.kills_after_ready += 1
            self.spawn(slot)

    @staticmethod
    def _wait_ready(slot: Slot, deadline: float) -> None:
        log = slot.logs[-1]
        while time.monotonic() < deadline and slot.proc is not None and slot.proc.poll() is None:
            if log.exists() and "ready" in log.read_text():
                return
            time.sleep(0.02)


def _accepted(slots: list[Slot]) -> dict[str, set[int | None]]:
    """Per name, the stamps it may hold: the last committed one or one in flight after it."""
    events: dict[str, list[tuple[bool, int | None]]] = {}
    for slot in slots:
        for log in slot.logs:
            if not log.exists():
                continue  # killed before it opened its log
            lines = [ln.split() for ln in log.read_text().splitlines(keepends=False) if ln]
            pending: tuple[str, str, int] | None = None
            for parts in lines:
                if len(parts) != 4:
                    continue  # a line torn by the kill
                state, op, name, stamp = parts
                if state == "begin":
                    pending = (op, name, int(stamp))
                elif state == "done" and pending is not None:
                    events.setdefault(name, []).append((True, int(stamp) if op == "set" else None))
                    pending = None
            if pending is not None and pending[0] in ("set", "del"):
                op, name, stamp_i = pending
                events.setdefault(name, []).append((False, stamp_i if op == "set" else None))
    accepted: dict[str, set[int | None]] = {}
    for name, evs in events.items():
        last_done = max((i for i, (ok, _) in enumerate(evs) if ok), default=-1)
        states: set[int | None] = {evs[last_done][1]} if last_done >= 0 else {None}
        states |= {stamp for ok, stamp in evs[last_done + 1 :] if not ok}
        accepted[name] = states
    return accepted


def _verify(url: str, db: Path | None, accepted: dict[str, set[int | None]]) -> tuple[int, int]:
    """Check the store as a new process would (keys from the key file as it is now)."""
    if db is not None:
        with sqlite3.connect(db) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with acp.CredentialStore.open(url) as store:
        listed = {info.name: info for info in store.list()}
        for name, info in listed.items():
            assert store.check(name).ok, store.check(name)
            cred = store.resolve(name)  # a DecryptionError here: a credential lost to a rotation
            assert isinstance(cred, acp.ToolApiKeyCredential)
            stamp = check_value(name, cred.api_key.get_secret_value())
            assert info.description == str(stamp), name  # metadata and secret from one commit
        for name, states in accepted.items():
            got = (
                check_value(name, store.resolve(name).api_key.get_secret_value())
                if name in listed
                else None
            )  # type: ignore[attr-defined]
            assert got in states, (name, got, states)
        unknown = set(listed) - set(accepted)
        assert not unknown, unknown  # nothing appeared that no writer began
        events = store.audit(limit=10**7)
        for ev in events:
            assert ev.action in AUDIT_ACTIONS and ev.pid > 0 and ev.host and ev.at is not None
        return len(listed), len(events)


@pytest.mark.slow
def test_sigkilled_writers_lose_nothing_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "creds.db"
    url = f"sqlite:///{db}"
    key_file = tmp_path / "master.key"
    create_key_file(key_file)
    env = {**os.environ, "AGENTRUN_CREDS_KEY_FILE": str(key_file), "PYTHONPATH": str(ROOT)}
    monkeypatch.setenv("AGENTRUN_CREDS_KEY_FILE", str(key_file))
    with acp.CredentialStore.open(url):  # the database exists before the first kill
        pass
    run = Run(url, tmp_path, env)
    start = time.monotonic()
    writers = [Slot(str(i), "write") for i in range(3)]
    # The deadlines only stop a hung campaign: the kill counts end it (a slow host that starts
    # Python slowly takes longer to reach them, and must not fail for it).
    run.kill_randomly(writers, kills=30, deadline=start + 120)
    accepted = _accepted(writers)
    names, events = _verify(url, db, accepted)
    rotation = [Slot("rot", "rotate"), Slot("reader", "read")]
    run.kill_randomly(rotation, kills=15, deadline=time.monotonic() + 90)
    names2, events2 = _verify(url, db, accepted)
    rotations = sum(
        rot.read_text().count("done rotate") for rot in rotation[0].logs if rot.exists()
    )
    elapsed = time.monotonic() - start
    assert names == names2 and events2 >= events
    assert run.kills >= 40 and run.kills_after_ready >= 20
    print(
        f"\ncrash safety: {run.kills} SIGKILLs ({run.kills_after_ready} after the store opened), "
        f"{run.kills} recoveries, {names} credentials checked, {events2} audit events read, "
        f"{rotations} completed rotations, {elapsed:.1f} s"
    )


def _completed(slot: Slot, what: str) -> int:
    return sum(log.read_text().count(f"done {what}") for log in slot.logs if log.exists())


def rotation_campaign(url: str, folder: Path, db: Path | None, kills: int) -> str:
    """Writers create and update while another process rotates the master key, all killed at
    random; afterwards everything committed resolves. Returns a one-line summary."""
    key_file = folder / "master.key"
    create_key_file(key_file)
    env = {**os.environ, "AGENTRUN_CREDS_KEY_FILE": str(key_file), "PYTHONPATH": str(ROOT)}
    os.environ["AGENTRUN_CREDS_KEY_FILE"] = str(key_file)  # the caller's monkeypatch undoes it
    with acp.CredentialStore.open(url):  # the database exists before the first kill
        pass
    run = Run(url, folder, env)
    start = time.monotonic()
    writers = [Slot(str(i), "write") for i in range(3)]
    rotator = Slot("rot", "rotate")
    slots = [*writers, rotator, Slot("reader", "read")]
    # As in test_sigkilled_writers_lose_nothing_committed, the kill count ends the campaign.
    run.kill_randomly(slots, kills=kills, deadline=start + 150)
    names, events = _verify(url, db, _accepted(writers))
    sets = sum(_completed(w, "set") for w in writers)
    rotations = _completed(rotator, "rotate")
    assert run.kills >= kills and run.kills_after_ready >= kills // 2
    assert rotations >= 3 and sets >= 50, (rotations, sets)
    return (
        f"{run.kills} SIGKILLs ({run.kills_after_ready} after the store opened), {sets} committed "
        f"creates/updates beside {rotations} completed master-key rotations (and the killed "
        f"ones), {names} credentials resolved, {events} audit events read, "
        f"{time.monotonic() - start:.1f} s"
    )


@pytest.mark.slow
def test_writers_beside_master_key_rotations_lose_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTRUN_CREDS_KEY_FILE", "")
    db = tmp_path / "creds.db"
    summary = rotation_campaign(f"sqlite:///{db}", tmp_path, db, kills=40)
    print(f"\ncrash safety, rotation beside writers (SQLite): {summary}")
