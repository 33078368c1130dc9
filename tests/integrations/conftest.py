"""Fixtures for the model-client integration tests.

The loopback LLM server (``tests/support/llm_server.py``) is started with an accepted-keys
callable that reads the store on every request: it accepts exactly the keys the store holds
for enabled ``model_service`` credentials at that moment and answers 401 to anything else, so
a test that passes proves the client sent the store's *current* key.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.errors import CredentialError
from tests.integrations.tools_fixtures import WeatherApi, new_canary
from tests.support.llm_server import LLMRequest, LLMServer

REPO = Path(__file__).resolve().parents[2]
AZURE_API_VERSION = "2024-10-21"
OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-haiku-4-5"
MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "hi"}]


def async_test(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an ``async def`` test with ``asyncio.run`` (no async pytest plugin is installed)."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return run


def new_key(prefix: str = "sk-test-") -> str:
    return prefix + uuid.uuid4().hex


class StoreKeys:
    """The server's accepted keys: what the store holds right now (enabled credentials)."""

    def __init__(self, store: acp.CredentialStore) -> None:
        self.store = store
        self.extra: set[str] = set()

    def __call__(self) -> set[str]:
        keys = set(self.extra)
        for info in self.store.list(kind="model_service"):
            if not info.enabled:
                continue
            try:
                cred = self.store.resolve(info.name, resource="test:server")
            except CredentialError:
                continue
            assert isinstance(cred, acp.ModelServiceCredential)
            keys.add(cred.api_key.get_secret_value())
        return keys


@pytest.fixture
def server(loopback_env: None, store: acp.CredentialStore) -> Iterator[LLMServer]:
    """A loopback OpenAI/Azure/Anthropic server accepting only the store's current keys."""
    with LLMServer(accepted_keys=StoreKeys(store)) as srv:
        yield srv


@pytest.fixture
def canary_key() -> str:
    """A unique key that must appear nowhere but on the wire."""
    return "sk-canary-" + uuid.uuid4().hex


@pytest.fixture
def add_model_credential(
    store: acp.CredentialStore, server: LLMServer
) -> Callable[..., acp.ModelServiceCredential]:
    """``add(name, provider, key=None)``: a credential pointing at the loopback server."""

    def add(
        name: str, provider: str = "openai", key: str | None = None
    ) -> acp.ModelServiceCredential:
        cred = model_credential(server, provider, key or new_key())
        store.create(name, cred)
        return cred

    return add


def model_credential(server: LLMServer, provider: str, key: str) -> acp.ModelServiceCredential:
    if provider == "anthropic":
        return acp.ModelServiceCredential(
            provider="anthropic", api_key=key, base_url=server.anthropic_base_url
        )
    if provider == "azure_openai":
        return acp.ModelServiceCredential(
            provider="azure_openai",
            api_key=key,
            base_url=server.azure_endpoint,
            api_version=AZURE_API_VERSION,
        )
    return acp.ModelServiceCredential(provider=provider, api_key=key, base_url=server.base_url)


def rotate(store: acp.CredentialStore, server: LLMServer, name: str, provider: str) -> str:
    """Give ``name`` a new key (same endpoint) and return it."""
    key = new_key("sk-rotated-")
    store.update(name, model_credential(server, provider, key))
    return key


