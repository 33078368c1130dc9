"""``requires_credential``: tools that use a credential by name (GitHub issue 5).

Real parts only: a real SQLite store, LangChain's ``@tool`` / ``StructuredTool``, real
``httpx2`` / ``httpx`` / ``requests`` clients talking to a loopback "third-party API" that
accepts only the current key. Agent loops (langgraph) are in ``test_tools_agent.py``.

This module uses ``from __future__ import annotations`` on purpose: every tool function below
has string annotations, as in user code that does the same.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import logging
import pickle
import threading
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import httpx2
import pytest
import requests
from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import StructuredTool, ToolException, tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import SecretStr

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.errors import disabled_message
from agentrun_creds_plugin.integrations.tools import (
    CONFIG_PARAM,
    CredentialToolError,
    requires_credential,
)
from agentrun_creds_plugin.selection import use_credentials
from tests.integrations.tools_fixtures import (
    RecordingHandler,
    RunTreeTracer,
    WeatherApi,
    assert_absent,
    langsmith_tracer,
    new_canary,
)
from tests.support.certs import TestPKI

NOT_FOUND = "credential 'weather-key' not found; list them with store.list() or agentrun-creds list"


def tool_call(name: str, args: dict[str, Any], call_id: str = "call-1") -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name, "args": args}


@pytest.fixture
def creds(store: acp.CredentialStore, key: str) -> acp.CredentialStore:
    """The store with ``weather-key``: the canary, sent in ``X-Api-Key``."""
    store.create("weather-key", acp.ToolApiKeyCredential(api_key=key, param="X-Api-Key"))
    return store


def _uses(store: acp.CredentialStore, name: str = "weather-key") -> list[acp.AuditEvent]:
    return store.audit(name, action="used")


# -- 1. the schema ------------------------------------------------------------------------------
def _schema_texts(t: Any) -> dict[str, str]:
    return {
        "args": json.dumps(t.args),
        "tool_call_schema": json.dumps(t.tool_call_schema.model_json_schema()),
        "openai_tool": json.dumps(convert_to_openai_tool(t)),
        "input_schema": json.dumps(t.get_input_schema().model_json_schema()),
    }


def test_injected_credential_is_absent_from_every_schema(creds: acp.CredentialStore) -> None:
    @tool
    @requires_credential(creds, "weather-key")
    def get_weather(city: str, credential: acp.ToolApiKeyCredential, days: int = 1) -> str:
        """Current weather for a city."""
        return city

    assert get_weather.name == "get_weather"
    assert get_weather.description == "Current weather for a city."
    assert list(get_weather.args) == ["city", "days"]
    for where, text in _schema_texts(get_weather).items():
        assert "credential" not in text, where
        assert CONFIG_PARAM not in text, where
    assert convert_to_openai_tool(get_weather)["function"]["parameters"]["required"] == ["city"]
    # help() and inspect show what the tool takes, not the injected parameter
    params = inspect.signature(get_weather.func).parameters  # type: ignore[attr-defined]
    assert "credential" not in params
    assert list(params) == ["city", "days", CONFIG_PARAM]


def _fetch_httpx2(city: str, http: httpx2.Client) -> str:
    """Fetch the weather."""
    return city


def _fetch_httpx(city: str, http: httpx.Client) -> str:
    """Fetch the weather."""
    return city


def _fetch_requests(city: str, http: requests.Session) -> str:
    """Fetch the weather."""
    return city


async def _fetch_async(city: str, http: httpx2.AsyncClient | None = None) -> str:
    """Fetch the weather."""
    return city


@pytest.mark.parametrize("func", [_fetch_httpx2, _fetch_httpx, _fetch_requests, _fetch_async])
def test_injected_client_is_absent_from_every_schema(creds: acp.CredentialStore, func: Any) -> None:
    t = tool(requires_credential(creds, "weather-key", into="http")(func))
    assert list(t.args) == ["city"]
    for where, text in _schema_texts(t).items():
        assert '"http"' not in text, where
        assert CONFIG_PARAM not in text, where


def test_structured_tool_from_function_sync_and_async(
    creds: acp.CredentialStore, api: WeatherApi
) -> None:
    @requires_credential(
        creds,
        "weather-key",
        into="client",
        tool_name="weather",
        client_kwargs={"base_url": api.url()},
    )
    def weather(city: str, client: httpx2.Client) -> str:
        """Current weather for a city."""
        return str(client.get("/v1/current", params={"city": city}).json()["conditions"])

    @requires_credential(
        creds,
        "weather-key",
        into="client",
        tool_name="weather",
        client_kwargs={"base_url": api.url()},
    )
    async def aweather(city: str, client: httpx2.AsyncClient) -> str:
        """Current weather for a city."""
        return str((await client.get("/v1/current", params={"city": city})).json()["conditions"])

    t = StructuredTool.from_function(func=weather, coroutine=aweather)
    assert t.name == "weather"
    assert list(t.args) == ["city"]
    assert t.invoke({"city": "Paris"}) == "sunny"
    assert asyncio.run(t.ainvoke({"city": "Oslo"})) == "sunny"
    assert [r.query_value("city") for r in api.requests] == ["Paris", "Oslo"]
    assert creds.attachments("weather-key") == [("tool", "weather")]


def test_parse_docstring_may_document_the_injected_parameter(creds: acp.CredentialStore) -> None:
    @tool(parse_docstring=True)
    @requires_credential(creds, "weather-key")
    def get_weather(city: str, credential: acp.ToolApiKeyCredential) -> str:
        """Current weather for a city.

        Args:
            city: The city, e.g. Paris.
            credential: Injected by the plugin; the model never sees it.
        """
        return city

    assert get_weather.description == "Current weather for a city."
    assert get_weather.args == {
        "city": {"description": "The city, e.g. Paris.", "title": "City", "type": "string"}
    }


def test_annotated_descriptions_and_own_runnable_config_are_kept(
    creds: acp.CredentialStore,
) -> None:
    seen: list[Any] = []

    @tool
    @requires_credential(creds, "weather-key")
    def get_weather(
        city: Annotated[str, "the city"],
        credential: acp.ToolApiKeyCredential,
        config: RunnableConfig,
    ) -> str:
        """Current weather for a city."""
        seen.append(config["configurable"]["tenant"])
        return city

    assert get_weather.args == {
        "city": {"description": "the city", "title": "City", "type": "string"}
    }
    params = inspect.signature(get_weather.func).parameters  # type: ignore[attr-defined]
    assert list(params) == ["city", "config"]  # its own config parameter, no extra one
    assert (
        get_weather.invoke({"city": "Paris"}, config={"configurable": {"tenant": "t1"}}) == "Paris"
    )
    assert seen == ["t1"]


def test_the_model_cannot_supply_the_injected_value(creds: acp.CredentialStore, key: str) -> None:
    got: list[str] = []

    @tool
    @requires_credential(creds, "weather-key")
    def get_weather(city: str, credential: acp.ToolApiKeyCredential) -> str:
        """Current weather for a city."""
        got.append(credential.api_key.get_secret_value())
        return city

    evil = {"city": "Paris", "credential": "attacker-value", CONFIG_PARAM: {"x": 1}}
    get_weather.invoke(tool_call("get_weather", evil))
    get_weather.invoke(evil)
    assert got == [key, key]


# -- injection and call-time resolution ---------------------------------------------------------
def test_plain_function_gets_the_credential_resolved_at_each_call(
    creds: acp.CredentialStore, key: str
) -> None:
    @requires_credential(creds, "weather-key")
    def get_key(credential: acp.ToolApiKeyCredential) -> tuple[str, SecretStr]:
        return credential.param, credential.api_key

    assert _uses(creds) == []  # nothing resolved at decoration
    param, secret = get_key()
    assert (param, secret.get_secret_value()) == ("X-Api-Key", key)
    assert key not in repr(secret)
    rotated = new_canary()
    creds.update("weather-key", acp.ToolApiKeyCredential(api_key=rotated, param="X-Api-Key"))
    assert get_key()[1].get_secret_value() == rotated  # no rebuild
    assert len(_uses(creds)) == 2


@pytest.mark.parametrize("client_type", ["httpx2", "httpx", "requests"])
def test_sync_client_injection_calls_the_api_with_the_current_key(
    creds: acp.CredentialStore, api: WeatherApi, key: str, client_type: str
) -> None:
    clients: list[Any] = []

    def body(city: str, client: Any) -> str:
        """Current weather for a city."""
        clients.append(client)
        r = client.get(api.url("/v1/current"), params={"city": city})
        r.raise_for_status()
        return f"{r.json()['city']}: {r.json()['conditions']}"

    body.__annotations__["client"] = {
        "httpx2": httpx2.Client,
        "httpx": httpx.Client,
        "requests": requests.Session,
    }[client_type]
    get_weather = tool("get_weather")(
        requires_credential(creds, "weather-key", into="client")(body)
    )

    assert get_weather.invoke({"city": "Paris"}) == "Paris: sunny"
    rotated = new_canary()
    api.accept(rotated)
    creds.update("weather-key", acp.ToolApiKeyCredential(api_key=rotated, param="X-Api-Key"))
    assert get_weather.invoke({"city": "Oslo"}) == "Oslo: sunny"
    assert api.presented_keys() == [key, rotated]
    assert all(r.accepted for r in api.requests)
    assert clients[0] is not clients[1]  # a new client per call ...
    for c in clients:  # ... closed when the call returns
        if client_type == "requests":
            assert c.auth is not None
        else:
            assert c.is_closed
    assert [e.resource for e in _uses(creds)] == ["body", "body"]


@pytest.mark.parametrize("client_type", ["httpx2", "httpx"])
def test_async_client_injection(
    creds: acp.CredentialStore, api: WeatherApi, key: str, client_type: str
) -> None:
    async def body(city: str, client: Any) -> str:
        """Current weather for a city."""
        r = await client.get("/v1/current", params={"city": city})
        return str(r.json()["conditions"])

    body.__annotations__["client"] = {"httpx2": httpx2.AsyncClient, "httpx": httpx.AsyncClient}[
        client_type
    ]
    decorated = requires_credential(
        creds, "weather-key", into="client", client_kwargs={"base_url": api.url(), "timeout": 5}
    )(body)
    assert inspect.iscoroutinefunction(decorated)
    t = tool(decorated)
    assert asyncio.run(t.ainvoke({"city": "Paris"})) == "sunny"
    assert asyncio.run(decorated("Oslo")) == "sunny"
    assert api.presented_keys() == [key, key]


def test_async_function_with_a_credential(creds: acp.CredentialStore, key: str) -> None:
    @tool
    @requires_credential(creds, "weather-key", into="cred")
    async def get_weather(city: str, cred: acp.ToolApiKeyCredential) -> str:
        """Current weather for a city."""
        await asyncio.sleep(0)
        return f"{city}:{cred.api_key.get_secret_value() == key}"

    assert asyncio.run(get_weather.ainvoke({"city": "Paris"})) == "Paris:True"


def test_query_parameter_key_and_custom_headers(
    store: acp.CredentialStore, api: WeatherApi, key: str
) -> None:
    store.create("q-key", acp.ToolApiKeyCredential(api_key=key, location="query", param="key"))
    store.create("h-key", acp.CustomHeadersCredential(headers={"X-Api-Key": key, "X-Team": "t"}))

    @requires_credential(store, "q-key", into="client")
    def by_query(client: httpx2.Client) -> str:
        r = client.get(api.url("/v1/current"), params={"city": "Rome"})
        return f"{r.status_code} {r.request.url}"

    @requires_credential(store, "h-key", into="client")
    def by_headers(client: httpx2.Client) -> int:
        return client.get(api.url("/v1/current"), params={"city": "Rome"}).status_code

    out = by_query()
    assert out.startswith("200 ")
    assert key not in out  # the URL the function sees afterwards is redacted
    assert by_headers() == 200
    assert api.presented_keys() == [key, key]
    assert api.requests[1].header("X-Team") == "t"


def test_https_api_with_client_kwargs(
    creds: acp.CredentialStore, loopback_env: None, tls_pki: TestPKI, key: str
) -> None:
    """``client_kwargs`` reach the client: base URL, timeout and the trust for an HTTPS API."""
    with WeatherApi(key, tls=tls_pki) as secure:

        @tool
        @requires_credential(
            creds,
            "weather-key",
            into="client",
            client_kwargs={
                "base_url": secure.url(),
                "timeout": 5,
                "verify": tls_pki.client_ssl_context(),
            },
        )
        def get_weather(city: str, client: httpx2.Client) -> str:
            """Current weather for a city."""
            return str(client.get("/v1/current", params={"city": city}).json()["city"])

        assert get_weather.invoke({"city": "Paris"}) == "Paris"
        (request,) = secure.requests
        assert request.tls and WeatherApi.key_of(request.headers, request.query) == key


def test_positional_calls_and_injection_into_the_first_parameter(
    creds: acp.CredentialStore, key: str
) -> None:
    @requires_credential(creds, "weather-key")
    def first(credential: acp.ToolApiKeyCredential, city: str, /, unit: str = "C") -> str:
        return f"{city}-{unit}-{credential.api_key.get_secret_value() == key}"

    assert first("Paris") == "Paris-C-True"
    assert first("Paris", unit="F") == "Paris-F-True"

    @requires_credential(creds, "weather-key")
    def star(city: str, *more: str, credential: acp.ToolApiKeyCredential, **extra: str) -> str:
        return "|".join([city, *more, *sorted(extra.values()), str(credential.param)])

    assert star("a", "b", "c", x="d") == "a|b|c|d|X-Api-Key"
    with pytest.raises(TypeError, match="unexpected keyword argument 'credential'"):
        first("Paris", credential="mine")


def test_kind_mismatch_is_refused(store: acp.CredentialStore, key: str) -> None:
    store.create("headers", acp.CustomHeadersCredential(headers={"X-Api-Key": key}))

    @requires_credential(store, "headers")
    def f(credential: acp.ToolApiKeyCredential) -> str:
        return "unreachable"

    with pytest.raises(acp.InvalidCredentialError) as info:
        f()
    assert info.value.status_code == 422
    assert "custom_headers" in str(info.value) and "ToolApiKeyCredential" in str(info.value)
    assert key not in str(info.value)

    @requires_credential(store, "headers")
    def g(credential: acp.ToolApiKeyCredential | acp.CustomHeadersCredential) -> str:
        return type(credential).__name__

    assert g() == "CustomHeadersCredential"


def test_decoration_errors_are_clear(creds: acp.CredentialStore) -> None:
    def f(city: str, cred: acp.ToolApiKeyCredential) -> str:
        return city

    with pytest.raises(TypeError, match=r"no parameter 'credential'.*\(city, cred\)"):
        requires_credential(creds, "weather-key")(f)
    with pytest.raises(TypeError, match=r"\*args/\*\*kwargs"):
        requires_credential(creds, "weather-key", into="kw")(lambda **kw: kw)

    def sync_with_async_client(client: httpx2.AsyncClient) -> None: ...

    with pytest.raises(TypeError, match="async def"):
        requires_credential(creds, "weather-key", into="client")(sync_with_async_client)

    def gen(credential: Any) -> Iterator[str]:
        yield "x"

    with pytest.raises(TypeError, match="generator"):
        requires_credential(creds, "weather-key")(gen)
    with pytest.raises(acp.InvalidCredentialError):
        requires_credential(creds, "not a name")
    with pytest.raises(TypeError, match="auth"):
        requires_credential(creds, "weather-key", client_kwargs={"auth": ("u", "p")})
    with pytest.raises(TypeError, match="not annotated as an HTTP client"):
        requires_credential(creds, "weather-key", into="cred", client_kwargs={"timeout": 1})(f)

    def two(client: httpx2.Client | httpx.Client) -> None: ...

    with pytest.raises(TypeError, match="one HTTP client class"):
        requires_credential(creds, "weather-key", into="client")(two)


def test_unresolvable_client_annotation_is_refused(creds: acp.CredentialStore) -> None:
    def f(client: NoSuchClient) -> None:  # type: ignore[name-defined]  # noqa: F821
        ...

    with pytest.raises(TypeError, match="cannot resolve the annotation 'NoSuchClient'"):
        requires_credential(creds, "weather-key", into="client")(f)


# -- 2. nothing leaks: callbacks, run trees, tool messages, logs --------------------------------
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_no_secret_in_callbacks_traces_messages_or_logs(
    creds: acp.CredentialStore,
    api: WeatherApi,
    key: str,
    caplog: pytest.LogCaptureFixture,
    mode: str,
) -> None:
    caplog.set_level(logging.DEBUG)

    @tool
    @requires_credential(creds, "weather-key", into="client", client_kwargs={"base_url": api.url()})
    def get_weather(city: str, client: httpx2.Client) -> str:
        """Current weather for a city."""
        data = client.get("/v1/current", params={"city": city}).json()
        return f"{data['city']}: {data['conditions']}, {data['temp_c']} C"

    if mode == "sync":

        @tool
        @requires_credential(creds, "weather-key")
        def key_prefix(credential: acp.ToolApiKeyCredential) -> str:
            """Where the key goes (never the key)."""
            return f"header {credential.param}"

    else:

        @tool
        @requires_credential(creds, "weather-key")
        async def key_prefix(credential: acp.ToolApiKeyCredential) -> str:
            """Where the key goes (never the key)."""
            return f"header {credential.param}"

    handler, tracer = RecordingHandler(), RunTreeTracer()
    ls_tracer, ls_client = langsmith_tracer()
    config: RunnableConfig = {"callbacks": [handler, tracer, ls_tracer], "run_name": "leak-check"}
    outputs: list[Any] = []
    calls = [
        (get_weather, tool_call("get_weather", {"city": "Paris", "client": "x"})),
        (get_weather, {"city": "Oslo"}),
        (key_prefix, tool_call("key_prefix", {})),
    ]
    for t, payload in calls:
        if mode == "sync":
            outputs.append(t.invoke(payload, config=config))
        else:
            outputs.append(asyncio.run(t.ainvoke(payload, config=config)))
    # a failure too: disabled, through the same callbacks
    creds.disable("weather-key")
    with pytest.raises(acp.CredentialDisabledError):
        get_weather.invoke({"city": "Rome"}, config=config)
    ls_tracer.wait_for_futures()

    assert isinstance(outputs[0], ToolMessage)
    assert outputs[0].content == "Paris: sunny, 21 C"
    assert outputs[1] == "Oslo: sunny, 21 C"
    assert api.presented_keys() == [key, key]
    assert {"on_tool_start", "on_tool_end", "on_tool_error"} <= set(handler.names())
    assert tracer.roots and ls_client.posted
    start = handler.payloads("on_tool_start")[0]
    # what the model sent is reported as sent (a made-up "client" included: not a secret, and
    # dropped by the schema before the call); the injected client never is
    assert "'city': 'Paris', 'client': 'x'" in start
    assert "httpx2" not in handler.text() and "CredentialAuth" not in handler.text()
    assert_absent(
        key,
        callbacks=handler.text(),
        run_tree=tracer.tree_json(),
        langsmith=ls_client.text(),
        tool_messages=repr(outputs),
        logs=caplog.text + "\n".join(repr(r.__dict__) for r in caplog.records),
    )


def test_no_secret_in_errors_when_the_api_refuses(
    creds: acp.CredentialStore, api: WeatherApi, key: str
) -> None:
    """The API rejects the key: the tool's error and the callbacks still hold no secret."""
    api.keys.clear()

    @tool
    @requires_credential(creds, "weather-key", into="client", client_kwargs={"base_url": api.url()})
    def get_weather(city: str, client: httpx2.Client) -> str:
        """Current weather for a city."""
        client.get("/v1/current", params={"city": city}).raise_for_status()
        return "unreachable"

    handler = RecordingHandler()
    with pytest.raises(httpx2.HTTPStatusError) as info:
        get_weather.invoke({"city": "Paris"}, config={"callbacks": [handler]})
    assert api.presented_keys() == [key]
    assert_absent(key, error=repr(info.value), callbacks=handler.text())


