"""``integrations.anthropic``: real anthropic clients whose key is resolved on every request.

The real anthropic 2.x SDK against the loopback server, which accepts only the keys the store
holds at that moment (401 otherwise) and records every request.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable
from typing import Any

import anthropic
import httpx2
import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.integrations.anthropic import (
    AsyncCredentialAnthropic,
    CredentialAnthropic,
    anthropic_client,
    async_anthropic_client,
)
from tests.integrations.conftest import (
    ANTHROPIC_MODEL,
    MESSAGES,
    all_log_text,
    async_test,
    headers_of,
    model_credential,
    new_key,
    reachable_secret,
    rotate,
    rotate_in_subprocess,
)
from tests.support.llm_server import LLMServer

AddCred = Callable[..., acp.ModelServiceCredential]


def ask(client: anthropic.Anthropic, text: str = "hi") -> str:
    message = client.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=64, messages=[{"role": "user", "content": text}]
    )
    block = message.content[0]
    assert block.type == "text"
    return block.text


async def aask(client: anthropic.AsyncAnthropic, text: str = "hi") -> str:
    message = await client.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=64, messages=[{"role": "user", "content": text}]
    )
    block = message.content[0]
    assert block.type == "text"
    return block.text


# -- what is built and what reaches the server -------------------------------------------------
def test_real_client_sends_exactly_what_a_plain_client_sends(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    key = add_model_credential("claude", "anthropic").api_key.get_secret_value()
    client = anthropic_client(store, "claude")
    assert isinstance(client, anthropic.Anthropic)
    plain = anthropic.Anthropic(api_key=key, base_url=server.anthropic_base_url)
    assert ask(plain) == "echo: hi"
    plain_request = server.last_request
    assert ask(client) == "echo: hi"
    ours = server.last_request

    assert ours.status == 200 and ours.provider == "anthropic"
    assert headers_of(ours) == headers_of(plain_request)
    # anthropic 2.x sends the key as a Bearer token; no x-api-key, no OAuth beta header.
    assert ours.header("authorization") == f"Bearer {key}"
    assert ours.header("x-api-key") is None
    assert ours.header("anthropic-beta") is None
    assert ours.header("anthropic-version") == plain_request.header("anthropic-version")
    assert ours.header("user-agent") == plain_request.header("user-agent")


@async_test
async def test_async_client_sends_what_a_plain_async_client_sends(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    key = add_model_credential("claude", "anthropic").api_key.get_secret_value()
    client = async_anthropic_client(store, "claude")
    assert isinstance(client, anthropic.AsyncAnthropic)
    plain = anthropic.AsyncAnthropic(api_key=key, base_url=server.anthropic_base_url)
    assert await aask(plain) == "echo: hi"
    plain_request = server.last_request
    assert await aask(client) == "echo: hi"
    assert headers_of(server.last_request) == headers_of(plain_request)
    await client.close()
    await plain.close()


def test_base_url_comes_from_the_credential(store: acp.CredentialStore) -> None:
    store.create("claude", acp.ModelServiceCredential(provider="anthropic", api_key=new_key()))
    client = anthropic_client(store, "claude")
    assert str(client.base_url).rstrip("/") == "https://api.anthropic.com"


def test_streaming_messages(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("claude", "anthropic")
    client = anthropic_client(store, "claude")
    server.enqueue_text("one two three")
    with client.messages.stream(model=ANTHROPIC_MODEL, max_tokens=64, messages=MESSAGES) as s:
        assert s.get_final_text() == "one two three"
    assert server.last_request.stream and server.last_request.status == 200

    new = rotate(store, server, "claude", "anthropic")
    events = client.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=64, messages=MESSAGES, stream=True
    )
    text = "".join(
        e.delta.text
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )
    assert text == "echo: hi"
    assert server.last_request.presented_key == new


@async_test
async def test_async_streaming(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("claude", "anthropic")
    client = async_anthropic_client(store, "claude")
    new = rotate(store, server, "claude", "anthropic")
    async with client.messages.stream(
        model=ANTHROPIC_MODEL, max_tokens=64, messages=MESSAGES
    ) as stream:
        assert await stream.get_final_text() == "echo: hi"
    assert server.last_request.presented_key == new
    await client.close()


def test_tool_use(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("claude", "anthropic")
    client = anthropic_client(store, "claude")
    server.enqueue_tool_call("get_weather", {"city": "Paris"})
    tools: Any = [
        {
            "name": "get_weather",
            "description": "weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    message = client.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=64, messages=MESSAGES, tools=tools
    )
    block = message.content[0]
    assert block.type == "tool_use" and block.name == "get_weather"
    assert block.input == {"city": "Paris"}


# -- per request, per retry ------------------------------------------------------------------
def test_key_is_resolved_on_every_retry(
    store: acp.CredentialStore,
    server: LLMServer,
    add_model_credential: AddCred,
) -> None:
    add_model_credential("claude", "anthropic")
    client = anthropic_client(store, "claude", max_retries=3)

    def uses() -> int:  # each resolve of the key is audited as a use by the client
        return len(store.audit("claude", action="used", resource="client:anthropic:claude"))

    before = uses()
    server.fail_next(2, 529)
    assert ask(client) == "echo: hi"
    assert server.request_count == 3
    assert uses() - before == 3


def test_a_retry_carries_a_key_rotated_during_the_call(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    old = add_model_credential("claude", "anthropic").api_key.get_secret_value()
    client = anthropic_client(store, "claude", max_retries=2)
    new = new_key("sk-during-retry-")
    accept = server.accepted_keys.copy()
    rotated: list[bool] = []

    def keys() -> set[str]:
        if not rotated:
            rotated.append(True)
            store.update("claude", model_credential(server, "anthropic", new))
            server.fail_next(1, 500)
            return accept
        return {new}

    server.accepted_keys = keys
    assert ask(client) == "echo: hi"
    assert [r.presented_key for r in server.requests] == [old, new]
    assert [r.status for r in server.requests] == [500, 200]


# -- no plaintext left behind ------------------------------------------------------------------
def test_no_plaintext_key_on_the_client_after_calls(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    key = add_model_credential("claude", "anthropic").api_key.get_secret_value()
    client = anthropic_client(store, "claude")
    assert ask(client) == "echo: hi"
    with client.messages.stream(model=ANTHROPIC_MODEL, max_tokens=64, messages=MESSAGES) as s:
        s.get_final_text()
    assert reachable_secret(client, key) is None
    assert reachable_secret(client.with_options(timeout=3), key) is None
    # The walk does find a key where a plain client keeps it.
    plain = anthropic.Anthropic(api_key=key, base_url=server.anthropic_base_url)
    assert reachable_secret(plain, key) is not None


@async_test
async def test_no_plaintext_key_on_the_async_client(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    key = add_model_credential("claude", "anthropic").api_key.get_secret_value()
    client = async_anthropic_client(store, "claude")
    await aask(client)
    assert reachable_secret(client, key) is None
    await client.close()


# -- rotation ----------------------------------------------------------------------------------
def test_rotation_reaches_the_next_call(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    first = add_model_credential("claude", "anthropic").api_key.get_secret_value()
    client = anthropic_client(store, "claude")
    ask(client)
    assert server.last_request.presented_key == first
    second = rotate(store, server, "claude", "anthropic")
    assert ask(client) == "echo: hi"
    assert server.last_request.presented_key == second
    assert all(r.accepted for r in server.requests)


def test_rotation_from_another_process(
    store: acp.CredentialStore,
    store_url: str,
    master_key: str,
    server: LLMServer,
    add_model_credential: AddCred,
) -> None:
    add_model_credential("claude", "anthropic")
    client = anthropic_client(store, "claude")
    aclient = async_anthropic_client(store, "claude")
    ask(client)
    new = rotate_in_subprocess(store_url, master_key, server, "claude", "anthropic")
    assert ask(client) == "echo: hi"
    assert server.last_request.presented_key == new
    assert asyncio.run(aask(aclient)) == "echo: hi"
    assert server.last_request.presented_key == new


@async_test
async def test_concurrent_async_calls_during_rotation_carry_a_complete_key(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    keys = [add_model_credential("claude", "anthropic").api_key.get_secret_value()]
    server.accepted_keys = lambda: set(keys)
    client = async_anthropic_client(store, "claude")

    async def rotator() -> None:
        for _ in range(8):
            await asyncio.sleep(0.005)
            key = new_key("sk-rot-")
            keys.append(key)
            cred = model_credential(server, "anthropic", key)
            await asyncio.to_thread(store.update, "claude", cred)

    results = await asyncio.gather(rotator(), *(aask(client, f"n{i}") for i in range(60)))
    assert results[1:] == [f"echo: n{i}" for i in range(60)]
    assert len(server.requests) == 60
    assert {r.presented_key for r in server.requests} <= set(keys)
    assert all(r.status == 200 for r in server.requests)
    await client.close()


# -- disable -----------------------------------------------------------------------------------
def test_disabled_credential_raises_before_any_request_without_retries(
    store: acp.CredentialStore,
    server: LLMServer,
    add_model_credential: AddCred,
) -> None:
    add_model_credential("claude", "anthropic")
    client = anthropic_client(store, "claude", max_retries=5)
    ask(client)
    store.disable("claude")

    def refusals() -> int:  # each refused resolve is audited (use_failed, "disabled")
        return len(store.audit("claude", action="use_failed"))

    before = refusals()
    with pytest.raises(acp.CredentialDisabledError) as info:
        ask(client)
    assert type(info.value) is acp.CredentialDisabledError
    assert info.value.status_code == 401
    assert "store.enable('claude')" in str(info.value)
    assert server.request_count == 1  # only the call made before the disable
    assert refusals() - before == 1  # no retry

    stream = client.messages.stream(model=ANTHROPIC_MODEL, max_tokens=8, messages=MESSAGES)
    with pytest.raises(acp.CredentialDisabledError), stream as s:
        s.get_final_text()
    assert server.request_count == 1

    store.enable("claude")
    assert ask(client) == "echo: hi"


@async_test
async def test_disabled_credential_raises_on_the_async_client(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("claude", "anthropic")
    client = async_anthropic_client(store, "claude", max_retries=5)
    store.disable("claude")
    with pytest.raises(acp.CredentialDisabledError) as info:
        await aask(client)
    assert type(info.value) is acp.CredentialDisabledError and info.value.status_code == 401
    assert server.request_count == 0
    store.enable("claude")
    assert await aask(client) == "echo: hi"
    await client.close()


def test_why_not_an_http_client_auth_the_sdk_wraps_its_errors(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    """Documents the SDK behaviour that ruled out an ``httpx2`` auth for anthropic."""
    add_model_credential("claude", "anthropic")
    store.disable("claude")

    class Raising(httpx2.Auth):
        def auth_flow(self, request: httpx2.Request) -> Any:
            store.resolve("claude")
            yield request

    client = anthropic.Anthropic(
        api_key="placeholder",
        base_url=server.anthropic_base_url,
        max_retries=0,
        http_client=anthropic.DefaultHttpxClient(auth=Raising()),
    )
    with pytest.raises(anthropic.APIConnectionError) as info:
        ask(client)
    assert isinstance(info.value.__cause__, acp.CredentialDisabledError)


# -- per-run selection -------------------------------------------------------------------------
def test_use_credentials_selects_another_credential(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    default = add_model_credential("claude", "anthropic").api_key.get_secret_value()
    tenant = add_model_credential("claude-tenant", "anthropic").api_key.get_secret_value()
    client = anthropic_client(store, "claude")
    with acp.use_credentials({"claude": "claude-tenant"}):
        ask(client)
    assert server.last_request.presented_key == tenant
    ask(client)
    assert server.last_request.presented_key == default


@async_test
async def test_concurrent_tenants_keep_their_own_keys(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("claude", "anthropic")
    tenants = {
        f"t{i}": add_model_credential(f"t{i}", "anthropic").api_key.get_secret_value()
        for i in range(4)
    }
    client = async_anthropic_client(store, "claude")

    async def run(tenant: str, i: int) -> str:
        with acp.use_credentials({"claude": tenant}):
            return await aask(client, f"{tenant}-{i}")

    await asyncio.gather(*(run(t, i) for i in range(5) for t in tenants))
    assert server.request_count == 20
    for record in server.requests:
        text = record.json()["messages"][-1]["content"]
        assert record.presented_key == tenants[text.split("-")[0]]
    await client.close()


def test_a_selection_never_sends_a_key_to_another_endpoint(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("claude", "anthropic")
    add_model_credential("gpt", "openai")
    store.create(
        "other-host",
        acp.ModelServiceCredential(
            provider="anthropic", api_key=new_key(), base_url="https://x.test"
        ),
    )
    client = anthropic_client(store, "claude")
    for other in ("gpt", "other-host"):
        with acp.use_credentials({"claude": other}), pytest.raises(acp.InvalidCredentialError):
            ask(client)
    assert server.request_count == 0


# -- attachments, arguments, copies ------------------------------------------------------------
def test_clients_are_attached_and_block_delete(
    store: acp.CredentialStore, add_model_credential: AddCred
) -> None:
    add_model_credential("claude", "anthropic")
    anthropic_client(store, "claude")
    async_anthropic_client(store, "claude", client_name="triage")
    assert set(store.attachments("claude")) == {
        ("client", "anthropic:claude"),
        ("client", "triage"),
    }
    with pytest.raises(acp.CredentialInUseError):
        store.delete("claude")


def test_key_arguments_and_other_providers_are_refused(
    store: acp.CredentialStore, add_model_credential: AddCred
) -> None:
    add_model_credential("claude", "anthropic")
    add_model_credential("gpt", "openai")
    for arg in ("api_key", "auth_token", "credentials", "profile"):
        with pytest.raises(TypeError, match=arg):
            anthropic_client(store, "claude", **{arg: "x"})
    with pytest.raises(acp.InvalidCredentialError, match="provider='anthropic'"):
        anthropic_client(store, "gpt")
    assert store.attachments("gpt") == []


def test_copies_keep_the_binding(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("claude", "anthropic")
    client = anthropic_client(store, "claude")
    copy = client.with_options(timeout=5, max_retries=0)
    assert isinstance(copy, CredentialAnthropic)
    new = rotate(store, server, "claude", "anthropic")
    assert ask(copy) == "echo: hi"
    assert server.last_request.presented_key == new
    aclient = async_anthropic_client(store, "claude").copy(max_retries=1)
    assert isinstance(aclient, AsyncCredentialAnthropic)
    assert asyncio.run(aask(aclient)) == "echo: hi"


def test_an_unbound_subclass_refuses_to_send(server: LLMServer) -> None:
    client = CredentialAnthropic(api_key="placeholder", base_url=server.anthropic_base_url)
    with pytest.raises(RuntimeError, match="no credential binding"):
        ask(client)
    assert server.request_count == 0


def test_ambient_environment_key_is_never_used(
    store: acp.CredentialStore,
    server: LLMServer,
    add_model_credential: AddCred,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-ambient")
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "sk-ant-ambient-token")
    key = add_model_credential("claude", "anthropic").api_key.get_secret_value()
    ask(anthropic_client(store, "claude"))
    assert server.last_request.presented_key == key
    assert server.keys_seen() == {key}


# -- canaries ----------------------------------------------------------------------------------
def test_canary_key_in_no_repr_log_or_exception_text(
    store: acp.CredentialStore,
    server: LLMServer,
    canary_key: str,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    store.create("canary", model_credential(server, "anthropic", canary_key))
    client = anthropic_client(store, "canary", max_retries=1)
    aclient = async_anthropic_client(store, "canary")
    assert ask(client) == "echo: hi"
    with client.messages.stream(model=ANTHROPIC_MODEL, max_tokens=8, messages=MESSAGES) as s:
        s.get_final_text()
    asyncio.run(aask(aclient))
    assert server.last_request.presented_key == canary_key

    server.accepted_keys = set()
    with pytest.raises(anthropic.AuthenticationError) as info:
        ask(client)
    err = info.value
    texts = [
        str(err),
        repr(err),
        "".join(traceback.format_exception(err)),
        str(err.body),
        repr(client),
        repr(aclient),
        repr(vars(client)),
        repr(client._client),
    ]
    for text in texts:
        assert canary_key not in text
    logs = all_log_text(debug_logs)
    assert "Request options" in logs  # anthropic's DEBUG request log was captured
    assert canary_key not in logs
