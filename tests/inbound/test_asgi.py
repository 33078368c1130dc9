"""The ASGI middleware and the FastAPI dependency, served by a real uvicorn on loopback."""

# No ``from __future__ import annotations``: FastAPI reads the local Annotated aliases as objects.

import asyncio
import base64
import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import pytest
import websockets
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.inbound import Principal
from agentrun_creds_plugin.integrations.asgi import PRINCIPAL_KEY, CredentialAuthMiddleware
from agentrun_creds_plugin.integrations.fastapi import require_credential
from agentrun_creds_plugin.kinds import ApiKeyCredential, BasicAuthCredential, JwtCredential
from tests.inbound.test_jwt import KEY, _jwk, claims, sign
from tests.support.uvicorn_server import serve


def _basic(user: str, pw: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


async def whoami(request: Request) -> JSONResponse:
    p: Principal = request.scope[PRINCIPAL_KEY]
    return JSONResponse(
        {
            "credential": p.credential,
            "matched": p.matched,
            "user": request.user.display_name,
            "authenticated": request.user.is_authenticated,
            "scopes": request.auth.scopes,
        }
    )


@requires("write")
async def writer(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True, "authenticated": request.user.is_authenticated})


async def echo(ws: WebSocket) -> None:
    await ws.accept()
    p: Principal = ws.scope[PRINCIPAL_KEY]
    await ws.send_text(f"hello {p.credential}")
    await ws.close()


def starlette_app(store: acp.CredentialStore, **kw: Any) -> Starlette:
    return Starlette(
        routes=[
            Route("/whoami", whoami),
            Route("/write", writer),
            Route("/health", health),
            Route("/public/info", health),
            WebSocketRoute("/ws", echo),
        ],
        middleware=[
            Middleware(
                CredentialAuthMiddleware,  # type: ignore[arg-type]
                store=store,
                credentials=["svc-key", "svc-jwt"],
                exclude_paths=["/health", "/public/*"],
                name="agent-api",
                **kw,
            )
        ],
    )


@pytest.fixture
def creds(store: acp.CredentialStore, canary: str) -> acp.CredentialStore:
    store.create("svc-key", ApiKeyCredential(api_key=canary, header_name="X-Api-Key"))
    store.create(
        "svc-jwt",
        JwtCredential(jwks={"keys": [_jwk(KEY, "k1")]}, issuer="https://idp", audience="svc"),
    )
    return store


@pytest.fixture
def url(creds: acp.CredentialStore) -> Iterator[str]:
    with serve(starlette_app(creds)) as base:
        yield base


