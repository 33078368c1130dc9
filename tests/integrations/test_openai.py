"""``integrations.openai``: real openai clients whose key is resolved on every request.

Every test runs the real openai 3.x SDK against the loopback server, which accepts only the
keys the store holds at that moment (401 otherwise) and records every request.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable
from typing import Any

import httpx
import httpx2
import openai
import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.integrations._common import PLACEHOLDER_KEY
from agentrun_creds_plugin.integrations.openai import async_openai_client, openai_client
from tests.integrations.conftest import (
    AZURE_API_VERSION,
    MESSAGES,
    OPENAI_MODEL,
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


def chat(client: openai.OpenAI, **kwargs: Any) -> str:
    completion = client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, **kwargs)
    return completion.choices[0].message.content or ""


async def achat(client: openai.AsyncOpenAI, text: str = "hi") -> str:
    completion = await client.chat.completions.create(
        model=OPENAI_MODEL, messages=[{"role": "user", "content": text}]
    )
    return completion.choices[0].message.content or ""


# -- what is built ---------------------------------------------------------------------------
def test_returns_real_clients_that_send_the_same_headers_as_a_plain_client(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    cred = add_model_credential("llm", "openai")
    key = cred.api_key.get_secret_value()
    client = openai_client(store, "llm")
    assert type(client) is openai.OpenAI
    assert client.api_key == PLACEHOLDER_KEY
    assert str(client.base_url) == server.base_url + "/"

    plain = openai.OpenAI(api_key=key, base_url=server.base_url)
    assert chat(plain) == "echo: hi"
    plain_request = server.last_request
    assert chat(client) == "echo: hi"
    ours = server.last_request

    assert ours.status == 200 and ours.presented_key == key
    assert headers_of(ours) == headers_of(plain_request)
    assert ours.header("authorization") == f"Bearer {key}"


@async_test
async def test_async_client_sends_the_same_headers_as_a_plain_async_client(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    key = add_model_credential("llm", "deepseek").api_key.get_secret_value()
    client = async_openai_client(store, "llm")
    assert type(client) is openai.AsyncOpenAI
    plain = openai.AsyncOpenAI(api_key=key, base_url=server.base_url)
    assert await achat(plain) == "echo: hi"
    plain_request = server.last_request
    assert await achat(client) == "echo: hi"
    assert headers_of(server.last_request) == headers_of(plain_request)
    await client.close()
    await plain.close()


def test_provider_base_url_comes_from_the_credential(store: acp.CredentialStore) -> None:
    store.create("ds", acp.ModelServiceCredential(provider="dashscope", api_key=new_key()))
    store.create("dk", acp.ModelServiceCredential(provider="deepseek", api_key=new_key()))
    dashscope = openai_client(store, "ds")
    deepseek = openai_client(store, "dk")
    ds_default = acp.ModelServiceCredential(provider="dashscope", api_key="x").effective_base_url
    dk_default = acp.ModelServiceCredential(provider="deepseek", api_key="x").effective_base_url
    assert str(dashscope.base_url).rstrip("/") == ds_default.rstrip("/")
    assert str(deepseek.base_url).rstrip("/") == dk_default.rstrip("/")


def test_base_url_keyword_overrides_the_credential(
    store: acp.CredentialStore, server: LLMServer
) -> None:
    key = new_key()
    store.create("ds", acp.ModelServiceCredential(provider="dashscope", api_key=key))
    client = openai_client(store, "ds", base_url=server.base_url)
    assert chat(client) == "echo: hi"
    assert server.last_request.presented_key == key


def test_azure_openai_uses_api_key_header_endpoint_and_api_version(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    key = add_model_credential("az", "azure_openai").api_key.get_secret_value()
    client = openai_client(store, "az")
    assert isinstance(client, openai.AzureOpenAI)
    plain = openai.AzureOpenAI(
        api_key=key, azure_endpoint=server.azure_endpoint, api_version=AZURE_API_VERSION
    )
    plain.chat.completions.create(model="my-deployment", messages=MESSAGES)
    plain_request = server.last_request
    client.chat.completions.create(model="my-deployment", messages=MESSAGES)
    ours = server.last_request
    assert ours.status == 200
    assert ours.provider == "azure" and ours.deployment == "my-deployment"
    assert ours.query_value("api-version") == AZURE_API_VERSION
    assert ours.key_header == "api-key" and ours.header("api-key") == key
    assert ours.header("authorization") is None
    assert headers_of(ours) == headers_of(plain_request)
    assert ours.target == plain_request.target


@async_test
async def test_async_azure_client(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    key = add_model_credential("az", "azure_openai").api_key.get_secret_value()
    client = async_openai_client(store, "az")
    assert isinstance(client, openai.AsyncAzureOpenAI)
    await client.chat.completions.create(model="dep", messages=MESSAGES)
    assert server.last_request.header("api-key") == key
    await client.close()


def test_streaming_chat_completions_over_sse(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("llm")
    client = openai_client(store, "llm")
    server.enqueue_text("one two three")
    stream = client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "one two three"
    assert server.last_request.stream and server.last_request.status == 200

    new = rotate(store, server, "llm", "openai")
    stream = client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "echo: hi"
    assert server.last_request.presented_key == new


@async_test
async def test_async_streaming(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("llm")
    client = async_openai_client(store, "llm")
    new = rotate(store, server, "llm", "openai")
    stream = await client.chat.completions.create(
        model=OPENAI_MODEL, messages=MESSAGES, stream=True
    )
    chunks = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(chunks) == "echo: hi"
    assert server.last_request.presented_key == new
    await client.close()


def test_tool_calls_and_embeddings(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("llm")
    client = openai_client(store, "llm")
    server.enqueue_tool_call("get_weather", {"city": "Paris"})
    tools: Any = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    completion = client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, tools=tools)
    call = (completion.choices[0].message.tool_calls or [])[0]
    assert call.type == "function" and call.function.name == "get_weather"
    result = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(result.data) == 2
    assert all(r.status == 200 for r in server.requests)


# -- per request, per retry ------------------------------------------------------------------
def test_key_is_resolved_on_every_retry(
    store: acp.CredentialStore,
    server: LLMServer,
    add_model_credential: AddCred,
) -> None:
    add_model_credential("llm")
    client = openai_client(store, "llm", max_retries=3)

    def uses() -> int:  # each resolve of the key is audited as a use by the client
        return len(store.audit("llm", action="used", resource="client:openai:llm"))

    used = uses()
    server.fail_next(2, 500)
    before = server.request_count
    assert chat(client) == "echo: hi"
    assert server.request_count - before == 3
    assert uses() - used == 3


def test_a_retry_carries_a_key_rotated_during_the_call(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    old = add_model_credential("llm").api_key.get_secret_value()
    client = openai_client(store, "llm", max_retries=2)
    new = new_key("sk-during-retry-")
    rotated: list[bool] = []
    accept = server.accepted_keys.copy()

    def keys() -> set[str]:
        # The first attempt reaches the server, which rotates the key in the store and
        # answers 500; the SDK's retry must carry the new key.
        if not rotated:
            rotated.append(True)
            store.update("llm", model_credential(server, "openai", new))
            server.fail_next(1, 500)
            return accept
        return {new}

    server.accepted_keys = keys
    assert chat(client) == "echo: hi"
    attempts = server.requests[-2:]
    assert [r.presented_key for r in attempts] == [old, new]
    assert [r.status for r in attempts] == [500, 200]


# -- no plaintext left behind ------------------------------------------------------------------
def test_no_plaintext_key_on_the_client_after_calls(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    key = add_model_credential("llm").api_key.get_secret_value()
    client = openai_client(store, "llm")
    assert chat(client) == "echo: hi"
    server.enqueue_text("streamed")
    list(client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, stream=True))
    assert reachable_secret(client, key) is None

    # The walk does find a key where openai's own callable hook leaves it.
    callable_client = openai.OpenAI(api_key=lambda: key, base_url=server.base_url)
    assert chat(callable_client) == "echo: hi"
    assert reachable_secret(callable_client, key) == "root.api_key"


@async_test
async def test_no_plaintext_key_on_the_async_client_after_calls(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    key = add_model_credential("llm").api_key.get_secret_value()
    client = async_openai_client(store, "llm")
    await achat(client)
    assert reachable_secret(client, key) is None
    await client.close()


# -- rotation ----------------------------------------------------------------------------------
def test_rotation_reaches_the_next_call_without_rebuild(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    first = add_model_credential("llm").api_key.get_secret_value()
    client = openai_client(store, "llm")
    assert chat(client) == "echo: hi"
    assert server.last_request.presented_key == first
    second = rotate(store, server, "llm", "openai")
    assert chat(client) == "echo: hi"
    assert server.last_request.presented_key == second
    assert server.last_request.status == 200
    assert all(r.accepted for r in server.requests)


def test_rotation_from_another_process(
    store: acp.CredentialStore,
    store_url: str,
    master_key: str,
    server: LLMServer,
    add_model_credential: AddCred,
) -> None:
    add_model_credential("llm")
    client = openai_client(store, "llm")
    aclient = async_openai_client(store, "llm")
    assert chat(client) == "echo: hi"
    new = rotate_in_subprocess(store_url, master_key, server, "llm", "openai")
    assert chat(client) == "echo: hi"
    assert server.last_request.presented_key == new
    assert asyncio.run(achat(aclient)) == "echo: hi"
    assert server.last_request.presented_key == new


@async_test
async def test_concurrent_async_calls_during_rotation_carry_a_complete_key(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    keys = [add_model_credential("llm").api_key.get_secret_value()]
    server.accepted_keys = lambda: set(keys)  # every key ever issued, so none is refused
    client = async_openai_client(store, "llm")

    async def rotator() -> None:
        for _ in range(8):
            await asyncio.sleep(0.005)
            key = new_key("sk-rot-")
            keys.append(key)
            await asyncio.to_thread(store.update, "llm", model_credential(server, "openai", key))

    results = await asyncio.gather(rotator(), *(achat(client, f"n{i}") for i in range(60)))
    assert results[1:] == [f"echo: n{i}" for i in range(60)]
    presented = [r.presented_key for r in server.requests]
    assert len(presented) == 60
    assert set(presented) <= set(keys)
    assert all(r.status == 200 for r in server.requests)
    await client.close()


# -- disable -----------------------------------------------------------------------------------
def test_disabled_credential_raises_before_any_request(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("llm")
    client = openai_client(store, "llm", max_retries=3)
    assert chat(client) == "echo: hi"
    store.disable("llm")
    before = server.request_count
    with pytest.raises(acp.CredentialDisabledError) as info:
        chat(client)
    assert type(info.value) is acp.CredentialDisabledError
    assert info.value.status_code == 401
    assert "store.enable('llm')" in str(info.value)
    assert server.request_count == before  # nothing reached the server, no retries

    with pytest.raises(acp.CredentialDisabledError):
        client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, stream=True)
    assert server.request_count == before

    store.enable("llm")
    assert chat(client) == "echo: hi"
    assert server.request_count == before + 1


@async_test
async def test_disabled_credential_raises_on_the_async_client(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("llm")
    client = async_openai_client(store, "llm", max_retries=3)
    store.disable("llm")
    with pytest.raises(acp.CredentialDisabledError) as info:
        await achat(client)
    assert type(info.value) is acp.CredentialDisabledError and info.value.status_code == 401
    assert server.request_count == 0
    store.enable("llm")
    assert await achat(client) == "echo: hi"
    await client.close()


def test_deleted_credential_raises_not_found(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("llm")
    client = openai_client(store, "llm")
    store.delete("llm", force=True)
    with pytest.raises(acp.CredentialNotFoundError):
        chat(client)
    assert server.request_count == 0


# -- per-run selection -------------------------------------------------------------------------
def test_use_credentials_selects_another_credential_for_the_run(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    default = add_model_credential("default").api_key.get_secret_value()
    tenant = add_model_credential("tenant-a").api_key.get_secret_value()
    client = openai_client(store, "default")
    with acp.use_credentials({"default": "tenant-a"}):
        chat(client)
    assert server.last_request.presented_key == tenant
    chat(client)
    assert server.last_request.presented_key == default


@async_test
async def test_concurrent_tenants_keep_their_own_keys(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("default")
    tenants = {f"t{i}": add_model_credential(f"t{i}").api_key.get_secret_value() for i in range(4)}
    client = async_openai_client(store, "default")

    async def run(tenant: str, i: int) -> tuple[str, str]:
        with acp.use_credentials({"default": tenant}):
            return tenant, await achat(client, f"{tenant}-{i}")

    results = await asyncio.gather(*(run(t, i) for i in range(5) for t in tenants))
    assert len(results) == 20
    for record in server.requests:
        text = record.json()["messages"][-1]["content"]
        assert record.presented_key == tenants[text.split("-")[0]]
    await client.close()


def test_a_selection_never_sends_a_key_to_another_endpoint(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("default", "openai")
    store.create("elsewhere", acp.ModelServiceCredential(provider="deepseek", api_key=new_key()))
    add_model_credential("claude", "anthropic")
    client = openai_client(store, "default")
    for other in ("elsewhere", "claude"):
        with acp.use_credentials({"default": other}), pytest.raises(acp.InvalidCredentialError):
            chat(client)
    assert server.request_count == 0


def test_an_edited_base_url_asks_for_a_rebuild(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("llm")
    client = openai_client(store, "llm")
    moved = new_key()
    store.update(
        "llm",
        acp.ModelServiceCredential(provider="openai", api_key=moved, base_url="https://x.test"),
    )
    with pytest.raises(acp.InvalidCredentialError) as info:
        chat(client)
    assert "build a new client" in str(info.value) and moved not in str(info.value)
    assert server.request_count == 0


# -- attachments -------------------------------------------------------------------------------
def test_clients_are_attached_and_block_delete(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("llm")
    openai_client(store, "llm")
    async_openai_client(store, "llm", client_name="support-bot")
    assert set(store.attachments("llm")) == {("client", "openai:llm"), ("client", "support-bot")}
    assert ("client", "support-bot") in store.get("llm").attachments
    with pytest.raises(acp.CredentialInUseError):
        store.delete("llm")
    uses = store.audit("llm", action="used", resource="client:openai:llm")
    assert uses  # build-time read of the endpoint is audited under the client's resource


# -- arguments ---------------------------------------------------------------------------------
def test_key_arguments_are_refused(
    store: acp.CredentialStore, add_model_credential: AddCred
) -> None:
    add_model_credential("llm")
    with pytest.raises(TypeError, match="api_key"):
        openai_client(store, "llm", api_key="sk-x")
    with pytest.raises(TypeError, match="azure_ad_token_provider"):
        openai_client(store, "llm", azure_ad_token_provider=lambda: "t")


def test_anthropic_and_non_model_credentials_are_refused(
    store: acp.CredentialStore, add_model_credential: AddCred
) -> None:
    add_model_credential("claude", "anthropic")
    store.create("tool", acp.ToolApiKeyCredential(api_key=new_key()))
    with pytest.raises(acp.InvalidCredentialError, match="anthropic_client"):
        openai_client(store, "claude")
    with pytest.raises(acp.InvalidCredentialError, match="model_service"):
        openai_client(store, "tool")
    with pytest.raises(acp.CredentialNotFoundError):
        openai_client(store, "missing")
    assert store.attachments("claude") == []


def test_caller_http_client_gets_the_auth(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    key = add_model_credential("llm").api_key.get_secret_value()
    http_client = openai.DefaultHttpxClient(timeout=10)
    client = openai_client(store, "llm", http_client=http_client)
    assert chat(client) == "echo: hi"
    assert server.last_request.presented_key == key
    with pytest.raises(ValueError, match="already has an auth"):
        openai_client(store, "llm", http_client=http_client)
    with pytest.raises(TypeError, match="httpx2"):
        openai_client(store, "llm", http_client=httpx.Client())
    with pytest.raises(TypeError, match="httpx2"):
        async_openai_client(store, "llm", http_client=httpx2.Client())


def test_copies_keep_resolving_per_request(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("llm")
    client = openai_client(store, "llm").with_options(timeout=5, max_retries=0)
    new = rotate(store, server, "llm", "openai")
    assert chat(client) == "echo: hi"
    assert server.last_request.presented_key == new


def test_ambient_environment_key_is_never_used(
    store: acp.CredentialStore,
    server: LLMServer,
    add_model_credential: AddCred,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-ambient-not-to-be-used")
    key = add_model_credential("llm").api_key.get_secret_value()
    chat(openai_client(store, "llm"))
    assert server.last_request.presented_key == key
    assert "sk-ambient-not-to-be-used" not in server.keys_seen()


# -- canaries ----------------------------------------------------------------------------------
def test_canary_key_in_no_repr_log_or_exception_text(
    store: acp.CredentialStore,
    server: LLMServer,
    canary_key: str,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    store.create("canary", model_credential(server, "openai", canary_key))
    client = openai_client(store, "canary", max_retries=1)
    aclient = async_openai_client(store, "canary")
    assert chat(client) == "echo: hi"
    server.enqueue_text("streamed text")
    list(client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, stream=True))
    asyncio.run(achat(aclient))
    assert server.last_request.presented_key == canary_key  # it did go over the wire

    # The server stops accepting it: the SDK's 401 must not carry it either.
    server.accepted_keys = set()
    with pytest.raises(openai.AuthenticationError) as info:
        chat(client)
    err = info.value
    texts = [
        str(err),
        repr(err),
        "".join(traceback.format_exception(err)),
        str(err.body),
        repr(client),
        repr(aclient),
        repr(client._client),
        repr(client._client.auth),
        repr(vars(client)),
    ]
    for text in texts:
        assert canary_key not in text
    assert canary_key not in all_log_text(debug_logs)
    assert any(r.name.startswith("openai") for r in debug_logs.records)  # DEBUG was captured


def test_import_of_the_package_does_not_import_the_sdks() -> None:
    import subprocess
    import sys

    code = (
        "import sys, agentrun_creds_plugin; "
        "bad = [m for m in ('openai', 'anthropic', 'langchain_core', 'langchain_openai') "
        "if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize(
    ("provider", "sdk_headers"),
    [
        ("openai", {"authorization": "Bearer placeholder"}),
        ("deepseek", {}),
        ("azure_openai", {"api-key": "placeholder"}),
        ("anthropic", {"Authorization": "Bearer placeholder"}),
        ("anthropic", {"X-Api-Key": "placeholder"}),
    ],
)
def test_header_rule_matches_the_auth_module(provider: str, sdk_headers: dict[str, str]) -> None:
    """The model clients send the header ``auth.apply_credential`` prescribes, in the SDK's spelling."""
    from agentrun_creds_plugin.integrations._common import KeyBinding
    from agentrun_creds_plugin.outbound.plan import apply_credential

    key = new_key()
    extra = {"api_version": AZURE_API_VERSION} if provider == "azure_openai" else {}
    cred = acp.ModelServiceCredential(
        provider=provider, api_key=key, base_url="https://llm.test/v1", **extra
    )
    request = httpx2.Request("POST", "https://llm.test/v1/x", headers=sdk_headers)
    KeyBinding.apply(cred, request)
    plan = apply_credential(cred, "POST", str(request.url), list(sdk_headers.items()), b"")
    expected = {k.lower(): v for k, v in plan.headers.items()}
    got = {k.lower(): v for k, v in request.headers.items() if k.lower() in expected}
    assert got == expected
    # the SDK's spelling of the header name is kept
    for name in sdk_headers:
        if name.lower() in expected:
            assert name.encode() in [raw for raw, _ in request.headers.raw]