def rotate_in_subprocess(
    store_url: str, master_key: str, server: LLMServer, name: str, provider: str
) -> str:
    """Another process opens the same store and rotates ``name``; returns the new key."""
    key = new_key("sk-other-process-")
    cred = model_credential(server, provider, key)
    fields = {
        "provider": cred.provider,
        "api_key": key,
        "base_url": cred.base_url,
        "api_version": cred.api_version,
    }
    script = textwrap.dedent(
        f"""
        import json, sys
        import agentrun_creds_plugin as acp
        store = acp.CredentialStore.open(sys.argv[1], master_key=sys.argv[2])
        fields = json.loads(sys.stdin.read())
        store.update({name!r}, acp.ModelServiceCredential(**fields))
        store.close()
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTRUN_CREDS_")}
    subprocess.run(
        [sys.executable, "-c", script, store_url, master_key],
        input=json.dumps(fields),
        text=True,
        check=True,
        cwd=REPO,
        env=env,
        timeout=60,
    )
    return key


def headers_of(record: LLMRequest) -> list[tuple[str, str]]:
    """Every header as received, except the ones that differ per connection or body."""
    return [(k, v) for k, v in record.headers if k.lower() not in ("host",)]


# -- secret scanning -------------------------------------------------------------------------
_SKIP_TYPES = (type, type(os), type(len), type(lambda: None), type(logging.getLogger))


def reachable_secret(root: object, secret: str, *, limit: int = 500_000) -> str | None:
    """A path from ``root`` to an object holding ``secret`` in its state, or None.

    Walks instance ``__dict__`` / ``__slots__``, containers and bytes-like values (not
    classes, modules or functions), so it sees what a long-lived client keeps.
    """
    needle = secret.encode()
    seen: set[int] = set()
    stack: list[tuple[object, str]] = [(root, "root")]
    while stack and len(seen) < limit:
        obj, path = stack.pop()
        if id(obj) in seen or isinstance(obj, _SKIP_TYPES):
            continue
        seen.add(id(obj))
        if isinstance(obj, str):
            if secret in obj:
                return path
            continue
        if isinstance(obj, bytes | bytearray | memoryview):
            if needle in bytes(obj):
                return path
            continue
        if isinstance(obj, dict):
            for k, v in list(obj.items()):
                stack.append((k, f"{path}[key]"))
                stack.append((v, f"{path}[{k!r}]"))
            continue
        if isinstance(obj, list | tuple | set | frozenset):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(list(obj)))
            continue
        state = getattr(obj, "__dict__", None)
        if isinstance(state, dict):
            for k, v in list(state.items()):
                stack.append((v, f"{path}.{k}"))
        for cls in type(obj).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if isinstance(slot, str) and hasattr(obj, slot):
                    try:
                        stack.append((getattr(obj, slot), f"{path}.{slot}"))
                    except Exception:  # noqa: S112 - unreadable slot
                        continue
        secret_value = getattr(obj, "get_secret_value", None)
        if callable(secret_value):
            try:
                stack.append((secret_value(), f"{path}.get_secret_value()"))
            except Exception:  # noqa: S112
                continue
    return None


class RecordingHandler(BaseCallbackHandler):
    """Records the repr of every argument of every LangChain callback."""

    def __init__(self) -> None:
        self.payloads: list[str] = []
        self.events: list[str] = []

    def _record(self, event: str, *args: Any, **kwargs: Any) -> None:
        self.events.append(event)
        self.payloads.append(repr(args) + repr(kwargs))

    def on_chat_model_start(self, serialized: dict[str, Any], messages: Any, **kw: Any) -> None:
        self._record("on_chat_model_start", serialized, messages, **kw)

    def on_llm_start(self, serialized: dict[str, Any], prompts: Any, **kw: Any) -> None:
        self._record("on_llm_start", serialized, prompts, **kw)

    def on_llm_new_token(self, token: str, **kw: Any) -> None:
        self._record("on_llm_new_token", token, **kw)

    def on_llm_end(self, response: Any, **kw: Any) -> None:
        self._record("on_llm_end", response, **kw)

    def on_llm_error(self, error: BaseException, **kw: Any) -> None:
        self._record("on_llm_error", error, str(error), **kw)

    def on_chain_start(self, serialized: Any, inputs: Any, **kw: Any) -> None:
        self._record("on_chain_start", serialized, inputs, **kw)

    def on_chain_end(self, outputs: Any, **kw: Any) -> None:
        self._record("on_chain_end", outputs, **kw)

    def on_chain_error(self, error: BaseException, **kw: Any) -> None:
        self._record("on_chain_error", error, str(error), **kw)

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kw: Any) -> None:
        self._record("on_custom_event", name, data, run_id, **kw)


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record at DEBUG and above, from every logger."""
    caplog.set_level(logging.DEBUG)
    return caplog


def all_log_text(caplog: pytest.LogCaptureFixture) -> str:
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            parts.append(repr(record.exc_info[1]))
    return "\n".join(parts) + caplog.text


@pytest.fixture
def key() -> str:
    """The weather API's key (a canary)."""
    return new_canary()


@pytest.fixture
def llm_key() -> str:
    """The loopback LLM's key (a canary)."""
    return new_canary()


@pytest.fixture
def api(loopback_env: None, key: str) -> Iterator[WeatherApi]:
    """A loopback weather API that accepts only ``key``."""
    with WeatherApi(key) as server:
        yield server


@pytest.fixture
def llm(loopback_env: None, llm_key: str) -> Iterator[LLMServer]:
    """A loopback LLM server that accepts only ``llm_key``."""
    with LLMServer(accepted_keys={llm_key}) as server:
        yield server
