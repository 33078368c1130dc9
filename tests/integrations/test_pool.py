"""Model clients share one connection pool per configuration, never a key.

Two tenants' models (same endpoint, so the same pool) are called interleaved from threads and
from asyncio tasks; the loopback server records the key each request carried, and every
request must carry the key of the tenant whose model sent it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.integrations._pool import PoolConfig, shared_transport
from agentrun_creds_plugin.integrations.anthropic import anthropic_client, async_anthropic_client
from agentrun_creds_plugin.integrations.langchain import chat_model
from agentrun_creds_plugin.integrations.openai import async_openai_client, openai_client
from tests.integrations.conftest import ANTHROPIC_MODEL, OPENAI_MODEL, async_test
from tests.support.llm_server import LLMServer

TENANTS = ("tenant_a", "tenant_b")


def _tag_of(body: bytes) -> str:
    """The tenant tag the test put in the request's message."""
    text = json.dumps(json.loads(body))
    return next(t for t in TENANTS if t in text)


def _check_keys(server: LLMServer, keys: dict[str, str], expected: int) -> None:
    requests = [r for r in server.requests if r.body]
    assert len(requests) == expected
    for r in requests:
        assert r.accepted
        assert r.presented_key == keys[_tag_of(r.body)]


def _tenant_keys(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: Callable[..., Any]
) -> dict[str, str]:
    """Each tenant's openai key under its name and its anthropic key under ``<name>_claude``."""
    keys = {t: add_model_credential(t).api_key.get_secret_value() for t in TENANTS}
    for t in TENANTS:
        keys[f"{t}_claude"] = keys[t] + "-c"
        store.create(
            f"{t}_claude",
            acp.ModelServiceCredential(
                provider="anthropic",
                api_key=keys[f"{t}_claude"],
                base_url=server.anthropic_base_url,
            ),
        )
    return keys


def _messages(tag: str, i: int) -> Any:
    return [{"role": "user", "content": f"{tag} call {i}"}]


def test_models_share_the_pool_not_the_client(
    store: acp.CredentialStore, add_model_credential: Callable[..., Any]
) -> None:
    add_model_credential("tenant_a")
    add_model_credential("tenant_b")
    a = openai_client(store, "tenant_a")
    b = openai_client(store, "tenant_b")
    llm = chat_model(store, "tenant_a", model=OPENAI_MODEL)
    transport = a._client._transport
    assert b._client._transport is transport
    assert llm.root_client._client._transport is transport
    assert a._client is not b._client  # each model keeps its own auth
    other = shared_transport(PoolConfig("openai", False, verify=False))
    assert other is not transport  # another configuration, another pool


def test_closing_one_client_leaves_the_pool_to_the_others(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: Callable[..., Any]
) -> None:
    add_model_credential("tenant_a")
    add_model_credential("tenant_b")
    with openai_client(store, "tenant_a") as a:
        a.chat.completions.create(model=OPENAI_MODEL, messages=_messages("tenant_a", 0))
    b = openai_client(store, "tenant_b")
    b.chat.completions.create(model=OPENAI_MODEL, messages=_messages("tenant_b", 0))
    assert server.request_count == 2


def test_exiting_one_http_client_leaves_the_pool_to_the_others(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: Callable[..., Any]
) -> None:
    """``with http_client:`` exits the transport itself (not ``close()``): still shared."""
    add_model_credential("tenant_a")
    add_model_credential("tenant_b")
    a = openai_client(store, "tenant_a")
    with a._client:
        a.chat.completions.create(model=OPENAI_MODEL, messages=_messages("tenant_a", 0))
    connections = a._client._transport._pool.connections
    assert connections and not any(c.is_closed() for c in connections)  # kept for b
    b = openai_client(store, "tenant_b")
    b.chat.completions.create(model=OPENAI_MODEL, messages=_messages("tenant_b", 0))
    assert server.request_count == 2


def test_two_tenants_interleaved_in_threads_each_send_their_own_key(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: Callable[..., Any]
) -> None:
    keys = _tenant_keys(store, server, add_model_credential)
    clients = {t: openai_client(store, t) for t in TENANTS}
    llms = {t: chat_model(store, t, model=OPENAI_MODEL) for t in TENANTS}
    claudes = {t: anthropic_client(store, f"{t}_claude") for t in TENANTS}

    def call(i: int) -> None:
        t = TENANTS[i % 2]
        if i % 3 == 0:
            clients[t].chat.completions.create(model=OPENAI_MODEL, messages=_messages(t, i))
        elif i % 3 == 1:
            llms[t].invoke(f"{t} call {i}")
        else:
            claudes[t].messages.create(
                model=ANTHROPIC_MODEL, max_tokens=16, messages=_messages(t, i)
            )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(call, range(60)))
    requests = [r for r in server.requests if r.body]
    assert len(requests) == 60
    for r in requests:
        tag = _tag_of(r.body)
        expected = keys[f"{tag}_claude"] if r.provider == "anthropic" else keys[tag]
        assert r.accepted and r.presented_key == expected


@async_test
async def test_two_tenants_interleaved_in_asyncio_tasks_each_send_their_own_key(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: Callable[..., Any]
) -> None:
    keys = {t: add_model_credential(t).api_key.get_secret_value() for t in TENANTS}
    clients = {t: async_openai_client(store, t) for t in TENANTS}
    llms = {t: chat_model(store, t, model=OPENAI_MODEL) for t in TENANTS}

    async def call(i: int) -> None:
        t = TENANTS[i % 2]
        if i % 2:
            await clients[t].chat.completions.create(model=OPENAI_MODEL, messages=_messages(t, i))
        else:
            await llms[t].ainvoke(f"{t} call {i}")

    await asyncio.gather(*(call(i) for i in range(40)))
    _check_keys(server, keys, 40)


def test_async_clients_work_across_event_loops(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: Callable[..., Any]
) -> None:
    """A model built once and used from two ``asyncio.run`` calls (two loops) works in both."""
    keys = _tenant_keys(store, server, add_model_credential)
    llm = chat_model(store, "tenant_a", model=OPENAI_MODEL)
    claude = async_anthropic_client(store, "tenant_b_claude")

    async def once(i: int) -> None:
        await llm.ainvoke(f"tenant_a call {i}")
        await claude.messages.create(
            model=ANTHROPIC_MODEL, max_tokens=16, messages=_messages("tenant_b", i)
        )

    asyncio.run(once(0))
    asyncio.run(once(1))
    requests = [r for r in server.requests if r.body]
    assert [r.presented_key for r in requests] == [keys["tenant_a"], keys["tenant_b"] + "-c"] * 2
