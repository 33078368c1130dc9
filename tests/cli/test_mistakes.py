"""The mistakes a new user makes get exit 1 (or 2 for usage) and one line saying what to do."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import agentrun_creds_plugin as acp

from .helpers import run


def _add_key(url: str, name: str, key: str) -> tuple[int, str]:
    return run(
        url, "add", "model_service", name, "--provider", "openai", "--stdin", input=key + "\n"
    )


def test_wrong_kind_is_a_usage_error_listing_the_kinds(store_url: str) -> None:
    code, out = run(store_url, "add", "model_servise", "llm")
    assert code == 2
    assert "unknown kind 'model_servise'" in out and "model_service" in out


def test_bad_name_is_refused_before_the_secret_prompt(store_url: str) -> None:
    # no input at all: a prompt would abort; the name error must come first
    code, out = run(store_url, "add", "model_service", "9bad", "--provider", "openai")
    assert code == 1
    assert "invalid name" in out and "letter or underscore" in out
    assert "api_key" not in out.split("Error")[0]  # never prompted


def test_bad_non_secret_field_is_refused_before_the_prompt(store_url: str) -> None:
    code, out = run(store_url, "add", "jwt", "gw", "--jwks-url", "http://x.example/jwks")
    assert code == 1 and "https://" in out


@pytest.mark.parametrize("key", ["Bearer sk-test-0000000000000001", " sk-test-0000000000000001"])
def test_key_with_prefix_or_white_space(store_url: str, key: str) -> None:
    code, out = _add_key(store_url, "llm", key)
    assert code == 1 and "raw key" in out and "[422]" in out
    assert "sk-test-0000000000000001" not in out
    assert len(out.strip().splitlines()) == 1


def test_unknown_credential_errors_before_any_confirmation(store_url: str) -> None:
    code, out = run(store_url, "delete", "nope")  # no --yes and no input
    assert code == 1 and "not found" in out and "agentrun-creds list" in out
    assert "irreversible" not in out


def test_delete_while_attached_says_what_is_attached(store_url: str) -> None:
    assert _add_key(store_url, "llm", "sk-test-0000000000000001")[0] == 0
    code, out = run(store_url, "models", "add", "gpt", "--credential", "llm", "--model", "gpt-4o")
    assert code == 0, out
    code, out = run(store_url, "delete", "llm")
    assert code == 1 and "model:gpt" in out and "--force" in out
    assert "irreversible" not in out
    code, out = run(store_url, "delete", "llm", "--force", "--yes")
    assert code == 0 and "deleted llm" in out


def test_wrong_master_key(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _add_key(store_url, "llm", "sk-test-0000000000000001")[0] == 0
    monkeypatch.setenv("AGENTRUN_CREDS_MASTER_KEYS", acp.crypto.generate_master_key())
    code, out = run(store_url, "reveal", "llm", "--yes")
    assert code == 1 and "master key" in out
    assert "sk-test" not in out


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_store_path(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    code, out = run(f"sqlite:///{locked / 'creds.db'}", "list")
    assert code == 1 and "check --url" in out


def test_store_path_in_a_missing_place(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, out = run(f"sqlite:///{blocker / 'creds.db'}", "list")
    assert code == 1, out
    assert len(out.strip().splitlines()) == 1 and "Traceback" not in out