# -- 4. disabled or deleted ---------------------------------------------------------------------
def test_plain_function_raises_the_store_errors(creds: acp.CredentialStore) -> None:
    @requires_credential(creds, "weather-key")
    def f(credential: acp.ToolApiKeyCredential) -> str:
        return "ok"

    @requires_credential(creds, "weather-key", into="client")
    async def g(client: httpx2.AsyncClient) -> str:
        return "ok"

    creds.disable("weather-key")

    def run_g() -> str:
        return asyncio.run(g())

    for call in (f, run_g):
        with pytest.raises(acp.CredentialDisabledError) as info:
            call()
        assert type(info.value) is acp.CredentialDisabledError  # the store's error, unchanged
        assert info.value.status_code == 401
        assert str(info.value) == disabled_message("weather-key")
        assert str(info.value) == (
            "credential 'weather-key' is disabled (401); enable it with "
            "store.enable('weather-key') or agentrun-creds enable weather-key"
        )
    creds.enable("weather-key")
    assert f() == "ok"
    creds.delete("weather-key", force=True)
    for call in (f, run_g):
        with pytest.raises(acp.CredentialNotFoundError) as nf:
            call()
        assert type(nf.value) is acp.CredentialNotFoundError
        assert nf.value.status_code == 404
        assert str(nf.value) == NOT_FOUND


