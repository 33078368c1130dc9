"""``requires_credential`` tools inside real agent loops (GitHub issue 5, points 3, 4 and 6).

A prebuilt langgraph agent (``create_agent`` when langchain 1.x is installed, else
``create_react_agent``) and hand-built graphs around a default ``ToolNode``, driven by
``chat_model`` (a real ``ChatOpenAI`` keyed from the store) against the loopback LLM server,
which is scripted to return tool calls; the tool calls a loopback third-party API that accepts
only the current key. Both the tool key and the LLM key are canaries.
"""

from __future__ import annotations

import asyncio
import json
import logging
import warnings
from collections.abc import Sequence
from typing import Annotated, Any

import httpx2
import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, InjectedToolCallId, tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import InjectedState, ToolNode, ToolRuntime

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.errors import disabled_message
from agentrun_creds_plugin.integrations.langchain import chat_model
from agentrun_creds_plugin.integrations.tools import requires_credential
from agentrun_creds_plugin.selection import use_credentials
from tests.integrations.tools_fixtures import (
    RecordingHandler,
    RunTreeTracer,
    WeatherApi,
    assert_absent,
    langsmith_tracer,
    new_canary,
)
from tests.support.llm_server import LLMServer

NOT_FOUND = "credential 'weather-key' not found; list them with store.list() or agentrun-creds list"


def react_agent(model: Any, tools: Sequence[BaseTool]) -> Any:
    """The prebuilt agent of the installed versions."""
    try:
        from langchain.agents import create_agent  # type: ignore[import-not-found]
    except ImportError:
        with warnings.catch_warnings():  # moved to langchain.agents in langgraph 1.x
            warnings.simplefilter("ignore", DeprecationWarning)
            from langgraph.prebuilt import create_react_agent

            return create_react_agent(model, list(tools))
    return create_agent(model, list(tools))


def tool_node_graph(tools: Sequence[BaseTool]) -> Any:
    """START -> default ToolNode -> "after" -> END: "after" runs only if the graph went on."""
    graph = StateGraph(MessagesState)
    graph.add_node("tools", ToolNode(list(tools)))
    graph.add_node("after", lambda state: {"messages": [AIMessage("graph went on")]})
    graph.add_edge(START, "tools")
    graph.add_edge("tools", "after")
    graph.add_edge("after", END)
    return graph.compile()


def tool_node_graph_handling(tools: Sequence[BaseTool]) -> Any:
    """START -> ToolNode(handle_tool_errors=True) -> END."""
    graph = StateGraph(MessagesState)
    graph.add_node("tools", ToolNode(list(tools), handle_tool_errors=True))
    graph.add_edge(START, "tools")
    graph.add_edge("tools", END)
    return graph.compile()


def calls_key_param() -> dict[str, list[BaseMessage]]:
    return {"messages": [AIMessage("", tool_calls=[{"name": "key_param", "args": {}, "id": "k"}])]}


def calls(*cities: str) -> dict[str, list[BaseMessage]]:
    tool_calls = [
        {"name": "get_weather", "args": {"city": c}, "id": f"call-{i}"}
        for i, c in enumerate(cities)
    ]
    return {"messages": [AIMessage("", tool_calls=tool_calls)]}


def select(name: str) -> RunnableConfig:
    return {"configurable": {"agentrun_credentials": {"weather-key": name}}}


@pytest.fixture
def creds(
    store: acp.CredentialStore, key: str, llm_key: str, llm: LLMServer
) -> acp.CredentialStore:
    store.create("weather-key", acp.ToolApiKeyCredential(api_key=key, param="X-Api-Key"))
    store.create(
        "llm-key",
        acp.ModelServiceCredential(
            provider="openai_compatible", api_key=llm_key, base_url=llm.base_url
        ),
    )
    store.create_model("gpt", credential="llm-key", model="gpt-4o-mini")
    return store


@pytest.fixture
def get_weather(creds: acp.CredentialStore, api: WeatherApi) -> BaseTool:
    @tool
    @requires_credential(creds, "weather-key", into="client", client_kwargs={"base_url": api.url()})
    def get_weather(city: str, client: httpx2.Client) -> str:
        """Current weather for a city."""
        response = client.get("/v1/current", params={"city": city})
        response.raise_for_status()
        return response.text

    return get_weather


@pytest.fixture
def aget_weather(creds: acp.CredentialStore, api: WeatherApi) -> BaseTool:
    @tool
    @requires_credential(creds, "weather-key", into="client", client_kwargs={"base_url": api.url()})
    async def get_weather(city: str, client: httpx2.AsyncClient) -> str:
        """Current weather for a city."""
        response = await client.get("/v1/current", params={"city": city})
        response.raise_for_status()
        return response.text

    return get_weather


def _tool_messages(state: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in state["messages"] if isinstance(m, ToolMessage)]


def _accounts(state: dict[str, Any]) -> list[str]:
    return [json.loads(str(m.content))["account"] for m in _tool_messages(state)]


