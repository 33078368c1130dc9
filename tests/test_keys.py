"""Master keys: sources in order, the key file, rotation picked up by other processes."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.crypto import associated_data
from agentrun_creds_plugin.keys import KeyRing, create_key_file, read_key_file
from agentrun_creds_plugin.settings import Settings

AD = associated_data("store", "name", 1, "api_key")


def test_key_file_created_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "k.key"
    keys, created = create_key_file(path)
    assert created and len(keys) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created2 = create_key_file(path)
    assert again == keys and not created2


def _race(path: str, queue: multiprocessing.Queue[str]) -> None:
    keys, _ = create_key_file(Path(path))
    queue.put(keys[0])


def test_two_processes_creating_a_key_file_end_with_one_key(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[str] = ctx.Queue()
    for attempt in range(3):
        path = tmp_path / f"race{attempt}.key"
        procs = [ctx.Process(target=_race, args=(str(path), queue)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(30)
        seen = {queue.get(timeout=5) for _ in procs}
        assert len(seen) == 1
        assert path.read_text().strip() == seen.pop()


def test_explicit_keys_win_over_settings(tmp_path: Path) -> None:
    k1, k2 = acp.generate_master_key(), acp.generate_master_key()
    settings = Settings(master_keys=SecretStr(k2))
    ring = KeyRing.load([k1], settings, str(tmp_path / "x.key"))
    blob = ring.encrypt(b"v", AD)
    assert KeyRing([k1]).decrypt(blob, AD) == b"v"
    with pytest.raises(acp.DecryptionError):
        KeyRing([k2]).decrypt(blob, AD)
    assert not (tmp_path / "x.key").exists(), "no key file when keys are given"


def test_no_key_and_no_default_file_is_a_503_saying_what_to_set() -> None:
    with pytest.raises(acp.StoreUnavailableError) as err:
        KeyRing.load(None, Settings(), None)
    assert "AGENTRUN_CREDS_MASTER_KEYS" in str(err.value)


def test_unreadable_key_file_setting_is_a_503(tmp_path: Path) -> None:
    with pytest.raises(acp.StoreUnavailableError) as err:
        KeyRing.load(None, Settings(key_file=tmp_path / "missing.key"), None)
    assert "AGENTRUN_CREDS_KEY_FILE" in str(err.value)


def test_rotation_writes_new_then_old_then_only_new(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    old, _ = create_key_file(path)
    ring = KeyRing.load(None, Settings(), str(path))
    before = ring.encrypt(b"old", AD)
    new = acp.generate_master_key()
    ring.begin_rotation(new)
    assert read_key_file(path) == [new, old[0]]
    assert ring.decrypt(before, AD) == b"old"
    ring.finish_rotation()
    assert read_key_file(path) == [new]
    assert ring.decrypt(before, AD) == b"old", "old keys stay in memory for late writers"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_key_rotated_in_by_another_process_is_picked_up_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    create_key_file(path)
    reader = KeyRing.load(None, Settings(), str(path))
    writer = KeyRing.load(None, Settings(), str(path))
    writer.begin_rotation(acp.generate_master_key())
    writer.finish_rotation()
    blob = writer.encrypt(b"fresh", AD)
    assert reader.decrypt(blob, AD) == b"fresh"


def test_unknown_key_id_without_a_key_file_is_one_decryption_error() -> None:
    blob = KeyRing([acp.generate_master_key()]).encrypt(b"x", AD)
    with pytest.raises(acp.DecryptionError):
        KeyRing([acp.generate_master_key()]).decrypt(blob, AD)


def test_repr_holds_no_key() -> None:
    key = acp.generate_master_key()
    assert key not in repr(KeyRing([key]))


def test_a_write_under_a_key_rotated_in_elsewhere_uses_the_new_key_from_the_file(
    tmp_path: Path,
) -> None:
    """``encrypt_for`` (called inside a write transaction with the store's key id): a ring
    that has not heard of the rotation reads the new key from the file and encrypts with it,
    and still decrypts what its old key made."""
    path = tmp_path / "k.key"
    create_key_file(path)
    late = KeyRing.load(None, Settings(), str(path))
    before = late.encrypt(b"old", AD)
    rotator = KeyRing.load(None, Settings(), str(path))
    rotator.begin_rotation(acp.generate_master_key())
    rotator.finish_rotation()
    assert late.seal(rotator.write_id, before, b"old", AD) != before
    blob = late.encrypt_for(rotator.write_id, b"new", AD)
    assert KeyRing.blob_key_id(blob) == rotator.write_id == late.write_id
    assert rotator.decrypt(blob, AD) == b"new"
    assert late.decrypt(before, AD) == b"old"
    assert late.seal(rotator.write_id, blob, b"new", AD) is blob  # already right: kept
    assert late.seal(None, before, b"old", AD) is before  # a store never rotated


def test_a_write_under_a_key_this_process_cannot_have_is_refused_with_the_fix() -> None:
    key = acp.generate_master_key()
    ring = KeyRing([key])
    other = KeyRing([acp.generate_master_key()])
    with pytest.raises(acp.StoreUnavailableError) as err:
        ring.encrypt_for(other.write_id, b"x", AD)
    text = str(err.value)
    assert other.write_id.hex() in text and "nothing was written" in text
    assert "AGENTRUN_CREDS_MASTER_KEYS" in text and key not in text
    assert KeyRing.blob_key_id(ring.encrypt(b"x", AD)) == ring.write_id  # unchanged