def test_as_a_tool_the_error_is_also_a_tool_exception(creds: acp.CredentialStore) -> None:
    @tool
    @requires_credential(creds, "weather-key")
    def get_weather(city: str, credential: acp.ToolApiKeyCredential) -> str:
        """Current weather for a city."""
        return city

    creds.disable("weather-key")
    with pytest.raises(acp.CredentialDisabledError) as info:
        get_weather.invoke({"city": "Paris"})
    err = info.value
    assert isinstance(err, ToolException)
    assert isinstance(err, CredentialToolError)
    assert err.status_code == 401 and err.name == "weather-key"
    assert err.tool_name == "get_weather"
    assert str(err) == disabled_message("weather-key")
    assert type(err.credential_error) is acp.CredentialDisabledError
    copy = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own bytes
    assert type(copy) is type(err) and str(copy) == str(err)

    # handle_tool_error=True: the message is the tool's result, status "error"
    get_weather.handle_tool_error = True
    assert get_weather.invoke({"city": "Paris"}) == disabled_message("weather-key")
    msg = get_weather.invoke(tool_call("get_weather", {"city": "Paris"}))
    assert isinstance(msg, ToolMessage)
    assert msg.status == "error" and msg.content == disabled_message("weather-key")

    creds.delete("weather-key", force=True)
    msg = get_weather.invoke(tool_call("get_weather", {"city": "Paris"}))
    assert msg.status == "error" and msg.content == NOT_FOUND


