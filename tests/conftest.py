"""Shared fixtures: a real SQLite store in a temporary folder, canary secrets."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import agentrun_creds_plugin as acp

pytest_plugins = ["tests.support.fixtures_llm"]


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads the developer's real store, keys or provider keys."""
    for var in list(os.environ):
        if var.startswith("AGENTRUN_CREDS_") or var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
            monkeypatch.delenv(var, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("AGENTRUN_CREDS_SECRETS_DIR", str(home / "no-secrets"))


@pytest.fixture
def master_key() -> str:
    return acp.generate_master_key()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'creds.db'}"


@pytest.fixture
def store(store_url: str, master_key: str) -> Iterator[acp.CredentialStore]:
    with acp.CredentialStore.open(store_url, master_key=master_key) as s:
        yield s


@pytest.fixture
def canary() -> str:
    """A unique secret value that must never be seen outside the store."""
    return "canary" + uuid.uuid4().hex
