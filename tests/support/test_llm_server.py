"""The loopback LLM server works with the real openai / anthropic / LangChain clients."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import threading
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from tests.support.certs import TestPKI
from tests.support.llm_server import (
    TEST_ANTHROPIC_KEY,
    TEST_AZURE_KEY,
    TEST_OPENAI_KEY,
    LLMRequest,
    LLMServer,
    Reply,
    ToolCall,
)

pytest_plugins = ["tests.support.fixtures_llm"]

OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-haiku-4-5"
AZURE_API_VERSION = "2024-10-21"
WRONG_KEY = "sk-wrong-5d41402abc4b2a76b9719d911017c592"


def credential_headers(record: LLMRequest) -> list[tuple[str, str]]:
    """The credential-carrying headers of a request, names lower-cased."""
    names = ("authorization", "api-key", "x-api-key")
    return [(k.lower(), v) for k, v in record.headers if k.lower() in names]


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


@tool
def get_weather(city: str) -> str:
    """Return the current weather for a city."""
    return f"sunny in {city}"


# --------------------------------------------------------------------------- openai


def test_openai_chat_plain_and_default_auth_header(llm_server: LLMServer) -> None:
    with openai.OpenAI(api_key=TEST_OPENAI_KEY, base_url=llm_server.base_url) as client:
        completion = client.chat.completions.create(
            model=OPENAI_MODEL, messages=[{"role": "user", "content": "hello there"}]
        )
    assert completion.choices[0].message.content == "echo: hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == OPENAI_MODEL
    assert completion.usage is not None and completion.usage.total_tokens > 0

    (rec,) = llm_server.requests
    assert (rec.method, rec.path, rec.provider, rec.endpoint) == (
        "POST",
        "/v1/chat/completions",
        "openai",
        "chat.completions",
    )
    assert rec.accepted and rec.status == 200 and not rec.stream
    assert (rec.key_header, rec.presented_key) == ("authorization", TEST_OPENAI_KEY)
    # openai 3.x sends exactly one credential header: Authorization: Bearer <key>
    assert credential_headers(rec) == [("authorization", f"Bearer {TEST_OPENAI_KEY}")]
    assert rec.header("x-stainless-retry-count") == "0"
    assert rec.json()["messages"] == [{"role": "user", "content": "hello there"}]
    assert llm_server.keys_seen() == {TEST_OPENAI_KEY}


def test_openai_chat_streaming_with_usage(llm_server: LLMServer) -> None:
    llm_server.enqueue_text("one two three")
    with openai.OpenAI(api_key=TEST_OPENAI_KEY, base_url=llm_server.base_url) as client:
        stream = client.chat.completions.create(
            model=OPENAI_MODEL,
            messages=[{"role": "user", "content": "count"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 3
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 3
    assert llm_server.last_request.stream


def test_openai_stream_raw_sse_format(llm_server: LLMServer, http: httpx.Client) -> None:
    body = {"model": OPENAI_MODEL, "stream": True, "messages": [{"role": "user", "content": "a"}]}
    response = http.post(
        llm_server.base_url + "/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {TEST_OPENAI_KEY}"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [e for e in response.text.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    first = json.loads(events[0].removeprefix("data: "))
    assert first["object"] == "chat.completion.chunk"
    assert first["choices"][0]["delta"]["role"] == "assistant"
    assert "usage" not in first  # only with stream_options.include_usage


def test_openai_tool_calls_plain_and_streaming(llm_server: LLMServer) -> None:
    tools: Any = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    messages: Any = [{"role": "user", "content": "weather in Paris?"}]
    llm_server.enqueue_tool_call("get_weather", {"city": "Paris"}, id="call_abc")
    llm_server.enqueue(Reply(tool_calls=(ToolCall("get_weather", {"city": "Oslo"}),)))
    with openai.OpenAI(api_key=TEST_OPENAI_KEY, base_url=llm_server.base_url) as client:
        completion = client.chat.completions.create(
            model=OPENAI_MODEL, messages=messages, tools=tools
        )
        choice = completion.choices[0]
        assert choice.finish_reason == "tool_calls"
        assert choice.message.content is None
        assert choice.message.tool_calls is not None
        (call,) = choice.message.tool_calls
        assert call.type == "function"
        assert call.id == "call_abc"
        assert call.function.name == "get_weather"
        assert json.loads(call.function.arguments) == {"city": "Paris"}

        stream = client.chat.completions.create(
            model=OPENAI_MODEL, messages=messages, tools=tools, stream=True
        )
        name, args, call_id, finish = "", "", None, None
        for chunk in stream:
            choice_delta = chunk.choices[0]
            finish = choice_delta.finish_reason or finish
            for tc in choice_delta.delta.tool_calls or []:
                assert tc.index == 0
                call_id = tc.id or call_id
                if tc.function is not None:
                    name += tc.function.name or ""
                    args += tc.function.arguments or ""
    assert name == "get_weather" and json.loads(args) == {"city": "Oslo"}
    assert call_id is not None and call_id.startswith("call_")
    assert finish == "tool_calls"
    assert llm_server.pending_replies == 0
    assert llm_server.requests[0].json()["tools"][0]["function"]["name"] == "get_weather"


def test_openai_embeddings_base64_default_and_float(llm_server: LLMServer) -> None:
    with openai.OpenAI(api_key=TEST_OPENAI_KEY, base_url=llm_server.base_url) as client:
        default = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
        floats = client.embeddings.create(
            model="text-embedding-3-small", input="a", encoding_format="float", dimensions=4
        )
        again = client.embeddings.create(model="text-embedding-3-small", input="a")
    assert [d.index for d in default.data] == [0, 1]
    assert len(default.data[0].embedding) == llm_server.embedding_dim
    assert default.data[0].embedding != default.data[1].embedding
    assert default.data[0].embedding == again.data[0].embedding  # deterministic
    assert len(floats.data[0].embedding) == 4
    # the SDK asks for base64 unless told otherwise; the server honours both
    assert llm_server.requests[0].json()["encoding_format"] == "base64"
    assert llm_server.requests[1].json()["encoding_format"] == "float"
    assert {r.endpoint for r in llm_server.requests} == {"embeddings"}


def test_raw_base64_embedding_is_little_endian_float32(
    llm_server: LLMServer, http: httpx.Client
) -> None:
    response = http.post(
        llm_server.base_url + "/embeddings",
        json={"model": "m", "input": "x", "encoding_format": "base64", "dimensions": 3},
        headers={"Authorization": f"Bearer {TEST_OPENAI_KEY}"},
    )
    encoded = response.json()["data"][0]["embedding"]
    assert isinstance(encoded, str)
    assert len(struct.unpack("<3f", base64.b64decode(encoded))) == 3


def test_openai_models_list(llm_server: LLMServer) -> None:
    with openai.OpenAI(api_key=TEST_OPENAI_KEY, base_url=llm_server.base_url) as client:
        ids = [m.id for m in client.models.list()]
        model = client.models.retrieve(OPENAI_MODEL)
    assert OPENAI_MODEL in ids
    assert model.id == OPENAI_MODEL
    assert [r.endpoint for r in llm_server.requests] == ["models.list", "models.retrieve"]


def test_async_openai(llm_server: LLMServer) -> None:
    async def main() -> tuple[str | None, str]:
        async with openai.AsyncOpenAI(
            api_key=TEST_OPENAI_KEY, base_url=llm_server.base_url
        ) as client:
            plain = await client.chat.completions.create(
                model=OPENAI_MODEL, messages=[{"role": "user", "content": "async hi"}]
            )
            stream = await client.chat.completions.create(
                model=OPENAI_MODEL,
                messages=[{"role": "user", "content": "async stream"}],
                stream=True,
            )
            streamed = "".join(
                [c.choices[0].delta.content or "" async for c in stream if c.choices]
            )
            return plain.choices[0].message.content, streamed

    plain, streamed = asyncio.run(main())
    assert plain == "echo: async hi"
    assert streamed == "echo: async stream"
    for rec in llm_server.requests:
        assert credential_headers(rec) == [("authorization", f"Bearer {TEST_OPENAI_KEY}")]
        assert rec.header("x-stainless-async") is not None
        assert rec.header("x-stainless-async") != "false"


# --------------------------------------------------------------------------- azure


def test_azure_openai_uses_api_key_header(llm_server: LLMServer) -> None:
    with openai.AzureOpenAI(
        api_key=TEST_AZURE_KEY,
        azure_endpoint=llm_server.azure_endpoint,
        api_version=AZURE_API_VERSION,
    ) as client:
        completion = client.chat.completions.create(
            model="my-gpt-deployment", messages=[{"role": "user", "content": "azure hi"}]
        )
        stream = client.chat.completions.create(
            model="my-gpt-deployment",
            messages=[{"role": "user", "content": "azure stream"}],
            stream=True,
        )
        streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        emb = client.embeddings.create(model="my-embedding-deployment", input="x")
    assert completion.choices[0].message.content == "echo: azure hi"
    assert streamed == "echo: azure stream"
    assert len(emb.data[0].embedding) == llm_server.embedding_dim

    chat, chat_stream, emb_rec = llm_server.requests
    assert chat.path == "/openai/deployments/my-gpt-deployment/chat/completions"
    assert chat.query == [("api-version", AZURE_API_VERSION)]
    assert (chat.provider, chat.endpoint, chat.deployment) == (
        "azure",
        "chat.completions",
        "my-gpt-deployment",
    )
    assert emb_rec.path == "/openai/deployments/my-embedding-deployment/embeddings"
    assert chat_stream.stream
    for rec in llm_server.requests:
        # AzureOpenAI sends only api-key: <key>; no Authorization header at all
        assert credential_headers(rec) == [("api-key", TEST_AZURE_KEY)]
        assert (rec.key_header, rec.presented_key, rec.accepted) == (
            "api-key",
            TEST_AZURE_KEY,
            True,
        )


def test_azure_ad_token_is_sent_as_bearer(llm_server: LLMServer) -> None:
    with openai.AzureOpenAI(
        azure_ad_token=TEST_AZURE_KEY,
        azure_endpoint=llm_server.azure_endpoint,
        azure_deployment="dep-1",
        api_version=AZURE_API_VERSION,
    ) as client:
        client.chat.completions.create(
            model="ignored", messages=[{"role": "user", "content": "entra"}]
        )
    (rec,) = llm_server.requests_to("chat.completions", "azure")
    assert rec.deployment == "dep-1"
    assert credential_headers(rec) == [("authorization", f"Bearer {TEST_AZURE_KEY}")]
    assert (rec.key_header, rec.accepted) == ("authorization", True)


def test_azure_requires_api_version_and_known_paths(
    llm_server: LLMServer, http: httpx.Client
) -> None:
    headers = {"api-key": TEST_AZURE_KEY}
    body = {"messages": [{"role": "user", "content": "x"}]}
    url = llm_server.azure_endpoint + "/openai/deployments/d/chat/completions"
    assert http.post(url, json=body, headers=headers).status_code == 404
    ok = http.post(url, params={"api-version": "2024-10-21"}, json=body, headers=headers)
    assert ok.status_code == 200
    assert ok.json()["model"] == "d"  # deployment stands in for the model
    bad = http.post(
        url, params={"api-version": "2024-10-21"}, json=body, headers={"api-key": WRONG_KEY}
    )
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "401"
    assert WRONG_KEY not in bad.text


# --------------------------------------------------------------------------- anthropic


def test_anthropic_messages_create_and_default_auth_header(llm_server: LLMServer) -> None:
    with anthropic.Anthropic(
        api_key=TEST_ANTHROPIC_KEY, base_url=llm_server.anthropic_base_url
    ) as client:
        message = client.messages.create(
            model=ANTHROPIC_MODEL,
            max_tokens=64,
            messages=[{"role": "user", "content": "hello claude"}],
        )
    assert message.type == "message" and message.role == "assistant"
    assert message.stop_reason == "end_turn"
    assert [b.type for b in message.content] == ["text"]
    block = message.content[0]
    assert isinstance(block, anthropic.types.TextBlock)
    assert block.text == "echo: hello claude"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0

    (rec,) = llm_server.requests
    assert (rec.path, rec.provider, rec.endpoint) == ("/v1/messages", "anthropic", "messages")
    # anthropic 2.x sends Authorization: Bearer <api_key> and no x-api-key
    assert credential_headers(rec) == [("authorization", f"Bearer {TEST_ANTHROPIC_KEY}")]
    assert (rec.key_header, rec.presented_key, rec.accepted) == (
        "authorization",
        TEST_ANTHROPIC_KEY,
        True,
    )
    assert rec.header("anthropic-version")


def test_anthropic_accepts_x_api_key_header(llm_server: LLMServer, http: httpx.Client) -> None:
    body = {
        "model": ANTHROPIC_MODEL,
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "x"}],
    }
    ok = http.post(
        llm_server.anthropic_base_url + "/v1/messages",
        json=body,
        headers={"x-api-key": TEST_ANTHROPIC_KEY, "anthropic-version": "2023-06-01"},
    )
    assert ok.status_code == 200
    assert ok.json()["content"][0]["text"] == "echo: x"
    assert ok.headers["request-id"].startswith("req_")
    assert llm_server.last_request.key_header == "x-api-key"

    missing_max_tokens = http.post(
        llm_server.anthropic_base_url + "/v1/messages",
        json={k: v for k, v in body.items() if k != "max_tokens"},
        headers={"x-api-key": TEST_ANTHROPIC_KEY, "anthropic-version": "2023-06-01"},
    )
    assert missing_max_tokens.status_code == 400
    assert missing_max_tokens.json()["error"]["type"] == "invalid_request_error"


def test_anthropic_raw_stream_event_sequence(llm_server: LLMServer, http: httpx.Client) -> None:
    llm_server.enqueue_tool_call("get_weather", {"city": "Paris"}, text="Checking")
    with anthropic.Anthropic(
        api_key=TEST_ANTHROPIC_KEY, base_url=llm_server.anthropic_base_url
    ) as client:
        events = list(
            client.messages.create(
                model=ANTHROPIC_MODEL,
                max_tokens=64,
                messages=[{"role": "user", "content": "weather?"}],
                stream=True,
            )
        )
    types = [e.type for e in events]
    # the ping event is skipped by the SDK
    assert types[0] == "message_start"
    assert types[-2:] == ["message_delta", "message_stop"]
    assert types[1:-2] == [
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
    ]
    delta = events[-2]
    assert isinstance(delta, anthropic.types.RawMessageDeltaEvent)
    assert delta.delta.stop_reason == "tool_use"

    response = http.post(
        llm_server.anthropic_base_url + "/v1/messages",
        json={
            "model": ANTHROPIC_MODEL,
            "max_tokens": 5,
            "stream": True,
            "messages": [{"role": "user", "content": "x"}],
        },
        headers={"x-api-key": TEST_ANTHROPIC_KEY},
    )
    names = [
        line.removeprefix("event: ")
        for line in response.text.splitlines()
        if line.startswith("event: ")
    ]
    assert names == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_anthropic_messages_stream_helper_with_tool_use(llm_server: LLMServer) -> None:
    llm_server.enqueue_text("streamed words here")
    llm_server.enqueue_tool_call("get_weather", {"city": "Paris"}, id="toolu_fixed")
    with anthropic.Anthropic(
        api_key=TEST_ANTHROPIC_KEY, base_url=llm_server.anthropic_base_url
    ) as client:
        with client.messages.stream(
            model=ANTHROPIC_MODEL, max_tokens=64, messages=[{"role": "user", "content": "go"}]
        ) as stream:
            pieces = list(stream.text_stream)
            final = stream.get_final_message()
        assert "".join(pieces) == "streamed words here"
        assert len(pieces) == 3
        assert final.stop_reason == "end_turn"

        with client.messages.stream(
            model=ANTHROPIC_MODEL,
            max_tokens=64,
            messages=[{"role": "user", "content": "weather?"}],
            tools=[{"name": "get_weather", "input_schema": {"type": "object"}}],
        ) as stream:
            final = stream.get_final_message()
    (block,) = final.content
    assert isinstance(block, anthropic.types.ToolUseBlock)
    assert (block.id, block.name, block.input) == ("toolu_fixed", "get_weather", {"city": "Paris"})
    assert final.stop_reason == "tool_use"
    assert all(r.stream for r in llm_server.requests)


def test_async_anthropic(llm_server: LLMServer) -> None:
    async def main() -> tuple[str, str]:
        async with anthropic.AsyncAnthropic(
            api_key=TEST_ANTHROPIC_KEY, base_url=llm_server.anthropic_base_url
        ) as client:
            message = await client.messages.create(
                model=ANTHROPIC_MODEL,
                max_tokens=16,
                messages=[{"role": "user", "content": "async claude"}],
            )
            block = message.content[0]
            assert isinstance(block, anthropic.types.TextBlock)
            async with client.messages.stream(
                model=ANTHROPIC_MODEL,
                max_tokens=16,
                messages=[{"role": "user", "content": "async stream"}],
            ) as stream:
                streamed = "".join([t async for t in stream.text_stream])
            return block.text, streamed

    plain, streamed = asyncio.run(main())
    assert (plain, streamed) == ("echo: async claude", "echo: async stream")
    for rec in llm_server.requests:
        assert credential_headers(rec) == [("authorization", f"Bearer {TEST_ANTHROPIC_KEY}")]


def test_anthropic_models_list_shape(llm_server: LLMServer) -> None:
    with anthropic.Anthropic(
        api_key=TEST_ANTHROPIC_KEY, base_url=llm_server.anthropic_base_url
    ) as client:
        ids = [m.id for m in client.models.list()]
    assert ANTHROPIC_MODEL in ids
    assert llm_server.last_request.provider == "anthropic"


# --------------------------------------------------------------------------- langchain


def test_langchain_chat_openai_invoke_stream_and_tools(llm_server: LLMServer) -> None:
    model = ChatOpenAI(
        model=OPENAI_MODEL, api_key=TEST_OPENAI_KEY, base_url=llm_server.base_url, max_retries=0
    )
    assert model.invoke("hi langchain").content == "echo: hi langchain"
    chunks = list(model.stream("stream please"))
    assert "".join(str(c.content) for c in chunks) == "echo: stream please"

    llm_server.enqueue_tool_call("get_weather", {"city": "Paris"})
    with_tools = model.bind_tools([get_weather])
    history: list[BaseMessage] = [HumanMessage("weather in Paris?")]
    ai = with_tools.invoke(history)
    assert isinstance(ai, AIMessage)
    assert [(c["name"], c["args"]) for c in ai.tool_calls] == [("get_weather", {"city": "Paris"})]
    call = ai.tool_calls[0]
    history += [ai, ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"] or "")]
    final = with_tools.invoke(history)
    assert final.content == "echo: tool result: sunny in Paris"

    sent_tools = llm_server.requests[2].json()["tools"]
    assert sent_tools[0]["function"]["name"] == "get_weather"
    for rec in llm_server.requests:
        assert rec.endpoint == "chat.completions"
        assert credential_headers(rec) == [("authorization", f"Bearer {TEST_OPENAI_KEY}")]


def test_langchain_chat_anthropic_invoke_stream_and_tools(llm_server: LLMServer) -> None:
    model = ChatAnthropic(
        model=ANTHROPIC_MODEL,
        api_key=TEST_ANTHROPIC_KEY,
        base_url=llm_server.anthropic_base_url,
        max_retries=0,
    )
    assert model.invoke("hi claude").content == "echo: hi claude"
    chunks = list(model.stream("stream please"))
    assert "".join(str(c.content) for c in chunks) == "echo: stream please"

    llm_server.enqueue_tool_call("get_weather", {"city": "Paris"})
    ai = model.bind_tools([get_weather]).invoke("weather?")
    assert isinstance(ai, AIMessage)
    assert [(c["name"], c["args"]) for c in ai.tool_calls] == [("get_weather", {"city": "Paris"})]
    for rec in llm_server.requests:
        assert rec.endpoint == "messages"
        # ChatAnthropic builds an anthropic.Client(api_key=...) -> Authorization: Bearer
        assert credential_headers(rec) == [("authorization", f"Bearer {TEST_ANTHROPIC_KEY}")]
        assert rec.header("user-agent") is not None
    assert llm_server.requests[1].stream


# --------------------------------------------------------------------------- auth errors


def test_wrong_key_openai_401_without_echoing_key(llm_server: LLMServer) -> None:
    with (
        openai.OpenAI(api_key=WRONG_KEY, base_url=llm_server.base_url, max_retries=2) as client,
        pytest.raises(openai.AuthenticationError) as excinfo,
    ):
        client.chat.completions.create(
            model=OPENAI_MODEL, messages=[{"role": "user", "content": "x"}]
        )
    err = excinfo.value
    assert err.status_code == 401
    assert err.code == "invalid_api_key"
    assert err.body == {
        "message": "Incorrect API key provided",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
    assert WRONG_KEY not in str(err)
    assert WRONG_KEY not in err.response.text
    (rec,) = llm_server.requests  # 401 is not retried
    assert (rec.presented_key, rec.accepted, rec.status) == (WRONG_KEY, False, 401)
    assert llm_server.keys_seen() == {WRONG_KEY}
    assert llm_server.accepted_keys_seen() == set()


def test_wrong_key_anthropic_and_azure_401(llm_server: LLMServer) -> None:
    with (
        anthropic.Anthropic(api_key=WRONG_KEY, base_url=llm_server.anthropic_base_url) as client,
        pytest.raises(anthropic.AuthenticationError) as excinfo,
    ):
        client.messages.create(
            model=ANTHROPIC_MODEL, max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    err = excinfo.value
    assert err.status_code == 401
    assert err.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
    }
    assert WRONG_KEY not in str(err) and WRONG_KEY not in err.response.text

    with (
        openai.AzureOpenAI(
            api_key=WRONG_KEY,
            azure_endpoint=llm_server.azure_endpoint,
            api_version=AZURE_API_VERSION,
        ) as azure,
        pytest.raises(openai.AuthenticationError) as az_info,
    ):
        azure.chat.completions.create(model="d", messages=[{"role": "user", "content": "x"}])
    assert WRONG_KEY not in str(az_info.value)
    assert [(r.provider, r.accepted) for r in llm_server.requests] == [
        ("anthropic", False),
        ("azure", False),
    ]


def test_missing_key_gets_provider_401(llm_server: LLMServer, http: httpx.Client) -> None:
    openai_resp = http.post(
        llm_server.base_url + "/chat/completions",
        json={"model": OPENAI_MODEL, "messages": [{"role": "user", "content": "x"}]},
    )
    assert openai_resp.status_code == 401
    assert "didn't provide an API key" in openai_resp.json()["error"]["message"]
    anthropic_resp = http.post(
        llm_server.anthropic_base_url + "/v1/messages",
        json={"model": ANTHROPIC_MODEL, "max_tokens": 1, "messages": []},
    )
    assert anthropic_resp.json()["error"]["type"] == "authentication_error"
    # an Anthropic key sent in x-api-key does not authenticate an OpenAI request
    wrong_header = http.get(llm_server.base_url + "/models", headers={"api-key": TEST_OPENAI_KEY})
    assert wrong_header.status_code == 401
    assert [r.presented_key for r in llm_server.requests] == [None, None, None]
    assert llm_server.requests[2].credentials == (("api-key", TEST_OPENAI_KEY),)


def test_accepted_keys_callable_and_rotation(llm_server: LLMServer, http: httpx.Client) -> None:
    current = {"value": "sk-rotating-1"}
    llm_server.accepted_keys = lambda: {current["value"]}

    def call(key: str) -> int:
        response = http.get(
            llm_server.base_url + "/models", headers={"Authorization": f"Bearer {key}"}
        )
        return response.status_code

    assert call("sk-rotating-1") == 200
    assert call(TEST_OPENAI_KEY) == 401  # replaced the fixture's static set
    current["value"] = "sk-rotating-2"
    assert (call("sk-rotating-1"), call("sk-rotating-2")) == (401, 200)
    llm_server.accepted_keys = {"static"}
    llm_server.accept("added")
    assert llm_server.accepted_keys == {"static", "added"}
    llm_server.revoke("static")
    assert (call("static"), call("added")) == (401, 200)
    with pytest.raises(TypeError):
        llm_server.accepted_keys = "not-a-collection"


def test_strict_auth_rejects_extra_unknown_credentials(
    llm_server: LLMServer, http: httpx.Client
) -> None:
    headers = {"Authorization": f"Bearer {TEST_OPENAI_KEY}", "api-key": "sk-leaked-placeholder"}
    assert http.get(llm_server.base_url + "/models", headers=headers).status_code == 200
    llm_server.strict_auth = True
    assert http.get(llm_server.base_url + "/models", headers=headers).status_code == 401
    assert "sk-leaked-placeholder" in llm_server.keys_seen()


# --------------------------------------------------------------------------- failures & retries


def test_openai_retries_after_scripted_500(llm_server: LLMServer) -> None:
    llm_server.fail_next(1, 500)
    with openai.OpenAI(api_key=TEST_OPENAI_KEY, base_url=llm_server.base_url) as client:
        completion = client.chat.completions.create(
            model=OPENAI_MODEL, messages=[{"role": "user", "content": "retry me"}]
        )
    assert completion.choices[0].message.content == "echo: retry me"
    first, second = llm_server.requests
    assert (first.status, second.status) == (500, 200)
    assert (first.header("x-stainless-retry-count"), second.header("x-stainless-retry-count")) == (
        "0",
        "1",
    )
    assert first.presented_key == second.presented_key == TEST_OPENAI_KEY
    assert first.body == second.body
    assert llm_server.request_count == 2


def test_anthropic_retries_after_429_and_529(llm_server: LLMServer) -> None:
    llm_server.fail_next(1, 429)
    llm_server.fail_next(1, 529)
    with anthropic.Anthropic(
        api_key=TEST_ANTHROPIC_KEY, base_url=llm_server.anthropic_base_url, max_retries=2
    ) as client:
        message = client.messages.create(
            model=ANTHROPIC_MODEL, max_tokens=5, messages=[{"role": "user", "content": "r"}]
        )
    assert message.content[0].type == "text"
    assert [r.status for r in llm_server.requests] == [429, 529, 200]
    assert llm_server.pending_failures == 0


def test_scripted_failures_surface_without_retries(
    llm_server: LLMServer, http: httpx.Client
) -> None:
    llm_server.fail_next(1, 500)
    llm_server.fail_next(1, 429, retry_after_ms=None)
    with openai.OpenAI(
        api_key=TEST_OPENAI_KEY, base_url=llm_server.base_url, max_retries=0
    ) as client:
        with pytest.raises(openai.InternalServerError) as server_err:
            client.models.list()
        with pytest.raises(openai.RateLimitError) as rate_err:
            client.models.list()
    assert server_err.value.response.headers["retry-after-ms"] == "5"
    assert "retry-after-ms" not in rate_err.value.response.headers
    assert rate_err.value.code == "rate_limit_exceeded"
    # failures only apply to authenticated requests; a bad key still gets a 401
    llm_server.fail_next(1, 500)
    bad = http.get(llm_server.base_url + "/models", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and llm_server.pending_failures == 1


# --------------------------------------------------------------------------- observability


def test_reset_counters_and_unknown_paths(llm_server: LLMServer, http: httpx.Client) -> None:
    headers = {"Authorization": f"Bearer {TEST_OPENAI_KEY}"}
    assert http.get(llm_server.base_url + "/nope", headers=headers).status_code == 404
    llm_server.enqueue_text("unused")
    llm_server.fail_next(2)
    assert llm_server.request_count == 1
    assert llm_server.last_request.endpoint == "unknown"
    llm_server.reset()
    assert llm_server.requests == []
    assert (llm_server.pending_replies, llm_server.pending_failures) == (0, 0)
    assert llm_server.accepted_keys  # keys survive reset
    with pytest.raises(AssertionError):
        _ = llm_server.last_request


def test_concurrent_requests_are_all_recorded(llm_server: LLMServer) -> None:
    errors: list[BaseException] = []
    client = openai.OpenAI(api_key=TEST_OPENAI_KEY, base_url=llm_server.base_url)

    def worker(i: int) -> None:
        try:
            out = client.chat.completions.create(
                model=OPENAI_MODEL, messages=[{"role": "user", "content": f"n{i}"}]
            )
            assert out.choices[0].message.content == f"echo: n{i}"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    client.close()
    assert errors == []
    assert llm_server.request_count == 16
    assert sorted(r.index for r in llm_server.requests) == list(range(16))
    assert {r.json()["messages"][0]["content"] for r in llm_server.requests} == {
        f"n{i}" for i in range(16)
    }


def test_https_llm_server_with_test_ca(https_llm_server: LLMServer, tls_pki: TestPKI) -> None:
    assert https_llm_server.base_url.startswith("https://127.0.0.1:")
    with openai.OpenAI(
        api_key=TEST_OPENAI_KEY,
        base_url=https_llm_server.base_url,
        http_client=openai.DefaultHttpxClient(verify=tls_pki.client_ssl_context()),
    ) as client:
        out = client.chat.completions.create(
            model=OPENAI_MODEL, messages=[{"role": "user", "content": "tls"}]
        )
    assert out.choices[0].message.content == "echo: tls"
    assert https_llm_server.last_request.tls


def test_server_lifecycle_without_fixture() -> None:
    server = LLMServer(accepted_keys={"k"})
    with pytest.raises(RuntimeError):
        _ = server.port
    with server:
        assert server.running
        port = server.port
        assert server.base_url == f"http://127.0.0.1:{port}/v1"
        assert server.anthropic_base_url == server.azure_endpoint == f"http://127.0.0.1:{port}"
        # a keep-alive connection left open does not block stop()
        client = httpx.Client()
        response = client.get(server.base_url + "/models", headers={"Authorization": "Bearer k"})
        assert response.status_code == 200
    assert not server.running
    with pytest.raises(httpx.TransportError):
        client.get(f"http://127.0.0.1:{port}/v1/models", timeout=1)
    client.close()
