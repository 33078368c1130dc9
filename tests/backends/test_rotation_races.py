"""Master-key rotation beside writers, on SQLite and PostgreSQL (docs/reliability.md).

Two store handles opened from the same key file stand for two processes (each has its own key
ring, learnt from the file). The races are staged step by step, so each test shows one
interleaving that used to lose a credential: a write encrypted under the old key committing
after the rotation dropped that key from the key file.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.flows import Flow, arun, run
from agentrun_creds_plugin.keys import KeyRing, create_key_file, read_key_file


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'creds.db'}"


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "master.key"
    create_key_file(path)
    monkeypatch.setenv("AGENTRUN_CREDS_KEY_FILE", str(path))
    return path


@pytest.fixture
def two(url: str, key_file: Path) -> Iterator[tuple[acp.CredentialStore, acp.CredentialStore]]:
    """A writer and a rotator: two key rings, one key file, one database."""
    writer = acp.CredentialStore.open(url)
    rotator = acp.CredentialStore.open(url)
    yield writer, rotator
    writer.close()
    rotator.close()


def _value(store: acp.CredentialStore, name: str) -> str:
    return store.resolve(name).api_key.get_secret_value()  # type: ignore[attr-defined, no-any-return]


def _only_new_key_reads(url: str, new_key: str, expected: dict[str, str]) -> None:
    """After the rotation only the new key exists: every credential must still resolve."""
    with acp.CredentialStore.open(url, master_key=new_key) as fresh:
        assert {n: _value(fresh, n) for n in expected} == expected
        for info in fresh.list():
            rec = fresh.backend.get(info.name)
            assert rec is not None
            assert KeyRing.blob_key_id(rec.blob) == KeyRing([new_key]).write_id


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_create_encrypted_before_a_rotation_completed_is_re_encrypted_on_commit(
    two: tuple[acp.CredentialStore, acp.CredentialStore], url: str, key_file: Path, mode: str
) -> None:
    writer, rotator = two
    writer.create("before", acp.ToolApiKeyCredential(api_key="v-before"))
    # The writer validates and encrypts under the key it knows (the old one) ...
    flow = writer._create("late", acp.ToolApiKeyCredential(api_key="v-late"), "")
    # ... while another process runs a whole rotation: the key file now holds the new key only.
    new_key = acp.generate_master_key()
    assert rotator.rotate_master_key(new_key) == 1
    assert read_key_file(key_file) == [new_key]
    if mode == "sync":
        run(writer.backend, flow)
    else:
        asyncio.run(arun(writer.backend, flow))
    assert _value(rotator, "late") == "v-late"
    _only_new_key_reads(url, new_key, {"before": "v-before", "late": "v-late"})


def _drive(tx: Any, flow: Flow[Any], pause_after: int, pause: Any) -> Any:
    """Run ``flow`` in ``tx`` by hand, calling ``pause()`` after ``pause_after`` steps."""
    method, args = next(flow)
    steps = 0
    try:
        while True:
            result = getattr(tx, method)(*args)
            steps += 1
            if steps == pause_after:
                pause()
            method, args = flow.send(result)
    except StopIteration as stop:
        return stop.value


def test_a_write_in_flight_holds_the_rotation_off_and_the_rotation_re_encrypts_it(
    two: tuple[acp.CredentialStore, acp.CredentialStore], url: str
) -> None:
    writer, rotator = two
    writer.create("k", acp.ToolApiKeyCredential(api_key="v1"))
    writer.create("other", acp.ToolApiKeyCredential(api_key="o1"))
    new_key = acp.generate_master_key()
    rotated: list[float] = []

    def rotate() -> None:
        rotator.rotate_master_key(new_key)
        rotated.append(time.monotonic())

    thread = threading.Thread(target=rotate)

    def start_rotation() -> None:  # the writer has read the store's key id and the record
        thread.start()
        time.sleep(0.4)
        assert not rotated, "the rotation switched keys under an open write"

    flow = writer._update("k", acp.ToolApiKeyCredential(api_key="v2"), None, None)
    with writer.backend.transaction() as tx:
        info = _drive(tx, flow, pause_after=2, pause=start_rotation)
        committed = time.monotonic()
    thread.join(30)
    assert rotated and rotated[0] > committed and info.version == 2
    _only_new_key_reads(url, new_key, {"k": "v2", "other": "o1"})


def test_a_write_after_the_switch_uses_the_new_key_before_the_rotation_ends(
    two: tuple[acp.CredentialStore, acp.CredentialStore], url: str
) -> None:
    """A writer that never heard of the rotation writes during its re-encryption pass."""
    writer, rotator = two
    for i in range(5):
        writer.create(f"k{i}", acp.ToolApiKeyCredential(api_key=f"v{i}"))
    new_key = acp.generate_master_key()
    done = {"n": 0}

    def progress(i: int, total: int) -> None:  # in the middle of the re-encryption pass
        if i == 2:
            writer.update("k4", acp.ToolApiKeyCredential(api_key="v4b"))
            writer.update("k0", description="touched")
            writer.create("new", acp.ToolApiKeyCredential(api_key="vn"))
        done["n"] = i

    rotator.rotate_master_key(new_key, progress=progress)
    assert done["n"] == 5
    expected = {f"k{i}": f"v{i}" for i in range(4)} | {"k4": "v4b", "new": "vn"}
    _only_new_key_reads(url, new_key, expected)


def test_a_writer_that_cannot_have_the_new_key_is_refused_and_writes_nothing(url: str) -> None:
    """Keys given in code or the environment cannot be re-read: a clear, retryable 503."""
    old = acp.generate_master_key()
    new = acp.generate_master_key()
    with (
        acp.CredentialStore.open(url, master_key=old) as writer,
        acp.CredentialStore.open(url, master_key=old) as rotator,
    ):
        writer.create("k", acp.ToolApiKeyCredential(api_key="v1"))
        rotator.rotate_master_key(new)
        with pytest.raises(acp.StoreUnavailableError) as err:
            writer.create("x", acp.ToolApiKeyCredential(api_key="vx"))
        assert "nothing was written" in str(err.value) and old not in str(err.value)
        with pytest.raises(acp.StoreUnavailableError):
            writer.update("k", acp.ToolApiKeyCredential(api_key="v2"))
        assert rotator.get("k").version == 1
        with pytest.raises(acp.CredentialNotFoundError):
            rotator.get("x")
    with acp.CredentialStore.open(url, master_key=[new, old]) as again:  # given the key: fine
        again.update("k", acp.ToolApiKeyCredential(api_key="v2"))
    _only_new_key_reads(url, new, {"k": "v2"})


def test_an_interrupted_rotation_leaves_writers_on_the_store_key_and_a_rerun_finishes(
    two: tuple[acp.CredentialStore, acp.CredentialStore], url: str, key_file: Path
) -> None:
    """Killed after the key file listed the new key but before the switch: a process opened
    now puts the new key first, yet writes under the store's key until the switch."""
    writer, rotator = two
    writer.create("k", acp.ToolApiKeyCredential(api_key="v1"))
    rotator.rotate_master_key(acp.generate_master_key())  # the store now names its key
    store_key = rotator._keys.write_id
    new_key = acp.generate_master_key()
    rotator._keys.begin_rotation(new_key)  # step 1 only, then the rotator "dies"
    with acp.CredentialStore.open(url) as fresh:
        assert fresh._keys.primary_id != store_key  # the key file lists the new key first
        fresh.create("f", acp.ToolApiKeyCredential(api_key="vf"))
        rec = fresh.backend.get("f")
        assert rec is not None and KeyRing.blob_key_id(rec.blob) == store_key
    with acp.CredentialStore.open(url) as rerun:
        assert rerun.rotate_master_key(new_key) == 2
    assert read_key_file(key_file) == [new_key]
    _only_new_key_reads(url, new_key, {"k": "v1", "f": "vf"})
