"""``integrations.langchain``: real ChatOpenAI / ChatAnthropic / OpenAIEmbeddings keyed per request.

Real LangChain models against the loopback server, which accepts only the keys the store holds
at that moment (401 otherwise) and records every request.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import traceback
from collections.abc import Callable
from typing import Any

import anthropic
import openai
import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.load import dumpd, dumps
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import tool
from langchain_openai import AzureChatOpenAI, ChatOpenAI, OpenAIEmbeddings

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.integrations._common import PLACEHOLDER_KEY
from agentrun_creds_plugin.integrations.langchain import (
    CredentialChatAnthropic,
    CredentialChatOpenAI,
    chat_model,
    embeddings,
)
from agentrun_creds_plugin.selection import current_selection
from tests.integrations.conftest import (
    ANTHROPIC_MODEL,
    OPENAI_MODEL,
    RecordingHandler,
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


def select(mapping: dict[str, str]) -> RunnableConfig:
    return {"configurable": {"agentrun_credentials": mapping}}


@tool
def get_weather(city: str) -> str:
    """Return the current weather for a city."""
    return f"sunny in {city}"


@pytest.fixture(params=["openai", "anthropic"])
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def build(store: acp.CredentialStore, name: str, provider: str, **kwargs: Any) -> Any:
    model = ANTHROPIC_MODEL if provider == "anthropic" else OPENAI_MODEL
    if provider == "anthropic":
        kwargs.setdefault("max_tokens", 64)
    return chat_model(store, name, model=model, **kwargs)


# -- what is built ---------------------------------------------------------------------------
def test_from_a_model_configuration(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    key = add_model_credential("my-llm-key").api_key.get_secret_value()
    store.create_model("gpt", credential="my-llm-key", model=OPENAI_MODEL, temperature=0.25)
    llm = chat_model(store, "gpt")
    assert isinstance(llm, ChatOpenAI) and isinstance(llm, CredentialChatOpenAI)
    assert llm.model_name == OPENAI_MODEL and llm.temperature == 0.25
    assert llm.credential_name == "my-llm-key"
    assert llm.invoke("hi").content == "echo: hi"
    request = server.last_request
    assert request.presented_key == key
    assert request.json()["model"] == OPENAI_MODEL
    assert request.json()["temperature"] == 0.25
    # kwargs override the configuration's params and model
    llm2 = chat_model(store, "gpt", model="gpt-4o", temperature=0.5)
    llm2.invoke("hi")
    assert server.last_request.json()["model"] == "gpt-4o"
    assert server.last_request.json()["temperature"] == 0.5


def test_a_model_configuration_base_url_is_used(
    store: acp.CredentialStore, server: LLMServer
) -> None:
    key = new_key()
    store.create("ds", acp.ModelServiceCredential(provider="dashscope", api_key=key))
    store.create_model("qwen", credential="ds", model="qwen-plus", base_url=server.base_url)
    llm = chat_model(store, "qwen")
    assert llm.invoke("hi").content == "echo: hi"
    assert server.last_request.presented_key == key


def test_openai_chat_model_sends_what_a_plain_chat_openai_sends(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    key = add_model_credential("llm").api_key.get_secret_value()
    llm = chat_model(store, "llm", model=OPENAI_MODEL)
    plain = ChatOpenAI(model=OPENAI_MODEL, api_key=key, base_url=server.base_url)  # type: ignore[arg-type]
    plain.invoke("hi")
    plain_request = server.last_request
    llm.invoke("hi")
    assert headers_of(server.last_request) == headers_of(plain_request)
    assert server.last_request.body == plain_request.body


def test_anthropic_chat_model_sends_what_a_plain_chat_anthropic_sends(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    key = add_model_credential("claude", "anthropic").api_key.get_secret_value()
    llm = chat_model(store, "claude", model=ANTHROPIC_MODEL, max_tokens=64)
    assert isinstance(llm, ChatAnthropic) and isinstance(llm, CredentialChatAnthropic)
    plain = ChatAnthropic(  # type: ignore[call-arg]
        model=ANTHROPIC_MODEL, max_tokens=64, api_key=key, base_url=server.anthropic_base_url
    )
    plain.invoke("hi")
    plain_request = server.last_request
    assert llm.invoke("hi").content == "echo: hi"
    ours = server.last_request
    assert headers_of(ours) == headers_of(plain_request)
    assert ours.body == plain_request.body
    assert ours.header("authorization") == f"Bearer {key}"
    assert ours.header("anthropic-beta") is None


def test_azure_chat_model(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    key = add_model_credential("az", "azure_openai").api_key.get_secret_value()
    llm = chat_model(store, "az", model="my-deployment")
    assert isinstance(llm, AzureChatOpenAI)
    assert llm.invoke("hi").content == "echo: hi"
    request = server.last_request
    assert request.provider == "azure" and request.deployment == "my-deployment"
    assert request.header("api-key") == key and request.header("authorization") is None


def test_a_credential_name_needs_a_model(
    store: acp.CredentialStore, add_model_credential: AddCred
) -> None:
    add_model_credential("llm")
    with pytest.raises(acp.InvalidCredentialError, match="model="):
        chat_model(store, "llm")
    with pytest.raises(acp.CredentialNotFoundError):
        chat_model(store, "nothing", model=OPENAI_MODEL)


def test_key_arguments_are_refused(
    store: acp.CredentialStore, add_model_credential: AddCred
) -> None:
    add_model_credential("llm")
    for arg in ("api_key", "openai_api_key", "anthropic_api_key"):
        with pytest.raises(TypeError, match=arg):
            chat_model(store, "llm", model=OPENAI_MODEL, **{arg: "sk-x"})


# -- every entry point resolves per request ----------------------------------------------------
def test_sync_entry_points_resolve_per_request(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred, provider: str
) -> None:
    add_model_credential("llm", provider)
    llm = build(store, "llm", provider)

    key = rotate(store, server, "llm", provider)
    assert llm.invoke("a").content == "echo: a"
    assert server.last_request.presented_key == key

    key = rotate(store, server, "llm", provider)
    assert "".join(str(c.content) for c in llm.stream("b c")) == "echo: b c"
    assert server.last_request.presented_key == key and server.last_request.stream

    key = rotate(store, server, "llm", provider)
    before = server.request_count
    assert [m.content for m in llm.batch(["d", "e", "f"])] == ["echo: d", "echo: e", "echo: f"]
    assert [r.presented_key for r in server.requests[before:]] == [key] * 3
    assert all(r.status == 200 for r in server.requests)


@async_test
async def test_async_entry_points_resolve_per_request(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred, provider: str
) -> None:
    add_model_credential("llm", provider)
    llm = build(store, "llm", provider)

    key = rotate(store, server, "llm", provider)
    assert (await llm.ainvoke("a")).content == "echo: a"
    assert server.last_request.presented_key == key

    key = rotate(store, server, "llm", provider)
    chunks = [str(c.content) async for c in llm.astream("b c")]
    assert "".join(chunks) == "echo: b c"
    assert server.last_request.presented_key == key

    key = rotate(store, server, "llm", provider)
    before = server.request_count
    results = await llm.abatch(["d", "e"])
    assert [m.content for m in results] == ["echo: d", "echo: e"]
    assert [r.presented_key for r in server.requests[before:]] == [key] * 2


def test_tool_calling(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred, provider: str
) -> None:
    add_model_credential("llm", provider)
    llm = build(store, "llm", provider).bind_tools([get_weather])
    server.enqueue_tool_call("get_weather", {"city": "Paris"})
    message = llm.invoke("weather in Paris?")
    assert isinstance(message, AIMessage)
    assert message.tool_calls[0]["name"] == "get_weather"
    assert message.tool_calls[0]["args"] == {"city": "Paris"}
    sent = server.last_request.json()
    assert "tools" in sent

    key = rotate(store, server, "llm", provider)
    server.enqueue_tool_call("get_weather", {"city": "Rome"})
    gathered: Any = None
    for chunk in llm.stream("weather in Rome?"):
        gathered = chunk if gathered is None else gathered + chunk
    assert gathered.tool_calls[0]["args"] == {"city": "Rome"}
    assert server.last_request.presented_key == key


@async_test
async def test_async_tool_calling(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred, provider: str
) -> None:
    add_model_credential("llm", provider)
    llm = build(store, "llm", provider).bind_tools([get_weather])
    server.enqueue_tool_call("get_weather", {"city": "Oslo"})
    message = await llm.ainvoke("weather?")
    assert message.tool_calls[0]["args"] == {"city": "Oslo"}


def test_no_plaintext_key_on_the_model_after_calls(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred, provider: str
) -> None:
    key = add_model_credential("llm", provider).api_key.get_secret_value()
    llm = build(store, "llm", provider)
    llm.invoke("a")
    list(llm.stream("b"))
    asyncio.run(llm.ainvoke("c"))
    assert server.last_request.presented_key == key
    assert reachable_secret(llm, key) is None


# -- per-run selection -------------------------------------------------------------------------
def test_config_selection_reaches_every_sync_entry_point(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred, provider: str
) -> None:
    default = add_model_credential("shared", provider).api_key.get_secret_value()
    tenant = add_model_credential("tenant-a", provider).api_key.get_secret_value()
    llm = build(store, "shared", provider)
    config = select({"shared": "tenant-a"})

    llm.invoke("a", config=config)
    assert server.last_request.presented_key == tenant
    list(llm.stream("b", config=config))
    assert server.last_request.presented_key == tenant
    llm.bind_tools([get_weather]).invoke("c", config=config)
    assert server.last_request.presented_key == tenant
    llm.with_config(config).invoke("d")
    assert server.last_request.presented_key == tenant
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | llm
    chain.invoke({"q": "e"}, config=config)
    assert server.last_request.presented_key == tenant

    before = server.request_count
    llm.batch(["x", "y"], config=[config, {}])
    by_text = {
        r.json()["messages"][-1]["content"]: r.presented_key for r in server.requests[before:]
    }
    assert by_text == {"x": tenant, "y": default}

    llm.invoke("f")
    assert server.last_request.presented_key == default


@async_test
async def test_config_selection_reaches_every_async_entry_point(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred, provider: str
) -> None:
    add_model_credential("shared", provider)
    tenant = add_model_credential("tenant-a", provider).api_key.get_secret_value()
    llm = build(store, "shared", provider)
    config = select({"shared": "tenant-a"})

    await llm.ainvoke("a", config=config)
    assert server.last_request.presented_key == tenant
    [c async for c in llm.astream("b", config=config)]
    assert server.last_request.presented_key == tenant
    await llm.abatch(["c"], config=config)
    assert server.last_request.presented_key == tenant
    events = [e["event"] async for e in llm.astream_events("d", config=config, version="v2")]
    assert "on_chat_model_end" in events
    assert server.last_request.presented_key == tenant
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | llm
    await chain.ainvoke({"q": "e"}, config=config)
    assert server.last_request.presented_key == tenant


@async_test
async def test_concurrent_runs_for_different_tenants(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred, provider: str
) -> None:
    add_model_credential("shared", provider)
    tenants = {
        f"t{i}": add_model_credential(f"t{i}", provider).api_key.get_secret_value()
        for i in range(3)
    }
    llm = build(store, "shared", provider)

    async def by_config(tenant: str, i: int) -> None:
        await llm.ainvoke(f"{tenant}-c{i}", config=select({"shared": tenant}))

    async def by_context(tenant: str, i: int) -> None:
        with acp.use_credentials({"shared": tenant}):
            [c async for c in llm.astream(f"{tenant}-s{i}")]

    await asyncio.gather(
        *(f(t, i) for i in range(4) for t in tenants for f in (by_config, by_context))
    )
    assert server.request_count == 24
    for record in server.requests:
        text = record.json()["messages"][-1]["content"]
        if isinstance(text, list):
            text = text[0]["text"]
        assert record.presented_key == tenants[text.split("-")[0]]


def test_use_credentials_survives_langchain_thread_pools(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("shared")
    tenant = add_model_credential("tenant-a").api_key.get_secret_value()
    llm = chat_model(store, "shared", model=OPENAI_MODEL)
    with acp.use_credentials({"shared": "tenant-a"}):
        before = server.request_count
        llm.batch(["a", "b", "c", "d"], config={"max_concurrency": 4})
        # a sync step inside an async chain runs in LangChain's executor
        sync_step = RunnableLambda(lambda q: llm.invoke(q).content)
        assert asyncio.run(sync_step.ainvoke("e")) == "echo: e"
    keys = [r.presented_key for r in server.requests[before:]]
    assert keys == [tenant] * 5


def test_selection_does_not_leak_out_of_a_stream(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("shared")
    tenant = add_model_credential("tenant-a").api_key.get_secret_value()
    llm = chat_model(store, "shared", model=OPENAI_MODEL)
    seen: list[dict[str, str]] = []
    stream = llm.stream("one two three", config=select({"shared": "tenant-a"}))
    for _chunk in stream:
        seen.append(dict(current_selection()))
        break
    stream.close()  # type: ignore[attr-defined]
    assert seen == [{}] and dict(current_selection()) == {}
    assert server.last_request.presented_key == tenant

    async def consume() -> list[dict[str, str]]:
        inside: list[dict[str, str]] = []
        agen = llm.astream("a b c", config=select({"shared": "tenant-a"}))
        async for _ in agen:
            inside.append(dict(current_selection()))
        return inside

    assert all(s == {} for s in asyncio.run(consume()))
    assert server.last_request.presented_key == tenant


def test_a_secret_pasted_into_the_config_is_refused_before_any_request(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred, canary_key: str
) -> None:
    add_model_credential("shared")
    llm = chat_model(store, "shared", model=OPENAI_MODEL)
    with pytest.raises(acp.InvalidCredentialError) as info:
        llm.invoke("hi", config=select({"shared": canary_key + " x"}))
    assert canary_key not in str(info.value)
    with pytest.raises(acp.InvalidCredentialError):
        llm.invoke("hi", config={"configurable": {"agentrun_credentials": "tenant-a"}})
    assert server.request_count == 0


@pytest.mark.filterwarnings("ignore:create_react_agent has been moved")
def test_a_langgraph_agent_runs_for_a_tenant(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    from langgraph.prebuilt import create_react_agent

    add_model_credential("shared")
    tenant = add_model_credential("tenant-a").api_key.get_secret_value()
    llm = chat_model(store, "shared", model=OPENAI_MODEL)
    agent = create_react_agent(llm, [get_weather])
    server.enqueue_tool_call("get_weather", {"city": "Paris"})
    server.enqueue_text("It is sunny in Paris.")
    result = agent.invoke(
        {"messages": [HumanMessage("weather in Paris?")]}, config=select({"shared": "tenant-a"})
    )
    assert result["messages"][-1].content == "It is sunny in Paris."
    assert [r.presented_key for r in server.requests] == [tenant, tenant]
    assert "sunny in Paris" in json.dumps(server.last_request.json())


def test_a_selection_never_sends_a_key_to_another_endpoint(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("shared")
    add_model_credential("claude", "anthropic")
    llm = chat_model(store, "shared", model=OPENAI_MODEL)
    with pytest.raises(acp.InvalidCredentialError):
        llm.invoke("hi", config=select({"shared": "claude"}))
    assert server.request_count == 0


# -- rotation across processes, disable --------------------------------------------------------
def test_rotation_from_another_process(
    store: acp.CredentialStore,
    store_url: str,
    master_key: str,
    server: LLMServer,
    add_model_credential: AddCred,
    provider: str,
) -> None:
    add_model_credential("llm", provider)
    llm = build(store, "llm", provider)
    llm.invoke("a")
    new = rotate_in_subprocess(store_url, master_key, server, "llm", provider)
    assert llm.invoke("b").content == "echo: b"
    assert server.last_request.presented_key == new
    assert asyncio.run(llm.ainvoke("c")).content == "echo: c"
    assert server.last_request.presented_key == new


def test_disabled_credential_raises_on_every_entry_point_before_any_request(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred, provider: str
) -> None:
    add_model_credential("llm", provider)
    llm = build(store, "llm", provider, max_retries=3)
    llm.invoke("ok")
    store.disable("llm")
    before = server.request_count

    calls: list[Callable[[], Any]] = [
        lambda: llm.invoke("a"),
        lambda: list(llm.stream("b")),
        lambda: llm.batch(["c"]),
        lambda: llm.bind_tools([get_weather]).invoke("d"),
        lambda: asyncio.run(llm.ainvoke("e")),
        lambda: asyncio.run(_drain(llm.astream("f"))),
    ]
    for call in calls:
        with pytest.raises(acp.CredentialDisabledError) as info:
            call()
        assert type(info.value) is acp.CredentialDisabledError
        assert info.value.status_code == 401
        assert "store.enable('llm')" in str(info.value)
    assert server.request_count == before

    store.enable("llm")
    assert llm.invoke("g").content == "echo: g"


async def _drain(stream: Any) -> list[Any]:
    return [c async for c in stream]


# -- attachments -------------------------------------------------------------------------------
def test_chat_models_and_embeddings_are_attached(
    store: acp.CredentialStore, add_model_credential: AddCred
) -> None:
    add_model_credential("llm")
    add_model_credential("claude", "anthropic")
    store.create_model("gpt", credential="llm", model=OPENAI_MODEL)
    chat_model(store, "gpt")
    chat_model(store, "llm", model="gpt-4o")
    embeddings(store, "llm", model="text-embedding-3-small")
    chat_model(store, "claude", model=ANTHROPIC_MODEL)
    assert set(store.attachments("llm")) == {
        ("model", "gpt"),
        ("model", "openai:gpt-4o"),
        ("model", "openai:text-embedding-3-small"),
    }
    assert store.attachments("claude") == [("model", f"anthropic:{ANTHROPIC_MODEL}")]
    for name in ("llm", "claude"):
        with pytest.raises(acp.CredentialInUseError):
            store.delete(name)


# -- embeddings --------------------------------------------------------------------------------
def test_embeddings_resolve_per_request(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    add_model_credential("llm")
    add_model_credential("tenant-a")
    emb = embeddings(store, "llm", model="text-embedding-3-small", check_embedding_ctx_length=False)
    assert isinstance(emb, OpenAIEmbeddings)
    assert len(emb.embed_query("hi")) == 8
    key = rotate(store, server, "llm", "openai")
    assert len(emb.embed_documents(["a", "b"])) == 2
    assert server.last_request.presented_key == key
    assert len(asyncio.run(emb.aembed_query("x"))) == 8
    assert server.last_request.presented_key == key
    tenant = rotate(store, server, "tenant-a", "openai")
    with acp.use_credentials({"llm": "tenant-a"}):
        emb.embed_query("y")
    assert server.last_request.presented_key == tenant
    store.disable("llm")
    before = server.request_count
    with pytest.raises(acp.CredentialDisabledError):
        emb.embed_query("z")
    assert server.request_count == before


def test_embeddings_for_azure_and_refused_for_anthropic(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    key = add_model_credential("az", "azure_openai").api_key.get_secret_value()
    add_model_credential("claude", "anthropic")
    emb = embeddings(store, "az", model="emb-deployment", check_embedding_ctx_length=False)
    emb.embed_query("hi")
    assert server.last_request.header("api-key") == key
    assert server.last_request.deployment == "emb-deployment"
    with pytest.raises(acp.InvalidCredentialError, match="no embeddings"):
        embeddings(store, "claude", model="x")


# -- canaries ----------------------------------------------------------------------------------
def test_canary_key_in_no_repr_serialisation_callback_log_or_exception(
    store: acp.CredentialStore,
    server: LLMServer,
    canary_key: str,
    debug_logs: pytest.LogCaptureFixture,
    provider: str,
) -> None:
    store.create("canary", model_credential(server, provider, canary_key))
    llm = build(store, "canary", provider, max_retries=1)
    handler = RecordingHandler()
    config: RunnableConfig = {"callbacks": [handler]}

    llm.invoke("a", config=config)
    list(llm.stream("b", config=config))

    async def async_calls() -> None:  # one event loop: the async client's pool belongs to it
        await llm.ainvoke("c", config=config)
        await _drain(llm.astream("d", config=config))

    asyncio.run(async_calls())
    server.enqueue_tool_call("get_weather", {"city": "Paris"})
    llm.bind_tools([get_weather]).invoke("e", config=config)
    assert server.last_request.presented_key == canary_key  # it did go over the wire

    server.accepted_keys = set()
    with pytest.raises(Exception) as info:
        llm.invoke("f", config=config)
    err = info.value
    expected = (
        anthropic.AuthenticationError if provider == "anthropic" else openai.AuthenticationError
    )
    assert isinstance(err, expected)

    assert {"on_chat_model_start", "on_llm_new_token", "on_llm_end", "on_llm_error"} <= set(
        handler.events
    )
    texts = [
        *handler.payloads,
        repr(llm),
        str(llm),
        json.dumps(dumpd(llm)),
        dumps(llm),
        dumps(llm, pretty=True),
        repr(llm.model_dump()),
        repr(llm.bind_tools([get_weather])),
        str(err),
        repr(err),
        "".join(traceback.format_exception(err)),
    ]
    for text in texts:
        assert canary_key not in text
    assert canary_key not in all_log_text(debug_logs)
    assert any(r.levelname == "DEBUG" for r in debug_logs.records)

    serialised = dumpd(llm)
    assert serialised["id"][:3] == ["agentrun_creds_plugin", "integrations", "langchain"]
    secret_refs = [v for v in serialised["kwargs"].values() if isinstance(v, dict)]
    assert {"lc": 1, "type": "secret", "id": [secret_refs[0]["id"][0]]} in secret_refs
    assert PLACEHOLDER_KEY not in json.dumps(serialised)


def test_requires_credential_is_re_exported() -> None:
    from agentrun_creds_plugin.integrations import langchain, tools

    assert langchain.requires_credential is tools.requires_credential


def test_context_is_copied_not_shared_by_a_run(
    store: acp.CredentialStore, server: LLMServer, add_model_credential: AddCred
) -> None:
    """A config selection is in force only inside its call, also for calls made from it."""
    add_model_credential("shared")
    tenant = add_model_credential("tenant-a").api_key.get_secret_value()
    llm = chat_model(store, "shared", model=OPENAI_MODEL)
    ctx = contextvars.copy_context()
    ctx.run(llm.invoke, "a", select({"shared": "tenant-a"}))
    assert server.last_request.presented_key == tenant
    assert dict(ctx.run(current_selection)) == {}