# -- 3. a real agent loop -----------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_agent_calls_the_tool_and_nothing_sees_the_secrets(
    creds: acp.CredentialStore,
    api: WeatherApi,
    llm: LLMServer,
    key: str,
    llm_key: str,
    get_weather: BaseTool,
    aget_weather: BaseTool,
    caplog: pytest.LogCaptureFixture,
    mode: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    agent = react_agent(chat_model(creds, "gpt"), [get_weather if mode == "sync" else aget_weather])
    llm.enqueue_tool_call("get_weather", {"city": "Paris"})
    llm.enqueue_text("It is sunny in Paris.")
    handler, tracer = RecordingHandler(), RunTreeTracer()
    ls_tracer, ls_client = langsmith_tracer()
    config: RunnableConfig = {"callbacks": [handler, tracer, ls_tracer]}
    question = {"messages": [("user", "What is the weather in Paris?")]}
    if mode == "sync":
        state = agent.invoke(question, config=config)
    else:
        state = asyncio.run(agent.ainvoke(question, config=config))
    ls_tracer.wait_for_futures()

    assert state["messages"][-1].content == "It is sunny in Paris."
    (tool_message,) = _tool_messages(state)
    assert json.loads(str(tool_message.content))["conditions"] == "sunny"
    assert tool_message.status == "success"
    assert api.presented_keys() == [key]
    # the schema the model got: city only
    chat_requests = llm.requests_to("chat.completions")
    assert len(chat_requests) == 2 and all(r.accepted for r in chat_requests)
    (sent_tool,) = chat_requests[0].json()["tools"]
    assert sent_tool["function"]["name"] == "get_weather"
    assert sent_tool["function"]["parameters"]["properties"] == {"city": {"type": "string"}}
    # the model got the tool's result, and no secret, back
    assert chat_requests[1].json()["messages"][-1]["role"] == "tool"
    for secret in (key, llm_key):
        assert_absent(
            secret,
            llm_request_bodies="\n".join(r.body.decode() for r in chat_requests),
            callbacks=handler.text(),
            run_tree=tracer.tree_json(),
            langsmith=ls_client.text(),
            final_state=repr(state),
            logs=caplog.text + "\n".join(repr(r.__dict__) for r in caplog.records),
        )
    assert {e.resource for e in creds.audit("weather-key", action="used")} == {"get_weather"}
    assert ("tool", "get_weather") in creds.attachments("weather-key")


def test_other_injected_arguments_still_work_under_tool_node(creds: acp.CredentialStore) -> None:
    """InjectedState, InjectedToolCallId and ToolRuntime keep working beside our injection."""

    @tool
    @requires_credential(creds, "weather-key")
    def get_weather(
        city: str,
        credential: acp.ToolApiKeyCredential,
        state: Annotated[dict[str, Any], InjectedState],
        call_id: Annotated[str, InjectedToolCallId],
        runtime: ToolRuntime,
    ) -> str:
        """Current weather for a city."""
        return (
            f"{city} {credential.param} {len(state['messages'])} {call_id} {runtime.tool_call_id}"
        )

    assert list(get_weather.args) == ["city"]
    state = tool_node_graph([get_weather]).invoke(calls("Paris"))
    assert [m.content for m in _tool_messages(state)] == ["Paris X-Api-Key 1 call-0 call-0"]


# -- 4. disabled or deleted: the failure is the tool message, the loop goes on -------------------
@pytest.mark.parametrize("change", ["disable", "delete"])
def test_agent_loop_goes_on_with_the_failure_as_the_tool_message(
    creds: acp.CredentialStore,
    api: WeatherApi,
    llm: LLMServer,
    key: str,
    get_weather: BaseTool,
    change: str,
) -> None:
    agent = react_agent(chat_model(creds, "gpt"), [get_weather])
    if change == "disable":
        creds.disable("weather-key")
        expected = disabled_message("weather-key")
    else:
        creds.delete("weather-key", force=True)
        expected = NOT_FOUND
    llm.enqueue_tool_call("get_weather", {"city": "Paris"})
    llm.enqueue_text("The weather service is not available right now.")
    handler = RecordingHandler()
    state = agent.invoke(
        {"messages": [("user", "Weather in Paris?")]}, config={"callbacks": [handler]}
    )

    (tool_message,) = _tool_messages(state)
    assert tool_message.status == "error"
    assert tool_message.content == expected
    assert state["messages"][-1].content == "The weather service is not available right now."
    # the model was told exactly that text; the API never saw a request
    assert llm.requests_to("chat.completions")[1].json()["messages"][-1]["content"] == expected
    assert api.request_count == 0
    assert_absent(key, callbacks=handler.text(), final_state=repr(state))
    if change == "disable":
        failed = creds.audit("weather-key", action="use_failed")
        assert [(e.resource, e.reason) for e in failed] == [("get_weather", "disabled")]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_default_tool_node_turns_credential_failures_into_tool_messages(
    creds: acp.CredentialStore,
    api: WeatherApi,
    get_weather: BaseTool,
    aget_weather: BaseTool,
    mode: str,
) -> None:
    @tool
    @requires_credential(creds, "weather-key", into="cred")
    def key_param(cred: acp.ToolApiKeyCredential) -> str:
        """Which header carries the key."""
        return cred.param

    graph = tool_node_graph([get_weather if mode == "sync" else aget_weather, key_param])
    creds.disable("weather-key")
    both: dict[str, list[BaseMessage]] = {
        "messages": [
            AIMessage(
                "",
                tool_calls=[
                    {"name": "get_weather", "args": {"city": "Paris"}, "id": "call-0"},
                    {"name": "key_param", "args": {}, "id": "call-k"},
                ],
            )
        ]
    }

    def run(graph_input: dict[str, list[BaseMessage]]) -> dict[str, Any]:
        if mode == "sync":
            return dict(graph.invoke(graph_input))
        return dict(asyncio.run(graph.ainvoke(graph_input)))

    state = run(both)
    messages = _tool_messages(state)
    assert [(m.name, m.status, m.content) for m in messages] == [
        ("get_weather", "error", disabled_message("weather-key")),
        ("key_param", "error", disabled_message("weather-key")),
    ]
    assert state["messages"][-1].content == "graph went on"
    # handle_tool_errors=True: LangGraph's own template, around the same text
    (handled,) = _tool_messages(tool_node_graph_handling([key_param]).invoke(calls_key_param()))
    assert handled.status == "error" and disabled_message("weather-key") in str(handled.content)
    # an error that is not a credential failure keeps the ToolNode default: it is raised
    creds.enable("weather-key")
    api.keys.clear()
    with pytest.raises(httpx2.HTTPStatusError):
        run(calls("Paris"))


