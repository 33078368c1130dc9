"""The middleware's one-credential path: an exact key is answered in one synchronous call.

With one credential and no scope rule, a request whose header carries the key exactly is
accepted from the keyed digests of the record version (``Verifier.accept_exact``) without
awaiting the store. These tests pin what a user relies on through that path: an update, a
rotation grace period, a disable and an enable reach the next request; every request leaves
one audit row with its route; a store that reads over the network takes the awaited path.
"""

# No ``from __future__ import annotations``: Starlette reads the handlers' annotations.

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.integrations.asgi import PRINCIPAL_KEY, CredentialAuthMiddleware
from agentrun_creds_plugin.kinds import ApiKeyCredential
from tests.support.uvicorn_server import serve


async def whoami(request: Request) -> JSONResponse:
    principal = request.scope[PRINCIPAL_KEY]
    return JSONResponse(
        {
            "credential": principal.credential,
            "matched": principal.matched,
            "user": request.user.display_name,
            "scopes": request.auth.scopes,
        }
    )


async def echo(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text(f"hello {ws.scope[PRINCIPAL_KEY].credential}")
    await ws.close()


def app(store: acp.CredentialStore) -> Starlette:
    return Starlette(
        routes=[Route("/whoami", whoami), Route("/item/{n}", whoami), WebSocketRoute("/ws", echo)],
        middleware=[
            Middleware(
                CredentialAuthMiddleware,  # type: ignore[arg-type]
                store=store,
                credentials=["svc"],
                name="single",
            )
        ],
    )


@pytest.fixture
def served(store: acp.CredentialStore, canary: str) -> Iterator[str]:
    store.create("svc", ApiKeyCredential(api_key=canary, header_name="X-Api-Key"))
    with serve(app(store)) as base:
        yield base


def _get(base: str, key: str, path: str = "/whoami") -> httpx.Response:
    return httpx.get(f"{base}{path}", headers={"X-Api-Key": key})


def test_update_disable_and_enable_reach_the_next_request(
    served: str, store: acp.CredentialStore, canary: str
) -> None:
    for _ in range(3):  # the first request makes the digests, the next ones use them
        r = _get(served, canary)
        assert r.status_code == 200, r.text
        assert r.json() == {
            "credential": "svc",
            "matched": "current",
            "user": "svc",
            "scopes": ["authenticated"],
        }
    new = canary + "-rotated"
    store.update("svc", ApiKeyCredential(api_key=new, header_name="X-Api-Key"))
    refused = _get(served, canary)
    assert refused.status_code == 401
    assert refused.json()["reason"] == "wrong key in header X-Api-Key"
    assert _get(served, new).status_code == 200
    store.disable("svc")
    r = _get(served, new)
    assert r.status_code == 401 and "disabled" in r.json()["reason"]
    store.enable("svc")
    assert _get(served, new).status_code == 200
    rows = store.audit("svc", resource="route:GET /whoami")
    assert [r.action for r in reversed(rows)] == [
        "used",
        "used",
        "used",
        "use_failed",
        "used",
        "use_failed",
        "used",
    ]
    assert canary not in repr(rows)


def test_grace_period_key_is_accepted_and_audited_as_previous(
    served: str, store: acp.CredentialStore, canary: str
) -> None:
    assert _get(served, canary).status_code == 200
    new = canary + "-next"
    store.update("svc", ApiKeyCredential(api_key=new, header_name="X-Api-Key"), grace_seconds=60)
    for _ in range(2):
        assert _get(served, new).json()["matched"] == "current"
        assert _get(served, canary).json()["matched"] == "previous"
    reasons = [r.reason for r in store.audit("svc", action="used")]
    assert reasons.count("previous secret (grace period)") == 2


def test_each_route_and_the_websocket_are_their_own_resource(
    served: str, store: acp.CredentialStore, canary: str
) -> None:
    for n in range(3):
        for _ in range(2):
            assert _get(served, canary, f"/item/{n}").status_code == 200

    async def talk() -> str:
        ws_url = served.replace("http://", "ws://") + "/ws"
        async with websockets.connect(ws_url, additional_headers={"X-Api-Key": canary}) as ws:
            return str(await ws.recv())

    assert asyncio.run(talk()) == "hello svc"
    resources = [r.resource for r in store.audit("svc", action="used")]
    assert sorted(resources) == sorted(
        ["route:WS /ws"] + [f"route:GET /item/{n}" for n in range(3) for _ in range(2)]
    )


# -- in-process: which path a request takes ---------------------------------------------
async def _ok(scope: Any, receive: Any, send: Any) -> None:
    return None


def _scope(key: str, path: str = "/") -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "headers": [(b"host", b"x"), (b"x-api-key", key.encode())],
    }


def _counting_awaits(store: acp.CredentialStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    awaited: list[str] = []
    original = store.aservice_record

    async def counted(name: str, *, resource: str | None = None) -> Any:
        awaited.append(name)
        return await original(name, resource=resource)

    monkeypatch.setattr(store, "aservice_record", counted)
    return awaited


def test_an_exact_key_is_answered_without_awaiting_the_store(
    store: acp.CredentialStore, canary: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create("svc", ApiKeyCredential(api_key=canary, header_name="X-Api-Key"))
    middleware = CredentialAuthMiddleware(_ok, store=store, credentials=["svc"], name="t")
    awaited = _counting_awaits(store, monkeypatch)

    async def run() -> None:
        for _ in range(5):
            scope = _scope(canary)
            await middleware(scope, None, None)  # type: ignore[arg-type]
            assert scope[PRINCIPAL_KEY].credential == "svc"

    asyncio.run(run())
    assert awaited == ["svc"]  # only the first request, which made the digests
    assert len(store.audit("svc", action="used")) == 5


def test_a_store_that_reads_over_the_network_takes_the_awaited_path(
    store: acp.CredentialStore, canary: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create("svc", ApiKeyCredential(api_key=canary, header_name="X-Api-Key"))
    monkeypatch.setattr(store.backend, "inline_reads", False)  # as PostgreSQL says
    middleware = CredentialAuthMiddleware(_ok, store=store, credentials=["svc"], name="t")
    awaited = _counting_awaits(store, monkeypatch)

    async def run() -> None:
        for _ in range(3):
            await middleware(_scope(canary), None, None)  # type: ignore[arg-type]

    asyncio.run(run())
    assert awaited == ["svc"] * 3
    assert len(store.audit("svc", action="used")) == 3


def test_remembered_route_names_are_bounded(store: acp.CredentialStore, canary: str) -> None:
    """Distinct paths (ids in URLs, or a scanner) never grow memory past 1,024 entries, and
    a long path is truncated in the audit row as before, never remembered."""
    store.create("svc", ApiKeyCredential(api_key=canary, header_name="X-Api-Key"))
    middleware = CredentialAuthMiddleware(_ok, store=store, credentials=["svc"], name="t")
    long_path = "/" + "a" * 500

    async def run() -> None:
        for n in range(1100):
            await middleware(_scope(canary, f"/item/{n}"), None, None)  # type: ignore[arg-type]
        await middleware(_scope(canary, long_path), None, None)  # type: ignore[arg-type]

    asyncio.run(run())
    assert len(middleware._resources) == 1024
    rows = store.audit("svc", action="used", limit=2000)
    assert len(rows) == 1101
    assert {r.resource for r in rows} >= {"route:GET /item/0", "route:GET /item/1099"}
    assert f"route:GET {long_path[:200]}" in {r.resource for r in rows}
