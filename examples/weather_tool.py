"""A LangChain tool that calls a third-party weather API with a key referenced by name.

The tool names its credential (``weather-key``); it never holds the key. When the agent calls
the tool, ``requires_credential`` gives the function an ``httpx2.Client`` whose auth reads the
key from the store for that request, so a rotation or a disable takes effect on the next call,
and neither the model (the tool's schema has ``city`` only) nor callbacks and traces ever see
the key. A disabled or missing credential becomes the tool's error message, so an agent loop
goes on and can tell the user.

Store the key once (a header key here; ``location="query", param="key"`` works too)::

    import agentrun_creds_plugin as acp
    store = acp.CredentialStore.open()
    store.create("weather-key", acp.ToolApiKeyCredential(api_key="...", param="X-Api-Key"))

Then run the tool on its own::

    WEATHER_API_URL=https://weather.example.com python examples/weather_tool.py Paris

Environment: ``WEATHER_API_URL`` (the API's base URL), ``WEATHER_CREDENTIAL`` (the credential
name, default ``weather-key``) and the store's own settings (``AGENTRUN_CREDS_URL``,
``AGENTRUN_CREDS_MASTER_KEYS``...; by default the per-user store). The API it expects:
``GET {WEATHER_API_URL}/v1/current?city=Paris`` answering
``{"city": "Paris", "temp_c": 21, "conditions": "sunny"}``. The tests run this file against a
loopback server that accepts only the stored key.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import httpx2
from langchain_core.tools import BaseTool, tool

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.integrations.langchain import requires_credential

DEFAULT_API_URL = "https://weather.example.com"
DEFAULT_CREDENTIAL = "weather-key"


def build_weather_tool(
    store: acp.CredentialStore,
    *,
    base_url: str | None = None,
    credential: str | None = None,
) -> BaseTool:
    """The ``get_weather`` tool, calling ``base_url`` (default: ``WEATHER_API_URL``)."""
    api = base_url or os.environ.get("WEATHER_API_URL", DEFAULT_API_URL)
    name = credential or os.environ.get("WEATHER_CREDENTIAL", DEFAULT_CREDENTIAL)

    @tool
    @requires_credential(store, name, into="client", client_kwargs={"base_url": api, "timeout": 10})
    def get_weather(city: str, client: httpx2.Client) -> str:
        """Current weather for a city: temperature in Celsius and conditions."""
        response = client.get("/v1/current", params={"city": city})
        if response.status_code != 200:
            # The model reads this; it holds the status, never the request's key.
            return f"the weather service answered HTTP {response.status_code}"
        data = response.json()
        return f"{data['city']}: {data['conditions']}, {data['temp_c']} °C"

    return get_weather


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    city = " ".join(args) or "Paris"
    with acp.CredentialStore.open() as store:
        get_weather = build_weather_tool(store)
        try:
            print(get_weather.invoke({"city": city}))
        except acp.CredentialError as exc:  # disabled, missing...: the message says what to do
            print(f"error ({exc.status_code}): {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