def test_client_injection_fails_before_the_function_runs(
    creds: acp.CredentialStore, api: WeatherApi
) -> None:
    ran: list[str] = []

    @requires_credential(creds, "weather-key", into="client")
    def get_weather(city: str, client: httpx2.Client) -> str:
        ran.append(city)
        return client.get(api.url("/v1/current"), params={"city": city}).text

    creds.disable("weather-key")
    with pytest.raises(acp.CredentialDisabledError):
        get_weather("Paris")
    assert ran == [] and api.request_count == 0
    failed = creds.audit("weather-key", action="use_failed")
    assert [(e.resource, e.reason) for e in failed] == [("get_weather", "disabled")]


def test_disabled_between_check_and_request_still_fails_the_request(
    creds: acp.CredentialStore, api: WeatherApi
) -> None:
    """The client's auth resolves on each request: a disable mid-call stops the next request."""

    @requires_credential(creds, "weather-key", into="client")
    def two_requests(client: httpx2.Client) -> list[int]:
        codes = [client.get(api.url("/v1/current")).status_code]
        creds.disable("weather-key")
        codes.append(client.get(api.url("/v1/current")).status_code)
        return codes

    with pytest.raises(acp.CredentialDisabledError):
        two_requests()
    assert api.request_count == 1


# -- 5. attachments and audit -------------------------------------------------------------------
def test_attachment_and_audit_resource(creds: acp.CredentialStore) -> None:
    @tool
    @requires_credential(creds, "weather-key")
    def get_weather(city: str, credential: acp.ToolApiKeyCredential) -> str:
        """Current weather for a city."""
        return city

    @tool("renamed")
    @requires_credential(creds, "weather-key", tool_name="renamed")
    def other(city: str, credential: acp.ToolApiKeyCredential) -> str:
        """Another tool."""
        return city

    assert sorted(creds.attachments("weather-key")) == [
        ("tool", "get_weather"),
        ("tool", "renamed"),
    ]
    assert _uses(creds) == []
    get_weather.invoke({"city": "a"})
    get_weather.invoke({"city": "b"})
    other.invoke({"city": "c"})
    assert [e.resource for e in reversed(_uses(creds))] == [
        "get_weather",
        "get_weather",
        "renamed",
    ]
    assert [e.action for e in creds.audit(resource="get_weather")] == ["used", "used"]
    assert [e.action for e in creds.audit(resource="tool:get_weather")] == ["attached"]
    with pytest.raises(acp.CredentialInUseError):
        creds.delete("weather-key")


