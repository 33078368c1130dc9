"""Per-run credential selection: names only, following tasks and copied contexts."""

from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.selection import (
    current_selection,
    selected_name,
    selection_from_config,
)


def test_mapping_applies_within_the_block_and_nests() -> None:
    assert selected_name("llm") == "llm"
    with acp.use_credentials({"llm": "tenant-a"}):
        assert selected_name("llm") == "tenant-a"
        assert selected_name("other") == "other"
        with acp.use_credential("tenant-b", instead_of="llm"):
            assert selected_name("llm") == "tenant-b"
        assert selected_name("llm") == "tenant-a"
    assert selected_name("llm") == "llm" and current_selection() == {}


def test_secrets_pasted_as_names_are_refused() -> None:
    with (
        pytest.raises(acp.InvalidCredentialError, match="use_credentials value"),
        acp.use_credentials({"llm": "sk-proj abc/def"}),
    ):
        pass


def test_selection_follows_asyncio_tasks() -> None:
    async def name_in_task() -> str:
        await asyncio.sleep(0)
        return selected_name("llm")

    async def main() -> list[str]:
        async def run(tenant: str) -> str:
            with acp.use_credentials({"llm": tenant}):
                return await asyncio.create_task(name_in_task())

        return list(await asyncio.gather(*(run(f"t{i}") for i in range(20))))

    assert asyncio.run(main()) == [f"t{i}" for i in range(20)]


def test_selection_follows_copied_contexts_into_threads() -> None:
    with ThreadPoolExecutor(4) as pool, acp.use_credentials({"llm": "tenant-a"}):
        ctx = contextvars.copy_context()
        assert pool.submit(ctx.run, selected_name, "llm").result() == "tenant-a"
        assert pool.submit(selected_name, "llm").result() == "llm"  # a bare thread: no context


def test_selection_from_config() -> None:
    assert selection_from_config(None) == {}
    assert selection_from_config({"configurable": {}}) == {}
    config = {"configurable": {"agentrun_credentials": {"llm": "tenant-a"}}}
    assert selection_from_config(config) == {"llm": "tenant-a"}
    with pytest.raises(acp.InvalidCredentialError, match="agentrun_credentials"):
        selection_from_config({"configurable": {"agentrun_credentials": "tenant-a"}})


def test_resolve_through_http_auth_uses_the_selection(store: acp.CredentialStore) -> None:
    store.create("llm", acp.ToolApiKeyCredential(api_key="default-key"))
    store.create("tenant-a", acp.ToolApiKeyCredential(api_key="tenant-key"))
    auth = store.http_auth("llm")
    with acp.use_credentials({"llm": "tenant-a"}):
        assert auth._resolve().api_key.get_secret_value() == "tenant-key"  # type: ignore[attr-defined]
    assert auth._resolve().api_key.get_secret_value() == "default-key"  # type: ignore[attr-defined]