# -- 6. per-run selection in agent runs ----------------------------------------------------------
@pytest.fixture
def tenants(creds: acp.CredentialStore, api: WeatherApi) -> dict[str, str]:
    keys = {"tenant-a": new_canary(), "tenant-b": new_canary()}
    for name, value in keys.items():
        creds.create(name, acp.ToolApiKeyCredential(api_key=value, param="X-Api-Key"))
        api.accept(value, account=name)
    return keys


def test_agent_runs_use_each_tenants_credential(
    creds: acp.CredentialStore,
    api: WeatherApi,
    llm: LLMServer,
    key: str,
    tenants: dict[str, str],
    get_weather: BaseTool,
) -> None:
    agent = react_agent(chat_model(creds, "gpt"), [get_weather])
    question = {"messages": [("user", "Weather in Paris?")]}

    def run(config: RunnableConfig | None = None) -> list[str]:
        llm.enqueue_tool_call("get_weather", {"city": "Paris"})
        llm.enqueue_text("done")
        return _accounts(agent.invoke(question, config=config))

    handler = RecordingHandler()
    ls_tracer, ls_client = langsmith_tracer()
    assert run({**select("tenant-a"), "callbacks": [handler, ls_tracer]}) == ["tenant-a"]
    with use_credentials({"weather-key": "tenant-b"}):
        assert run() == ["tenant-b"]
    assert run() == ["default"]
    assert api.presented_keys() == [tenants["tenant-a"], tenants["tenant-b"], key]
    ls_tracer.wait_for_futures()
    # the config carried names only: no secret in any callback or trace
    for secret in [key, *tenants.values()]:
        assert_absent(secret, callbacks=handler.text(), langsmith=ls_client.text())


def test_selection_survives_tool_node_threads_and_concurrent_tasks(
    creds: acp.CredentialStore,
    api: WeatherApi,
    tenants: dict[str, str],
    get_weather: BaseTool,
    aget_weather: BaseTool,
) -> None:
    sync_graph = tool_node_graph([get_weather])
    cities = ("Paris", "Oslo", "Rome", "Lima")
    # one AI message with several tool calls: ToolNode runs them in its thread pool
    with use_credentials({"weather-key": "tenant-a"}):
        assert _accounts(sync_graph.invoke(calls(*cities))) == ["tenant-a"] * 4
    assert (
        _accounts(sync_graph.invoke(calls(*cities), config=select("tenant-b"))) == ["tenant-b"] * 4
    )

    # concurrent async runs, each with its own selection (context manager or config), for the
    # async tool and for the sync one (run by ainvoke in an executor)
    async def by_context(graph: Any, name: str) -> list[str]:
        with use_credentials({"weather-key": name}):
            await asyncio.sleep(0)
            return _accounts(await graph.ainvoke(calls(*cities)))

    async def by_config(graph: Any, name: str) -> list[str]:
        return _accounts(await graph.ainvoke(calls(*cities), config=select(name)))

    async def main() -> list[list[str]]:
        runs = []
        for graph in (tool_node_graph([aget_weather]), sync_graph):
            for name in ("tenant-a", "tenant-b") * 2:
                runs += [by_context(graph, name), by_config(graph, name)]
        return list(await asyncio.gather(*runs))

    results = asyncio.run(main())
    expected = [
        [name] * 4 for _graph in range(2) for name in ("tenant-a", "tenant-b") * 2 for _how in "xy"
    ]
    assert results == expected
