"""Settings and the zero-config default.

See docs/contract.md, "The store" and "Encryption and master keys".
"""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.settings import default_db_path


def test_open_with_no_arguments_on_a_fresh_machine(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    path = default_db_path()
    assert not path.exists()
    with acp.CredentialStore.open() as s:
        s.create("k", acp.ToolApiKeyCredential(api_key="v"))
    key_file = path.with_name(path.name + ".key")
    assert path.exists() and key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert str(key_file) in caplog.text  # says where the key is
    with acp.CredentialStore.open() as s:
        assert s.resolve("k").api_key.get_secret_value() == "v"  # type: ignore[attr-defined]


def test_url_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTRUN_CREDS_URL", f"sqlite:///{tmp_path / 'env.db'}")
    with acp.CredentialStore.open() as s:
        assert s.url.endswith("env.db")
    assert (tmp_path / "env.db").exists()


def test_master_keys_from_environment_first_encrypts(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = acp.generate_master_key(), acp.generate_master_key()
    with acp.CredentialStore.open(store_url, master_key=old) as s:
        s.create("old", acp.ToolApiKeyCredential(api_key="o"))
    monkeypatch.setenv("AGENTRUN_CREDS_MASTER_KEYS", f"{new}, {old}")
    with acp.CredentialStore.open(store_url) as s:
        assert s.resolve("old").api_key.get_secret_value() == "o"  # type: ignore[attr-defined]
        s.create("new", acp.ToolApiKeyCredential(api_key="n"))
    with acp.CredentialStore.open(store_url, master_key=new) as s:
        assert s.resolve("new").api_key.get_secret_value() == "n"  # type: ignore[attr-defined]
    assert not Path(store_url[len("sqlite:///") :] + ".key").exists()


def test_master_keys_from_secrets_directory(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = acp.generate_master_key()
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "AGENTRUN_CREDS_MASTER_KEYS").write_text(key + "\n")
    monkeypatch.setenv("AGENTRUN_CREDS_SECRETS_DIR", str(secrets))
    with acp.CredentialStore.open(store_url) as s:
        s.create("k", acp.ToolApiKeyCredential(api_key="v"))
    with acp.CredentialStore.open(store_url, master_key=key) as s:
        assert s.resolve("k").api_key.get_secret_value() == "v"  # type: ignore[attr-defined]
    other = acp.generate_master_key()
    monkeypatch.setenv("AGENTRUN_CREDS_MASTER_KEYS", other)  # the environment wins
    with acp.CredentialStore.open(store_url) as s, pytest.raises(acp.DecryptionError):
        s.resolve("k")


def test_key_file_setting(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    key = acp.generate_master_key()
    key_file = tmp_path / "master.key"
    key_file.write_text(key)
    monkeypatch.setenv("AGENTRUN_CREDS_KEY_FILE", str(key_file))
    with acp.CredentialStore.open(store_url) as s:
        s.create("k", acp.ToolApiKeyCredential(api_key="v"))
    with acp.CredentialStore.open(store_url, master_key=key) as s:
        assert s.resolve("k").api_key.get_secret_value() == "v"  # type: ignore[attr-defined]
    monkeypatch.setenv("AGENTRUN_CREDS_KEY_FILE", str(tmp_path / "missing.key"))
    with pytest.raises(acp.StoreUnavailableError, match="AGENTRUN_CREDS_KEY_FILE"):
        acp.CredentialStore.open(store_url)


@pytest.mark.parametrize(
    ("url", "message"),
    [("mysql://x/y", "unsupported scheme"), ("sqlite:///:memory:", "in-memory")],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(acp.StoreUnavailableError, match=message):
        acp.CredentialStore.open(url, master_key=acp.generate_master_key())


def test_bad_master_key_is_refused_without_echo(store_url: str) -> None:
    with pytest.raises(acp.InvalidCredentialError) as info:
        acp.CredentialStore.open(store_url, master_key="not-a-key-zq9")
    assert "zq9" not in str(info.value) and "generate_master_key" in str(info.value)