def test_credential_created_after_decoration(
    store: acp.CredentialStore, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)

    @requires_credential(store, "later-key")
    def f(credential: acp.ToolApiKeyCredential) -> str:
        return credential.param

    assert "does not exist yet" in caplog.text
    with pytest.raises(acp.CredentialNotFoundError):
        f()
    store.create("later-key", acp.ToolApiKeyCredential(api_key=key))
    assert f() == "Authorization"
    assert store.attachments("later-key") == [("tool", "f")]


# -- 6. per-run selection -----------------------------------------------------------------------
@pytest.fixture
def tenants(creds: acp.CredentialStore, api: WeatherApi) -> dict[str, str]:
    keys = {"tenant-a": new_canary(), "tenant-b": new_canary()}
    for name, value in keys.items():
        creds.create(name, acp.ToolApiKeyCredential(api_key=value, param="X-Api-Key"))
        api.accept(value)
    return keys


def _weather_tool(store: acp.CredentialStore, api: WeatherApi) -> Any:
    @tool
    @requires_credential(store, "weather-key", into="client", client_kwargs={"base_url": api.url()})
    def get_weather(city: str, client: httpx2.Client) -> str:
        """Current weather for a city."""
        return str(client.get("/v1/current", params={"city": city}).json()["city"])

    return get_weather