def test_starlette_accepts_either_credential(url: str, canary: str) -> None:
    r = httpx.get(f"{url}/whoami", headers={"X-Api-Key": canary})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "credential": "svc-key",
        "matched": "current",
        "user": "svc-key",
        "authenticated": True,
        "scopes": ["authenticated"],
    }
    token = sign(claims())
    r = httpx.get(f"{url}/whoami", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.json()["credential"] == "svc-jwt"
    assert r.json()["user"] == "u1"
    assert set(r.json()["scopes"]) == {"authenticated", "read", "write"}
    # Starlette's @requires reads scope["auth"]
    assert httpx.get(f"{url}/write", headers={"Authorization": f"Bearer {token}"}).json() == {
        "ok": True
    }
    r = httpx.get(f"{url}/write", headers={"X-Api-Key": canary})
    assert r.status_code == 403  # Starlette's own refusal: the API key grants no "write"


def test_401_body_and_challenges(url: str, canary: str) -> None:
    r = httpx.get(f"{url}/whoami")
    assert r.status_code == 401
    assert r.json()["error"] == "unauthorized"
    assert "missing header" in r.json()["reason"]
    challenges = r.headers.get_list("www-authenticate")
    assert 'ApiKey realm="svc-key"' in challenges
    assert 'Bearer realm="svc-jwt"' in challenges
    r = httpx.get(f"{url}/whoami", headers={"X-Api-Key": "Bearer " + canary})
    assert r.status_code == 401
    assert "prefix present" in r.json()["reason"]
    assert r.headers.get_list("www-authenticate")[0] == 'ApiKey realm="svc-key"'
    token = sign(claims(exp=int(time.time()) - 600))
    r = httpx.get(f"{url}/whoami", headers={"Authorization": f"Bearer {token}"})
    assert (r.status_code, r.json()["reason"]) == (401, "token expired")
    assert r.headers.get_list("www-authenticate")[0] == 'Bearer realm="svc-jwt"'
    assert canary not in r.text


def test_403_for_wrong_audience(url: str) -> None:
    token = sign(claims(aud="other"))
    r = httpx.get(f"{url}/whoami", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403
    assert r.json() == {"error": "forbidden", "reason": "token not meant for this service (aud)"}


def test_middleware_scopes_rule(creds: acp.CredentialStore, canary: str) -> None:
    with serve(starlette_app(creds, scopes=["read"])) as base:
        assert httpx.get(f"{base}/whoami", headers={"X-Api-Key": canary}).status_code == 403
        token = sign(claims())
        r = httpx.get(f"{base}/whoami", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200


def test_exclude_paths(url: str) -> None:
    assert httpx.get(f"{url}/health").json() == {"ok": True, "authenticated": False}
    assert httpx.get(f"{url}/public/info").status_code == 200
    assert httpx.get(f"{url}/healthz").status_code == 401
    assert httpx.get(f"{url}/public").status_code == 401


def _raw_status(url: str, header_lines: bytes) -> int:
    """Send a request byte for byte (httpx refuses to send such headers) and read the status."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"GET /whoami HTTP/1.1\r\nHost: x\r\n" + header_lines + b"Connection: close\r\n\r\n"
        )
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1])


@pytest.mark.parametrize(
    "lines",
    [
        b"X-Api-Key: a\x00b\r\n",
        b"X-Api-Key: a\nb\r\n",
        b"Authorization: Bearer " + b"a" * 9000 + b"\r\n",
        b"Authorization: Bearer a.b.c\r\n",
        b"Authorization: Basic !!!\r\n",
        b"Authorization: Basic " + base64.b64encode(b"\xff\xfe:\x00") + b"\r\n",
        b"X-Api-Key: " + b"x" * 20000 + b"\r\n",
        b"Authorization: Bearer \xff\xfe\x80\r\n",
        b"X-Api-Key: a\r\nX-Api-Key: b\r\n",
        b"Authorization: Bearer eyJhbGciOiJub25lIn0.e30.\r\n",
    ],
)
def test_garbage_is_never_500(url: str, lines: bytes) -> None:
    assert _raw_status(url, lines) in (400, 401, 403, 431)


def test_websocket(url: str, canary: str) -> None:
    ws_url = url.replace("http://", "ws://") + "/ws"

    async def talk(headers: dict[str, str]) -> str:
        async with websockets.connect(ws_url, additional_headers=headers) as ws:
            return str(await ws.recv())

    assert asyncio.run(talk({"X-Api-Key": canary})) == "hello svc-key"
    with pytest.raises(websockets.InvalidStatus) as info:
        asyncio.run(talk({"X-Api-Key": "wrong"}))
    assert info.value.response.status_code == 401
    body = json.loads(info.value.response.body or b"{}")
    assert body["error"] == "unauthorized"
    assert canary not in str(info.value.response.body)


def test_attachments_and_refused_delete(url: str, creds: acp.CredentialStore) -> None:
    assert ("service", "agent-api") in creds.attachments("svc-key")
    assert ("service", "agent-api") in creds.attachments("svc-jwt")
    with pytest.raises(acp.CredentialInUseError):
        creds.delete("svc-key")


def test_audit_rows(url: str, creds: acp.CredentialStore, canary: str) -> None:
    httpx.get(f"{url}/whoami", headers={"X-Api-Key": canary})
    httpx.get(f"{url}/whoami", headers={"X-Api-Key": "nope"})
    rows = creds.audit("svc-key", resource="route:GET /whoami")
    assert [(r.action, r.reason) for r in rows] == [
        ("use_failed", "wrong key in header X-Api-Key"),
        ("used", None),
    ]
    # one row per request: the JWT credential was not recorded for the API-key request
    assert creds.audit("svc-jwt", resource="route:GET /whoami") == []


def test_disable_takes_effect(url: str, creds: acp.CredentialStore, canary: str) -> None:
    assert httpx.get(f"{url}/whoami", headers={"X-Api-Key": canary}).status_code == 200
    creds.disable("svc-key")
    r = httpx.get(f"{url}/whoami", headers={"X-Api-Key": canary})
    assert r.status_code == 401
    assert "disabled" in r.json()["reason"]


def test_lifespan_passes_through(creds: acp.CredentialStore) -> None:
    events: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            events.append(message["type"])
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
            events.append(message["type"])
            await send({"type": "lifespan.shutdown.complete"})

    wrapped = CredentialAuthMiddleware(app, store=creds, credentials=["svc-key"])
    assert wrapped.name == "function"
    with serve(wrapped):
        pass
    assert events == ["lifespan.startup", "lifespan.shutdown"]


# -- FastAPI -----------------------------------------------------------------------------


def fastapi_app(store: acp.CredentialStore) -> FastAPI:
    app = FastAPI(title="agent")
    key_principal = Annotated[Principal, Depends(require_credential(store, "svc-key"))]
    admin_principal = Annotated[
        Principal, Depends(require_credential(store, "svc-jwt", scopes=["admin"]))
    ]
    basic_principal = Annotated[Principal, Depends(require_credential(store, "svc-basic"))]

    @app.get("/items/{item_id}")
    async def item(item_id: int, principal: key_principal) -> dict[str, Any]:
        return {"item": item_id, "credential": principal.credential}

    @app.post("/admin")
    async def admin(
        principal: admin_principal,
    ) -> dict[str, Any]:
        return {"sub": principal.subject}

    @app.get("/basic")
    async def basic(principal: basic_principal) -> str:
        return str(principal.username)

    return app


@pytest.fixture
def api(creds: acp.CredentialStore, canary: str) -> Iterator[str]:
    with pytest.warns(acp.BasicAuthWarning):
        creds.create("svc-basic", BasicAuthCredential(username="alice", password=canary))
    with serve(fastapi_app(creds)) as base:
        yield base


def test_fastapi_dependency(api: str, creds: acp.CredentialStore, canary: str) -> None:
    r = httpx.get(f"{api}/items/3", headers={"X-Api-Key": canary})
    assert r.json() == {"item": 3, "credential": "svc-key"}
    r = httpx.get(f"{api}/items/3", headers={"X-Api-Key": "wrong"})
    assert r.status_code == 401
    assert r.json() == {
        "detail": {"error": "unauthorized", "reason": "wrong key in header X-Api-Key"}
    }
    assert r.headers["www-authenticate"] == 'ApiKey realm="svc-key"'
    assert httpx.get(f"{api}/basic", headers={"Authorization": _basic("alice", canary)}).json() == (
        "alice"
    )
    r = httpx.get(f"{api}/basic", headers={"Authorization": _basic("alice", "x")})
    assert (r.status_code, r.headers["www-authenticate"]) == (401, 'Basic realm="svc-basic"')
    token = sign(claims())
    r = httpx.post(f"{api}/admin", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403
    assert r.json()["detail"] == {"error": "forbidden", "reason": "missing scope admin"}
    token = sign(claims(scope="admin"))
    r = httpx.post(f"{api}/admin", headers={"Authorization": f"Bearer {token}"})
    assert r.json() == {"sub": "u1"}
    # attached per route on first use; the delete is refused
    assert ("service", "GET /items/{item_id}") in creds.attachments("svc-key")
    assert ("service", "POST /admin") in creds.attachments("svc-jwt")
    with pytest.raises(acp.CredentialInUseError):
        creds.delete("svc-basic")
    rows = creds.audit("svc-key", resource="route:GET /items/{item_id}")
    assert [r.action for r in rows] == ["use_failed", "used"]


def test_fastapi_openapi_schemes(creds: acp.CredentialStore, canary: str) -> None:
    with pytest.warns(acp.BasicAuthWarning):
        creds.create("svc-basic", BasicAuthCredential(username="alice", password=canary))
    schema = fastapi_app(creds).openapi()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["svc-key"] == {"type": "apiKey", "in": "header", "name": "X-Api-Key"}
    assert schemes["svc-jwt"]["type"] == "http"
    assert schemes["svc-jwt"]["scheme"] == "bearer"
    assert schemes["svc-basic"] == {"type": "http", "scheme": "basic"}
    assert schema["paths"]["/items/{item_id}"]["get"]["security"] == [{"svc-key": []}]
    assert canary not in json.dumps(schema)


def test_canary_never_leaks(
    creds: acp.CredentialStore, canary: str, caplog: pytest.LogCaptureFixture
) -> None:
    """No key or token in any response, DEBUG log line or audit row, accepted or refused."""
    caplog.set_level(logging.DEBUG)
    token = sign(claims(jti=canary))
    bad_token = sign(claims(aud="other", jti=canary))
    with serve(starlette_app(creds), log_level="debug") as base:
        sent = [
            {"X-Api-Key": canary},
            {"X-Api-Key": f"{canary} {canary}"},  # the key twice: "prefix present"
            {"X-Api-Key": f"Bearer {canary}"},
            {"X-Api-Key": canary + "x"},
            {"Authorization": canary},
            {"Authorization": f"Bearer {token}"},
            {"Authorization": f"Bearer {bad_token}"},
            {"Authorization": f"Bearer {token[:-5]}"},
            {"Authorization": _basic("alice", canary)},
        ]
        bodies = []
        for headers in sent:
            r = httpx.get(f"{base}/whoami", headers=headers)
            bodies.append(r.text + json.dumps(dict(r.headers)))
    statuses_ok = [b for b in bodies if '"matched"' in b]
    assert len(statuses_ok) == 2  # the right key and the good token
    for text in [*bodies, caplog.text]:
        assert canary not in text
        assert token.split(".")[2] not in text
    creds.flush_audit()
    for event in creds.audit(limit=1000):
        assert canary not in repr(event)
        assert canary not in str(event.reason)


def test_websocket_close_1008_without_the_http_response_extension(
    creds: acp.CredentialStore,
) -> None:
    """Servers without ``websocket.http.response``: the socket is closed before accept."""
    reached: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["type"])

    app = CredentialAuthMiddleware(inner, store=creds, credentials=["svc-key"], name="ws")
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/ws", "headers": [(b"x-api-key", b"wrong")]}
    asyncio.run(app(scope, receive, send))
    assert reached == []
    assert sent == [
        {"type": "websocket.close", "code": 1008, "reason": "wrong key in header X-Api-Key"}
    ]
