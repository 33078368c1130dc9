"""Rebuilding a model or client writes nothing when its attachment is already recorded.

An agent that builds a chat model per run or per tenant attaches the same resource each time;
the write transaction that did so cost more than the rest of the build, and waited for any
other writer. Now a read tells whether the attachment is there: a rebuild works while another
process holds the write lock, and a missing attachment is still recorded.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.integrations.anthropic import anthropic_client
from agentrun_creds_plugin.integrations.langchain import chat_model


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[acp.CredentialStore, Path]]:
    path = tmp_path / "attach.db"
    store = acp.CredentialStore.open(f"sqlite:///{path}", master_key=acp.generate_master_key())
    store.create(
        "claude",
        acp.ModelServiceCredential(
            provider="anthropic", api_key="sk-ant-" + "x" * 24, base_url="http://127.0.0.1:9"
        ),
    )
    yield store, path
    store.close()


def test_a_rebuild_does_not_wait_for_another_writer(
    db: tuple[acp.CredentialStore, Path],
) -> None:
    store, path = db
    chat_model(store, "claude", model="claude-haiku-4-5")
    anthropic_client(store, "claude")
    attached = [("client", "anthropic:claude"), ("model", "anthropic:claude-haiku-4-5")]
    assert sorted(store.attachments("claude")) == attached

    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process is writing
    try:
        started = time.monotonic()
        chat_model(store, "claude", model="claude-haiku-4-5")
        anthropic_client(store, "claude")
        assert time.monotonic() - started < 2.0  # the store's busy timeout is 10 s
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert sorted(store.attachments("claude")) == attached


def test_an_attachment_removed_meanwhile_is_recorded_again(
    db: tuple[acp.CredentialStore, Path],
) -> None:
    store, _ = db
    chat_model(store, "claude", model="claude-haiku-4-5")
    store.detach("claude", "model", "anthropic:claude-haiku-4-5")
    assert store.attachments("claude") == []
    chat_model(store, "claude", model="claude-haiku-4-5")
    assert store.attachments("claude") == [("model", "anthropic:claude-haiku-4-5")]