def _select(name: str) -> RunnableConfig:
    return {"configurable": {"agentrun_credentials": {"weather-key": name}}}


def test_selection_by_context_manager_and_config(
    creds: acp.CredentialStore, api: WeatherApi, key: str, tenants: dict[str, str]
) -> None:
    get_weather = _weather_tool(creds, api)
    get_weather.invoke({"city": "default"})
    with use_credentials({"weather-key": "tenant-a"}):
        get_weather.invoke({"city": "a"})
        get_weather.invoke({"city": "b-wins"}, config=_select("tenant-b"))  # config wins
    get_weather.invoke({"city": "b"}, config=_select("tenant-b"))
    assert api.presented_keys() == [
        key,
        tenants["tenant-a"],
        tenants["tenant-b"],
        tenants["tenant-b"],
    ]
    assert [e.name for e in reversed(creds.audit(action="used"))] == [
        "weather-key",
        "tenant-a",
        "tenant-b",
        "tenant-b",
    ]
    # the selection attaches nothing: the tool is attached to what it declares
    assert creds.attachments("tenant-a") == []


def test_selection_reaches_credential_injection_and_nested_calls(
    creds: acp.CredentialStore, tenants: dict[str, str]
) -> None:
    @requires_credential(creds, "weather-key")
    def inner(credential: acp.ToolApiKeyCredential) -> str:
        return credential.api_key.get_secret_value()

    @tool
    @requires_credential(creds, "weather-key")
    def outer(city: str, credential: acp.ToolApiKeyCredential) -> list[bool]:
        """Uses its credential and calls a helper that uses one too."""
        return [
            credential.api_key.get_secret_value() == tenants["tenant-a"],
            inner() == tenants["tenant-a"],
        ]

    assert outer.invoke({"city": "x"}, config=_select("tenant-a")) == [True, True]
    # a decorated helper run inside any LangChain runnable reads the run's config too
    lam: RunnableLambda[None, bool] = RunnableLambda(lambda _: inner() == tenants["tenant-b"])
    assert lam.invoke(None, config=_select("tenant-b")) is True


