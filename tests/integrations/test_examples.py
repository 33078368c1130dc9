"""The tool examples in ``examples/`` run against loopback servers (GitHub issue 5).

Each example is exercised twice: imported and called (its functions are the documented way to
reuse it), and run as a script in a subprocess configured only by environment variables, as a
user would run it. The weather API accepts only the stored key; the LLM server only the stored
model key; both keys are canaries that must not show up in any output.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.errors import disabled_message
from tests.integrations.tools_fixtures import WeatherApi, new_canary
from tests.support.llm_server import LLMServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"examples_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def creds(store: acp.CredentialStore, key: str) -> acp.CredentialStore:
    store.create("weather-key", acp.ToolApiKeyCredential(api_key=key, param="X-Api-Key"))
    return store


@pytest.fixture
def env(
    creds: acp.CredentialStore, store_url: str, master_key: str, api: WeatherApi
) -> dict[str, str]:
    """What a user sets to run the examples against this store and the loopback API."""
    return {
        **os.environ,
        "AGENTRUN_CREDS_URL": store_url,
        "AGENTRUN_CREDS_MASTER_KEYS": master_key,
        "WEATHER_API_URL": api.url(),
    }


def run_example(name: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# -- examples/weather_tool.py -------------------------------------------------------------------
def test_weather_tool_imported(creds: acp.CredentialStore, api: WeatherApi, key: str) -> None:
    example = load("weather_tool")
    get_weather = example.build_weather_tool(creds, base_url=api.url())
    assert get_weather.name == "get_weather"
    assert list(get_weather.args) == ["city"]
    assert get_weather.invoke({"city": "Paris"}) == "Paris: sunny, 21 °C"
    assert api.presented_keys() == [key]
    assert ("tool", "get_weather") in creds.attachments("weather-key")

    api.keys.clear()  # the API refuses: the tool says so, without the key
    refused = get_weather.invoke({"city": "Paris"})
    assert refused == "the weather service answered HTTP 401"

    creds.disable("weather-key")
    with pytest.raises(acp.CredentialDisabledError):
        get_weather.invoke({"city": "Paris"})
    get_weather.handle_tool_error = True
    message = get_weather.invoke(
        {"type": "tool_call", "id": "c1", "name": "get_weather", "args": {"city": "Paris"}}
    )
    assert message.status == "error"
    assert message.content == disabled_message("weather-key")


def test_weather_tool_script(
    creds: acp.CredentialStore, api: WeatherApi, env: dict[str, str], key: str
) -> None:
    done = run_example("weather_tool", "Paris", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Paris: sunny, 21 °C", done.stderr
    assert api.presented_keys() == [key]
    used = creds.audit("weather-key", action="used")
    assert [(e.resource, e.pid != os.getpid()) for e in used] == [("get_weather", True)]

    creds.disable("weather-key")
    refused = run_example("weather_tool", "Paris", env=env)
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"error (401): {disabled_message('weather-key')}"
    assert api.request_count == 1
    for out in (done, refused):
        assert key not in out.stdout + out.stderr


# -- examples/agent_with_tools.py ---------------------------------------------------------------
@pytest.fixture
def agent_creds(
    creds: acp.CredentialStore, llm: LLMServer, llm_key: str, api: WeatherApi
) -> dict[str, str]:
    creds.create(
        "llm-key",
        acp.ModelServiceCredential(
            provider="openai_compatible", api_key=llm_key, base_url=llm.base_url
        ),
    )
    creds.create_model("gpt", credential="llm-key", model="gpt-4o-mini")
    tenant_key = new_canary()
    creds.create("acme-weather", acp.ToolApiKeyCredential(api_key=tenant_key, param="X-Api-Key"))
    api.accept(tenant_key, account="acme")
    return {"acme-weather": tenant_key}


def _script(llm: LLMServer, city: str, answer: str) -> None:
    llm.enqueue_tool_call("get_weather", {"city": city})
    llm.enqueue_text(answer)


def test_agent_example_imported(
    creds: acp.CredentialStore,
    agent_creds: dict[str, str],
    llm: LLMServer,
    api: WeatherApi,
    key: str,
) -> None:
    example = load("agent_with_tools")
    agent = example.build_agent(creds, weather_api_url=api.url())
    _script(llm, "Paris", "Sunny in Paris.")
    assert example.ask(agent, "Weather in Paris?") == "Sunny in Paris."
    _script(llm, "Oslo", "Sunny in Oslo too.")
    assert example.ask(agent, "And Oslo?", tenant="acme-weather") == "Sunny in Oslo too."
    assert api.presented_keys() == [key, agent_creds["acme-weather"]]
    # what the model read back from the tool, per run
    tool_results = [
        r.json()["messages"][-1]["content"]
        for r in llm.requests_to("chat.completions")
        if r.json()["messages"][-1]["role"] == "tool"
    ]
    assert tool_results == ["Paris: sunny, 21 °C", "Oslo: sunny, 21 °C"]

    creds.disable("weather-key")
    _script(llm, "Rome", "The weather service is unavailable.")
    assert example.ask(agent, "Rome?") == "The weather service is unavailable."
    last_tool_message = llm.requests_to("chat.completions")[-1].json()["messages"][-1]
    assert last_tool_message["content"] == disabled_message("weather-key")
    assert api.request_count == 2


def test_agent_example_script(
    creds: acp.CredentialStore,
    agent_creds: dict[str, str],
    llm: LLMServer,
    api: WeatherApi,
    env: dict[str, str],
    key: str,
    llm_key: str,
) -> None:
    _script(llm, "Paris", "Sunny in Paris.")
    done = run_example("agent_with_tools", "Weather in Paris?", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Sunny in Paris.", done.stderr
    _script(llm, "Lima", "Sunny in Lima.")
    tenant = run_example("agent_with_tools", "--tenant", "acme-weather", "Lima?", env=env)
    assert tenant.returncode == 0, tenant.stderr
    assert tenant.stdout.strip() == "Sunny in Lima.", tenant.stderr
    assert api.presented_keys() == [key, agent_creds["acme-weather"]]
    for out in (done, tenant):
        for secret in (key, llm_key, agent_creds["acme-weather"]):
            assert secret not in out.stdout + out.stderr
