"""A langgraph agent with a credentialed tool, run for two tenants: each run uses its own key.

The agent is built once with the default credential name ``weather-key``. A run for a tenant
maps that name to the tenant's credential, names only, in the run's config; the tool's key is
resolved when the tool runs, so each run sends its own tenant's key. The weather API is a
loopback server that answers with the tenant whose key it received. The chat model is a fake
tool-calling model from ``langchain_core`` (no LLM needed). Last, the tenant's credential is
disabled and the agent gets the 401 text as the tool's answer, nothing sent.

    python examples/tenants_agent.py
"""

from __future__ import annotations

import tempfile
import threading
import warnings
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import create_react_agent

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.crypto import generate_master_key
from agentrun_creds_plugin.integrations.langchain import requires_credential

warnings.filterwarnings("ignore", message="create_react_agent has been moved")

TENANT_OF_KEY = {"wk-acme-0001": "acme", "wk-globex-0001": "globex"}
SENT: list[str] = []


class WeatherAPI(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        tenant = TENANT_OF_KEY.get(self.headers.get("X-Api-Key", ""))
        SENT.append(tenant or "?")
        self.send_response(200 if tenant else 401)
        self.end_headers()
        self.wfile.write(f"sunny, billed to {tenant}".encode() if tenant else b"bad key")

    def log_message(self, *args: object) -> None:
        pass


class ToolCallingFake(GenericFakeChatModel):
    """Asks for the weather tool, then answers with what the tool returned."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[Any, Any]:
        return self


def script() -> Any:
    while True:
        yield AIMessage(
            "", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "call-1"}]
        )
        yield AIMessage("done")


def build_tool(store: acp.CredentialStore, api: str) -> BaseTool:
    @tool
    @requires_credential(store, "weather-key", into="client", client_kwargs={"base_url": api})
    def get_weather(city: str, client: httpx.Client) -> str:
        """Current weather for a city."""
        return client.get("/v1/current", params={"city": city}).text

    return get_weather


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), WeatherAPI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        store = acp.CredentialStore.open(
            f"sqlite:///{Path(tmp) / 'creds.db'}", master_key=generate_master_key()
        )
        for name, key in [
            ("weather-key", "wk-acme-0001"),
            ("acme", "wk-acme-0001"),
            ("globex", "wk-globex-0001"),
        ]:
            store.create(name, acp.ToolApiKeyCredential(api_key=key, param="X-Api-Key"))
        agent = create_react_agent(ToolCallingFake(messages=script()), [build_tool(store, api)])

        def ask(tenant: str) -> str:
            """One run for ``tenant``: the mapping holds names only, never a key."""
            config: RunnableConfig = {
                "configurable": {"agentrun_credentials": {"weather-key": tenant}}
            }
            result = agent.invoke({"messages": [("user", "Weather in Paris?")]}, config=config)
            return str(result["messages"][2].content)

        print(f"run for acme -> tool answered: {ask('acme')}")
        print(f"run for globex -> tool answered: {ask('globex')}")
        store.disable("globex")
        print(f"run for globex, disabled -> tool answered: {ask('globex')}")
        print(f"requests the API received: {SENT}")
        store.close()
    server.shutdown()


if __name__ == "__main__":
    main()