def test_selection_survives_threads_and_tasks(
    creds: acp.CredentialStore, api: WeatherApi, tenants: dict[str, str]
) -> None:
    get_weather = _weather_tool(creds, api)
    names = ["tenant-a", "tenant-b"] * 4
    # batch: LangChain's thread pool, one config per input
    out = get_weather.batch(
        [{"city": n} for n in names], config=[_select(n) for n in names], max_concurrency=4
    )
    assert out == names
    assert sorted(str(k) for k in api.presented_keys()) == sorted(tenants[n] for n in names)
    api.reset()

    # context manager per asyncio task, sync tool run by ainvoke in an executor
    async def run(name: str) -> str:
        with use_credentials({"weather-key": name}):
            await asyncio.sleep(0)
            return str(await get_weather.ainvoke({"city": name}))

    async def main() -> list[str]:
        return list(await asyncio.gather(*(run(n) for n in names)))

    assert asyncio.run(main()) == names
    by_city = {r.query_value("city"): WeatherApi.key_of(r.headers, r.query) for r in api.requests}
    assert by_city == {n: tenants[n] for n in set(names)}
    api.reset()

    # a thread started with a copy of the context (what LangChain's executors do)

    results: list[str] = []
    with use_credentials({"weather-key": "tenant-b"}):
        ctx = contextvars.copy_context()
        th = threading.Thread(
            target=lambda: results.append(ctx.run(get_weather.invoke, {"city": "t"}))
        )
        th.start()
        th.join()
    assert results == ["t"] and api.presented_keys() == [tenants["tenant-b"]]


def test_bad_selection_entry_becomes_a_clear_error(
    creds: acp.CredentialStore, api: WeatherApi
) -> None:
    get_weather = _weather_tool(creds, api)
    bad: RunnableConfig = {"configurable": {"agentrun_credentials": "tenant-a"}}
    with pytest.raises(acp.InvalidCredentialError, match="agentrun_credentials"):
        get_weather.invoke({"city": "x"}, config=bad)
    secret_like = new_canary() + " with spaces"
    with pytest.raises(acp.InvalidCredentialError) as info:
        get_weather.invoke({"city": "x"}, config=_select(secret_like))
    assert secret_like not in str(info.value)
    assert api.request_count == 0
