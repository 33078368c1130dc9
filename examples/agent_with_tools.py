"""An agent whose model and tool both use credentials by name, one run per tenant.

The model is ``chat_model(store, "gpt")`` (a real ``ChatOpenAI`` whose key is read from the
store on every request); the tool is ``examples/weather_tool.py``'s ``get_weather``, whose API key
is injected when the agent calls it. A run for another tenant maps the default credential name
to the tenant's in the run's config, names only::

    agent.invoke(question, config={"configurable": {"agentrun_credentials":
                                                     {"weather-key": "acme-weather"}}})

Set up once::

    store.create("llm-key", acp.ModelServiceCredential(provider="openai", api_key="sk-..."))
    store.create_model("gpt", credential="llm-key", model="gpt-4o-mini")
    store.create("weather-key", acp.ToolApiKeyCredential(api_key="...", param="X-Api-Key"))
    store.create("acme-weather", acp.ToolApiKeyCredential(api_key="...", param="X-Api-Key"))

Run::

    WEATHER_API_URL=https://weather.example.com \
        python examples/agent_with_tools.py --tenant acme-weather "Weather in Paris?"

Environment: ``AGENT_MODEL`` (a model configuration or model credential name, default ``gpt``),
``WEATHER_API_URL`` and ``WEATHER_CREDENTIAL`` (see ``weather_tool.py``), and the store's
settings. The tests run it against loopback LLM and weather servers.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.integrations.langchain import chat_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from weather_tool import DEFAULT_CREDENTIAL, build_weather_tool


def build_agent(
    store: acp.CredentialStore,
    *,
    model: str | None = None,
    weather_api_url: str | None = None,
) -> Any:
    """A tool-calling agent (langchain's ``create_agent``, else langgraph's prebuilt one)."""
    llm = chat_model(store, model or os.environ.get("AGENT_MODEL", "gpt"))
    tools = [build_weather_tool(store, base_url=weather_api_url)]
    try:
        from langchain.agents import create_agent  # type: ignore[import-not-found]
    except ImportError:
        with warnings.catch_warnings():  # langgraph 1.x points to langchain.agents
            warnings.simplefilter("ignore", DeprecationWarning)
            from langgraph.prebuilt import create_react_agent

            return create_react_agent(llm, tools)
    return create_agent(llm, tools)


def ask(agent: Any, question: str, *, tenant: str | None = None) -> str:
    """Run the agent once; ``tenant`` names the weather credential to use for this run."""
    config: RunnableConfig = {}
    if tenant:
        weather = os.environ.get("WEATHER_CREDENTIAL", DEFAULT_CREDENTIAL)
        config = {"configurable": {"agentrun_credentials": {weather: tenant}}}
    state = agent.invoke({"messages": [("user", question)]}, config=config)
    return str(state["messages"][-1].content)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("question", nargs="*", default=["What is the weather in Paris?"])
    parser.add_argument("--tenant", help="weather credential to use for this run")
    args = parser.parse_args(argv)
    with acp.CredentialStore.open() as store:
        agent = build_agent(store)
        try:
            print(ask(agent, " ".join(args.question), tenant=args.tenant))
        except acp.CredentialError as exc:  # e.g. the model's credential is disabled
            print(f"error ({exc.status_code}): {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
