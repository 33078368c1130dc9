"""Helpers for the ``requires_credential`` tests: a loopback weather API, payload recorders.

- :func:`new_canary`: a unique secret value that must never be seen outside the store.
- :class:`WeatherApi`: a loopback "third-party API" (``tests.support.api_server.ApiServer``)
  that serves ``GET /v1/current?city=...`` and accepts only the key it is told to, in the
  ``X-Api-Key`` header (or the ``key`` query parameter).
- :class:`RecordingHandler`: a callback handler that records ``repr`` and ``str`` of every
  argument of every callback event LangChain fires.
- :class:`RunTreeTracer`: a ``BaseTracer`` that keeps the root runs, dumped as JSON with all
  children (what a LangSmith-style backend would receive).
- :class:`StubLangSmithClient` + :func:`langsmith_tracer`: LangSmith's own ``LangChainTracer``
  posting to a recording client instead of the network.
- :func:`assert_absent`: the canary check over any number of captured texts.
"""

from __future__ import annotations

import json
import threading
import traceback
import uuid
from collections.abc import Iterable
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tracers.base import BaseTracer
from langchain_core.tracers.langchain import LangChainTracer
from langchain_core.tracers.schemas import Run

from tests.support.api_server import ApiServer, IncomingRequest, Response

__all__ = [
    "RecordingHandler",
    "RunTreeTracer",
    "StubLangSmithClient",
    "WeatherApi",
    "assert_absent",
    "langsmith_tracer",
    "new_canary",
]


def new_canary() -> str:
    return "canary-" + uuid.uuid4().hex


# -- the third-party API ------------------------------------------------------------------------
class WeatherApi(ApiServer):
    """``GET /v1/current?city=X`` answers ``{"city": X, "temp_c": 21, "conditions": "sunny",
    "account": <the account of the key>}``.

    ``keys`` are the accepted API keys (header ``X-Api-Key`` or query ``key``), each with an
    account label (``accept(key, account=...)``; ``"default"`` otherwise) that the answer
    carries, so a test can tell from a tool's result which tenant's key was used. Every request
    is recorded with the key it presented.
    """

    def __init__(self, *keys: str, tls: Any = None) -> None:
        super().__init__(self._check, tls=tls)
        self.keys: set[str] = set(keys)
        self.accounts: dict[str, str] = {}
        self.keys_lock = threading.Lock()
        self.add_route("/v1/current", self._current, method="GET")

    def _check(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> bool | str:
        key = self.key_of(headers, query)
        with self.keys_lock:
            if key is None:
                return "missing X-Api-Key"
            return key in self.keys or "wrong key"

    @staticmethod
    def key_of(headers: Iterable[tuple[str, str]], query: Iterable[tuple[str, str]]) -> str | None:
        for k, v in headers:
            if k.lower() == "x-api-key":
                return v
        for k, v in query:
            if k == "key":
                return v
        return None

    def _current(self, request: IncomingRequest) -> Response:
        city = next((v for k, v in request.query if k == "city"), "?")
        key = self.key_of(request.headers, request.query)
        with self.keys_lock:
            account = self.accounts.get(key or "", "default")
        return Response.json(
            200, {"city": city, "temp_c": 21, "conditions": "sunny", "account": account}
        )

    def accept(self, *keys: str, account: str | None = None) -> None:
        with self.keys_lock:
            self.keys.update(keys)
            if account is not None:
                self.accounts.update(dict.fromkeys(keys, account))

    def presented_keys(self) -> list[str | None]:
        """The key each recorded request presented, oldest first."""
        return [self.key_of(r.headers, r.query) for r in self.requests]


# -- what LangChain reports ---------------------------------------------------------------------
def _describe(value: Any) -> str:
    text = f"{value!r}\n{value!s}"
    if isinstance(value, BaseException):
        text += "\n" + "".join(traceback.format_exception(value))
    return text


class RecordingHandler(BaseCallbackHandler):
    """Records every callback event with ``repr`` and ``str`` of all its arguments."""

    raise_error = True

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def record(self, event: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        parts = [_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()]
        with self._lock:
            self.events.append((event, "\n".join(parts)))

    def names(self) -> list[str]:
        with self._lock:
            return [e for e, _ in self.events]

    def payloads(self, event: str | None = None) -> list[str]:
        with self._lock:
            return [p for e, p in self.events if event is None or e == event]

    def text(self) -> str:
        with self._lock:
            return "\n".join(f"{e}: {p}" for e, p in self.events)


def _recorder(event: str) -> Any:
    def method(self: RecordingHandler, *args: Any, **kwargs: Any) -> None:
        self.record(event, args, kwargs)

    method.__name__ = event
    return method


for _event in [n for n in dir(BaseCallbackHandler) if n.startswith("on_")]:
    setattr(RecordingHandler, _event, _recorder(_event))


def _dump_run(run: Run) -> dict[str, Any]:
    data = {
        k: getattr(run, k, None)
        for k in (
            "id",
            "name",
            "run_type",
            "inputs",
            "outputs",
            "error",
            "extra",
            "events",
            "tags",
            "serialized",
            "parent_run_id",
        )
    }
    data["child_runs"] = [_dump_run(child) for child in run.child_runs]
    return data


class RunTreeTracer(BaseTracer):
    """Keeps each finished root run (with its children): a LangSmith-style run tree."""

    def __init__(self) -> None:
        super().__init__()
        self.roots: list[Run] = []

    def _persist_run(self, run: Run) -> None:
        self.roots.append(run)

    def tree_json(self) -> str:
        return json.dumps([_dump_run(r) for r in self.roots], default=repr)

    def runs(self) -> list[dict[str, Any]]:
        """Every run of every tree, flattened."""
        out: list[dict[str, Any]] = []

        def walk(run: dict[str, Any]) -> None:
            out.append(run)
            for child in run["child_runs"]:
                walk(child)

        for root in self.roots:
            walk(_dump_run(root))
        return out


class StubLangSmithClient:
    """Stands in for ``langsmith.Client``: records what the tracer would post."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def create_run(self, **kwargs: Any) -> None:
        with self._lock:
            self.posted.append({"op": "create", **kwargs})

    def update_run(self, **kwargs: Any) -> None:
        with self._lock:
            self.posted.append({"op": "update", **kwargs})

    def flush(self) -> None:
        pass

    def text(self) -> str:
        with self._lock:
            return json.dumps(self.posted, default=repr)


def langsmith_tracer() -> tuple[LangChainTracer, StubLangSmithClient]:
    client = StubLangSmithClient()
    tracer = LangChainTracer(client=client, project_name="agentrun-tests")  # type: ignore[arg-type]
    return tracer, client


def assert_absent(secret: str, **captured: str) -> None:
    """``secret`` appears in none of the captured texts (named for the failure message)."""
    for where, text in captured.items():
        assert secret not in text, f"the secret leaked into {where}"
