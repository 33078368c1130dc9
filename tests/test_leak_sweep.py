"""The leak sweep: canaries of every kind through every integration at once, then no canary
anywhere a secret could escape to (docs/reliability.md, "Leak sweep").

tests/test_canaries.py covers the store's own surfaces kind by kind; this sweep drives the
integrations too (CLI, openai, anthropic, LangChain models, embeddings and tools, outbound auth
on httpx2/httpx/requests with successes, failures, redirects and streaming, the inbound
verifier) with the root logger and every library logger at DEBUG, and scans: the database and
its WAL, every log record, captured stdout/stderr, LangChain callback payloads, reprs and
pickles of errors and infos, exception texts with their chained causes and formatted tracebacks.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import socket
import traceback
import warnings
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import requests
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tools import tool

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.integrations.anthropic import anthropic_client
from agentrun_creds_plugin.integrations.langchain import chat_model, embeddings
from agentrun_creds_plugin.integrations.openai import openai_client
from agentrun_creds_plugin.integrations.tools import requires_credential
from tests.cli.helpers import run as cli
from tests.support.api_server import ApiServer, Response
from tests.support.llm_server import LLMServer

LOGGERS = (
    "",
    "httpx",
    "httpx2",
    "httpcore",
    "urllib3",
    "requests",
    "openai",
    "anthropic",
    "langchain",
    "langchain_core",
    "agentrun_creds_plugin",
    "asyncio",
    "hpack",
)


class Recorder(BaseCallbackHandler):
    """Every callback LangChain fires, with its whole payload (as text)."""

    def __init__(self) -> None:
        self.payloads: list[str] = []

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("on_"):
            payloads = object.__getattribute__(self, "payloads")

            def record(*args: Any, **kwargs: Any) -> None:
                payloads.append(f"{name} {args!r} {kwargs!r}")

            return record
        return object.__getattribute__(self, name)


def _error_texts(exc: BaseException) -> list[str]:
    """What a user or a log could see of an error: text, repr, causes, traceback, pickle."""
    out = ["".join(traceback.format_exception(exc)), repr(exc), str(exc)]
    seen = exc
    while seen.__cause__ or seen.__context__:
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
        out += [repr(seen), str(seen)]
    try:
        out.append(repr(pickle.dumps(exc)))
    except Exception as unpicklable:  # some SDK errors hold a response: note, do not fail
        out.append(repr(unpicklable))
    return out


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _outbound(canary: str) -> dict[str, acp.CredentialBase]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "api": acp.ApiKeyCredential(api_key=canary + "a1", header_name="X-Api-Key"),
            "basic": acp.BasicAuthCredential(username="svc", password=canary + "a2"),
            "tool_h": acp.ToolApiKeyCredential(api_key=canary + "a3", param="X-Api-Key"),
            "tool_q": acp.ToolApiKeyCredential(api_key=canary + "a4", location="query", param="k"),
            "headers": acp.CustomHeadersCredential(headers={"X-Key": canary + "a5"}),
            "cloud": acp.CloudAccessKeyCredential(
                provider="aws",
                access_key_id="AKIDPUBLIC",
                access_key_secret=canary + "a6",
                region="us-east-1",
            ),
        }


def test_no_canary_escapes_any_integration(
    tmp_path: Path,
    canary: str,
    master_key: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    llm_server: LLMServer,
) -> None:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    monkeypatch.setenv("AGENTRUN_CREDS_MASTER_KEYS", master_key)
    monkeypatch.setenv("OPENAI_LOG", "debug")
    monkeypatch.setenv("ANTHROPIC_LOG", "debug")
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    shown: list[str] = []
    gaps: list[str] = []
    recorder = Recorder()
    model_key, claude_key = canary + "m1", canary + "m2"
    llm_server.accept(model_key, claude_key)
    dead = f"http://127.0.0.1:{_closed_port()}/x"
    with acp.CredentialStore.open(url) as store, ApiServer() as api, ApiServer() as other:
        other_url = other.url("/landing")
        api.add_route("/hop", Response(302, [("Location", other_url)]))
        # -- the store and the CLI --------------------------------------------------------
        for name, cred in _outbound(canary).items():
            shown.append(repr(store.create(name, cred)))
        store.create(
            "m",
            acp.ModelServiceCredential(
                provider="openai", api_key=model_key, base_url=llm_server.base_url
            ),
        )
        store.create(
            "c",
            acp.ModelServiceCredential(
                provider="anthropic", api_key=claude_key, base_url=llm_server.anthropic_base_url
            ),
        )
        store.create("inbound", acp.ApiKeyCredential(api_key=canary + "i1"))
        for args in (
            ("list",),
            ("list", "--json"),
            ("show", "m"),
            ("check", "cloud"),
            ("audit",),
            ("audit", "--json"),
            ("show", "tool_q", "--json"),
        ):
            shown.append(cli(url, *args)[1])
        # -- outbound auth: success, failure, redirect, on three libraries ----------------
        for name in _outbound(canary):
            auth = store.http_auth(name)
            shown.append(repr(auth))
            for target in (api.url("/ok"), api.url("/hop"), dead):
                for send in (
                    lambda u, a=auth: httpx2.get(u, auth=a, follow_redirects=True),
                    lambda u, a=auth: httpx.get(u, auth=a),
                    lambda u, a=auth: requests.get(u, auth=a, timeout=5),
                ):
                    try:
                        resp = send(target)
                        shown += [repr(resp), str(resp.url), repr(getattr(resp, "request", ""))]
                        shown += [repr(getattr(resp, "history", ""))]
                    except requests.ConnectionError as exc:
                        # Documented gap (docs/reliability.md): urllib3 writes the URL, query
                        # key included, into its connection-error message, after the auth ran.
                        (gaps if name == "tool_q" else shown).extend(_error_texts(exc))
                    except Exception as exc:
                        shown += _error_texts(exc)
        # -- openai, anthropic: a call, a stream, a refused key ----------------------------
        oai = openai_client(store, "m", max_retries=0)
        shown.append(
            repr(
                oai.chat.completions.create(
                    model="gpt-x", messages=[{"role": "user", "content": "hi"}]
                )
            )
        )
        for chunk in oai.chat.completions.create(
            model="gpt-x", messages=[{"role": "user", "content": "hi"}], stream=True
        ):
            shown.append(repr(chunk))
        claude = anthropic_client(store, "c", max_retries=0)
        shown.append(
            repr(
                claude.messages.create(
                    model="claude-x", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
                )
            )
        )
        llm_server.revoke(model_key)
        try:
            oai.chat.completions.create(model="gpt-x", messages=[{"role": "user", "content": "x"}])
        except Exception as exc:
            shown += _error_texts(exc)
        llm_server.accept(model_key)
        store.disable("m")
        try:
            oai.chat.completions.create(model="gpt-x", messages=[{"role": "user", "content": "x"}])
        except acp.CredentialError as exc:
            shown += _error_texts(exc)
        store.enable("m")
        # -- LangChain: models, streaming, embeddings, tools, with every callback ----------
        config: Any = {"callbacks": [recorder]}
        chat = chat_model(store, "m", model="gpt-x", max_retries=0)
        shown.append(repr(chat.invoke("hi", config=config)))
        shown += [repr(c) for c in chat.stream("hi", config=config)]
        shown.append(repr(asyncio.run(chat.ainvoke("hi", config=config))))
        claude_chat = chat_model(store, "c", model="claude-x", max_retries=0)
        shown.append(repr(claude_chat.invoke("hi", config=config)))
        shown += [repr(chat), repr(claude_chat), str(chat.model_dump())]
        emb = embeddings(store, "m", model="emb-x", check_embedding_ctx_length=False)
        shown += [repr(emb), repr(emb.embed_query("hi"))]

        @tool
        @requires_credential(store, "tool_h", into="client")
        def fetch(path: str, client: httpx2.Client) -> str:
            """Fetch a path of the test API."""
            return client.get(api.url(path)).text

        @tool
        @requires_credential(store, "headers")
        def echo(word: str, credential: acp.CustomHeadersCredential) -> str:
            """Say a word."""
            return word

        shown.append(fetch.invoke({"path": "/ok"}, config=config))
        shown.append(echo.invoke({"word": "w"}, config=config))
        shown += [repr(fetch.args), repr(fetch.tool_call_schema.model_json_schema())]
        store.disable("tool_h")
        try:
            fetch.invoke({"path": "/ok"}, config=config)
        except Exception as exc:
            shown += _error_texts(exc)
        # -- the inbound verifier: right and wrong keys presented by a caller --------------
        verifier = store.verifier("inbound")
        shown.append(repr(verifier.verify({"Authorization": f"{canary}i1"})))
        for wrong in (f"Bearer {canary}i1x", f"Basic {canary}", canary):
            try:
                verifier.verify({"Authorization": wrong})
            except acp.CredentialError as exc:
                shown += _error_texts(exc)
        # -- infos and events, pickled -----------------------------------------------------
        infos = store.list()
        shown += [repr(pickle.dumps(infos)), repr(infos), repr(store.audit(limit=10_000))]
        store.flush_audit()
    out, err = capfd.readouterr()
    sources = {
        "shown": "\n".join(map(str, shown)),
        "logs": caplog.text + "\n".join(repr(r.__dict__) for r in caplog.records),
        "stdout": out,
        "stderr": err,
        "callbacks": "\n".join(recorder.payloads),
    }
    assert recorder.payloads and caplog.records  # the sweep did see callbacks and logs
    assert any(canary in text for text in gaps)  # the gap is still there: update the docs
    for where, text in sources.items():
        assert canary not in text, where
    for path in tmp_path.iterdir():  # the database, its WAL, its -shm
        assert canary.encode() not in path.read_bytes(), path
