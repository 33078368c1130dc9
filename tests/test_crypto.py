"""The AES-GCM envelope, master-key lists and key files.

See docs/contract.md, "Encryption and master keys".
"""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.crypto import (
    MasterKeys,
    associated_data,
    parse_master_key,
)


def test_generate_master_key_is_32_urlsafe_bytes() -> None:
    key = acp.generate_master_key()
    assert len(base64.urlsafe_b64decode(key)) == 32
    assert key != acp.generate_master_key()


@pytest.mark.parametrize(
    "bad", ["", "short", "!" * 44, base64.urlsafe_b64encode(b"x" * 31).decode()]
)
def test_malformed_master_key_refused(bad: str) -> None:
    with pytest.raises(acp.InvalidCredentialError, match="master key"):
        parse_master_key(bad)


def test_fresh_nonce_per_write() -> None:
    keys = MasterKeys([acp.generate_master_key()])
    ad = associated_data("s", "n", 1, "k")
    blobs = {keys.encrypt(b"same", ad) for _ in range(50)}
    assert len(blobs) == 50
    assert all(keys.decrypt(b, ad) == b"same" for b in blobs)


def test_every_flipped_byte_is_one_decryption_error() -> None:
    keys = MasterKeys([acp.generate_master_key()])
    ad = associated_data("s", "n", 1, "k")
    blob = keys.encrypt(b"secret", ad)
    messages = set()
    for i in range(len(blob)):
        for bit in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[i] ^= bit
            with pytest.raises(acp.DecryptionError) as info:
                keys.decrypt(bytes(tampered), ad)
            messages.add(str(info.value))
    assert messages == {acp.DecryptionError.MESSAGE}
    with pytest.raises(acp.DecryptionError):
        keys.decrypt(blob[:-1], ad)
    with pytest.raises(acp.DecryptionError):
        keys.decrypt(b"", ad)


@pytest.mark.parametrize(
    "other_ad",
    [("t", "n", 1, "k"), ("s", "m", 1, "k"), ("s", "n", 2, "k"), ("s", "n", 1, "basic")],
)
def test_associated_data_binds_store_name_version_kind(other_ad: tuple[str, str, int, str]) -> None:
    keys = MasterKeys([acp.generate_master_key()])
    blob = keys.encrypt(b"secret", associated_data("s", "n", 1, "k"))
    with pytest.raises(acp.DecryptionError):
        keys.decrypt(blob, associated_data(*other_ad))


def test_key_list_first_encrypts_all_decrypt() -> None:
    old, new = acp.generate_master_key(), acp.generate_master_key()
    ad = b"ad"
    old_blob = MasterKeys([old]).encrypt(b"o", ad)
    both = MasterKeys([new, old])
    assert both.decrypt(old_blob, ad) == b"o"
    new_blob = both.encrypt(b"n", ad)
    assert MasterKeys([new]).decrypt(new_blob, ad) == b"n"
    with pytest.raises(acp.DecryptionError):
        MasterKeys([old]).decrypt(new_blob, ad)


def test_master_keys_repr_shows_no_key() -> None:
    key = acp.generate_master_key()
    keys = MasterKeys([key])
    assert key not in repr(keys) and key[:10] not in repr(keys)


def test_wrong_master_key_on_store(store_url: str, canary: str) -> None:
    with acp.CredentialStore.open(store_url, master_key=acp.generate_master_key()) as s:
        s.create("k", acp.ToolApiKeyCredential(api_key=canary))
    with acp.CredentialStore.open(store_url, master_key=acp.generate_master_key()) as s:
        with pytest.raises(acp.DecryptionError) as info:
            s.resolve("k")
        assert str(info.value) == acp.DecryptionError.MESSAGE
        assert info.value.status_code == 500


def test_ciphertext_copied_onto_another_row_fails(
    store: acp.CredentialStore, tmp_path: Path
) -> None:
    store.create("a", acp.ToolApiKeyCredential(api_key="alpha-key"))
    store.create("b", acp.ToolApiKeyCredential(api_key="beta-key"))
    with sqlite3.connect(tmp_path / "creds.db") as db:
        db.execute(
            "UPDATE credentials SET secret=(SELECT secret FROM credentials WHERE name='a') WHERE name='b'"
        )
    with pytest.raises(acp.DecryptionError):
        store.resolve("b")
    assert store.resolve("a").api_key.get_secret_value() == "alpha-key"  # type: ignore[attr-defined]


def test_flipped_byte_in_stored_record(store: acp.CredentialStore, tmp_path: Path) -> None:
    store.create("a", acp.ToolApiKeyCredential(api_key="alpha-key"))
    with sqlite3.connect(tmp_path / "creds.db") as db:
        (blob,) = db.execute("SELECT secret FROM credentials").fetchone()
        tampered = bytearray(blob)
        tampered[len(blob) // 2] ^= 0x04
        db.execute("UPDATE credentials SET secret=?", (bytes(tampered),))
    with pytest.raises(acp.DecryptionError):
        store.resolve("a")
    assert store.audit("a", action="use_failed")[0].reason == "decryption failed"


def test_opener_gives_what_decrypt_uses_and_nothing_for_a_bad_envelope() -> None:
    keys = MasterKeys([acp.generate_master_key()])
    ad = associated_data("s", "n", 1, "api_key")
    blob = keys.encrypt(b"plain", ad)
    found = keys.opener(blob)
    assert found is not None
    aead, nonce, ciphertext = found
    assert aead.decrypt(nonce, ciphertext, ad) == keys.decrypt(blob, ad) == b"plain"
    assert keys.opener(blob[:10]) is None  # too short
    assert keys.opener(b"\x02" + blob[1:]) is None  # another envelope version
    assert MasterKeys([acp.generate_master_key()]).opener(blob) is None  # unknown key id


def test_fast_path_decrypts_a_changed_row_afresh(
    store: acp.CredentialStore, tmp_path: Path
) -> None:
    # the model clients' per-request read: after it has learnt a row, a row edited behind the
    # store's back (a moved or flipped ciphertext) is decrypted afresh and refused
    store.create("a", acp.ModelServiceCredential(provider="openai", api_key="sk-alpha"))
    store.create("b", acp.ModelServiceCredential(provider="openai", api_key="sk-beta"))
    for _ in range(2):
        _, plaintext = store._use_plaintext("b", None)
        assert b"sk-beta" in plaintext
    with sqlite3.connect(tmp_path / "creds.db") as db:
        db.execute(
            "UPDATE credentials SET secret=(SELECT secret FROM credentials WHERE name='a') WHERE name='b'"
        )
    with pytest.raises(acp.DecryptionError):
        store._use_plaintext("b", None)
    assert store.audit("b", action="use_failed")[0].reason == "decryption failed"
    store.disable("a")
    with pytest.raises(acp.CredentialDisabledError):
        store._use_plaintext("a", None)
