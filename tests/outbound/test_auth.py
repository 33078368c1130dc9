"""store.http_auth: per-request auth for httpx2, httpx and requests.

See issue 3 and docs/contract.md, "Outbound".

A loopback server accepts only what the store holds *now*, so every test also proves the
credential is resolved on the request, not at construction.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import httpx2
import pytest
import requests

import agentrun_creds_plugin as acp
from tests.support.api_server import ApiServer, header_value

Sender = Callable[[acp.CredentialStore, str, str], tuple[int, str]]


def _httpx2_sync(store: acp.CredentialStore, name: str, url: str) -> tuple[int, str]:
    with httpx2.Client(auth=store.http_auth(name)) as c:
        r = c.post(url, content=b'{"q": 1}')
        return r.status_code, repr(r.request)


def _httpx2_async(store: acp.CredentialStore, name: str, url: str) -> tuple[int, str]:
    async def go() -> tuple[int, str]:
        async with httpx2.AsyncClient(auth=store.http_auth(name)) as c:
            r = await c.post(url, content=b'{"q": 1}')
            return r.status_code, repr(r.request)

    return asyncio.run(go())


def _httpx_sync(store: acp.CredentialStore, name: str, url: str) -> tuple[int, str]:
    with httpx.Client(auth=store.http_auth(name)) as c:
        r = c.post(url, content=b'{"q": 1}')
        return r.status_code, repr(r.request)


def _httpx_async(store: acp.CredentialStore, name: str, url: str) -> tuple[int, str]:
    async def go() -> tuple[int, str]:
        async with httpx.AsyncClient(auth=store.http_auth(name)) as c:
            r = await c.post(url, content=b'{"q": 1}')
            return r.status_code, repr(r.request)

    return asyncio.run(go())


def _requests(store: acp.CredentialStore, name: str, url: str) -> tuple[int, str]:
    with requests.Session() as s:
        s.auth = store.http_auth(name)
        r = s.post(url, data=b'{"q": 1}')
        return r.status_code, repr(r.request) + str(r.request.url) + r.url


SENDERS: dict[str, Sender] = {
    "httpx2": _httpx2_sync,
    "httpx2-async": _httpx2_async,
    "httpx": _httpx_sync,
    "httpx-async": _httpx_async,
    "requests": _requests,
}


@pytest.fixture(params=list(SENDERS))
def send(request: pytest.FixtureRequest) -> Sender:
    return SENDERS[request.param]


def _expect(
    server: ApiServer, want: Callable[[list[tuple[str, str]], list[tuple[str, str]]], bool]
) -> None:
    server.check = lambda m, p, q, h, b: True if want(q, h) else "credential mismatch"


def _current(store: acp.CredentialStore, name: str) -> Any:
    return store.resolve(name, resource="test-server")


@pytest.fixture
def server(api_server: ApiServer) -> Iterator[ApiServer]:
    yield api_server


def test_tool_key_in_authorization_header(
    store: acp.CredentialStore, server: ApiServer, send: Sender, canary: str
) -> None:
    store.create("t", acp.ToolApiKeyCredential(api_key=canary))
    _expect(
        server,
        lambda q, h: (
            header_value(h, "Authorization")
            == f"Bearer {_current(store, 't').api_key.get_secret_value()}"
        ),
    )
    status, shown = send(store, "t", server.url("/v1/x"))
    assert status == 200 and canary not in shown
    store.update("t", acp.ToolApiKeyCredential(api_key=canary + "-rotated"))
    assert send(store, "t", server.url("/v1/x"))[0] == 200
    assert [r.header("Authorization") for r in server.requests] == [
        f"Bearer {canary}",
        f"Bearer {canary}-rotated",
    ]


def test_tool_key_in_custom_header_without_prefix(
    store: acp.CredentialStore, server: ApiServer, send: Sender
) -> None:
    store.create("t", acp.ToolApiKeyCredential(api_key="wk-1", param="X-Api-Key"))
    _expect(server, lambda q, h: header_value(h, "X-Api-Key") == "wk-1")
    assert send(store, "t", server.url("/x"))[0] == 200
    assert server.last_request.header("Authorization") is None


def test_tool_key_in_query(
    store: acp.CredentialStore,
    server: ApiServer,
    send: Sender,
    canary: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    store.create("t", acp.ToolApiKeyCredential(api_key=canary, location="query", param="key"))
    _expect(server, lambda q, h: ("key", canary) in q and ("page", "2") in q)
    status, shown = send(store, "t", server.url("/search?page=2&key=placeholder"))
    assert status == 200
    assert [k for k, _ in server.last_request.query].count("key") == 1  # replaced, not added
    assert canary not in shown  # the request's URL is redacted once the response is in
    assert canary not in caplog.text  # httpx/urllib3 log lines are redacted


def test_custom_headers(store: acp.CredentialStore, server: ApiServer, send: Sender) -> None:
    store.create("c", acp.CustomHeadersCredential(headers={"X-App-Id": "a1", "X-App-Secret": "s1"}))
    _expect(
        server,
        lambda q, h: (
            header_value(h, "X-App-Id") == "a1" and header_value(h, "X-App-Secret") == "s1"
        ),
    )
    assert send(store, "c", server.url("/x"))[0] == 200


@pytest.mark.parametrize(
    ("provider", "extra", "header", "value"),
    [
        ("openai", {}, "Authorization", "Bearer mk-1"),
        ("deepseek", {}, "Authorization", "Bearer mk-1"),
        ("anthropic", {}, "Authorization", "Bearer mk-1"),
        (
            "azure_openai",
            {"base_url": "https://x.openai.azure.com", "api_version": "2024-10-21"},
            "api-key",
            "mk-1",
        ),
    ],
)
def test_model_service_header_styles(
    store: acp.CredentialStore,
    server: ApiServer,
    provider: str,
    extra: dict[str, str],
    header: str,
    value: str,
) -> None:
    store.create("m", acp.ModelServiceCredential(provider=provider, api_key="mk-1", **extra))
    _expect(server, lambda q, h: header_value(h, header) == value)
    assert _httpx2_sync(store, "m", server.url("/v1/chat"))[0] == 200


def test_anthropic_key_goes_where_the_request_carries_x_api_key(
    store: acp.CredentialStore, server: ApiServer
) -> None:
    store.create("m", acp.ModelServiceCredential(provider="anthropic", api_key="ak-1"))
    _expect(server, lambda q, h: header_value(h, "x-api-key") == "ak-1")
    with httpx2.Client(auth=store.http_auth("m")) as c:
        assert (
            c.post(server.url("/v1/messages"), headers={"x-api-key": "placeholder"}).status_code
            == 200
        )


def test_service_api_key_client_side(
    store: acp.CredentialStore, server: ApiServer, send: Sender
) -> None:
    store.create(
        "svc", acp.ApiKeyCredential(api_key="svc-1", header_name="X-Api-Key", prefix="Token")
    )
    _expect(server, lambda q, h: header_value(h, "X-Api-Key") == "Token svc-1")
    assert send(store, "svc", server.url("/x"))[0] == 200


def test_basic_auth_client_side(
    store: acp.CredentialStore, server: ApiServer, send: Sender
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", acp.BasicAuthWarning)
        store.create("b", acp.BasicAuthCredential(username="svc", password="pw:1"))
    token = base64.b64encode(b"svc:pw:1").decode()
    _expect(server, lambda q, h: header_value(h, "Authorization") == f"Basic {token}")
    assert send(store, "b", server.url("/x"))[0] == 200


def test_jwt_credential_is_refused_outbound(store: acp.CredentialStore) -> None:
    store.create("j", acp.JwtCredential(jwks={"keys": [{"kty": "RSA", "n": "n", "e": "AQAB"}]}))
    with pytest.raises(acp.InvalidCredentialError, match="verifies inbound tokens"):
        store.http_auth("j")


def test_disabled_fails_before_anything_is_sent(
    store: acp.CredentialStore, server: ApiServer, send: Sender
) -> None:
    store.create("t", acp.ToolApiKeyCredential(api_key="k1"))
    store.disable("t")
    with pytest.raises(acp.CredentialDisabledError) as info:
        send(store, "t", server.url("/x"))
    assert info.value.status_code == 401 and "store.enable('t')" in str(info.value)
    assert server.request_count == 0


def test_deleted_fails_before_anything_is_sent(
    store: acp.CredentialStore, server: ApiServer
) -> None:
    store.create("gone", acp.ToolApiKeyCredential(api_key="k"))
    auth = store.http_auth("gone")
    store.delete("gone")
    with httpx2.Client(auth=auth) as c, pytest.raises(acp.CredentialNotFoundError):
        c.get(server.url("/x"))
    with requests.Session() as s, pytest.raises(acp.CredentialNotFoundError):
        s.get(server.url("/x"), auth=auth)
    assert server.request_count == 0


def test_every_send_resolves_again(store: acp.CredentialStore, server: ApiServer) -> None:
    """A retry is another send: it carries the key the store holds at that moment."""
    store.create("t", acp.ToolApiKeyCredential(api_key="v1", param="X-Key"))
    server.check = lambda m, p, q, h, b: header_value(h, "X-Key") == "v2" or "stale key"
    with httpx2.Client(auth=store.http_auth("t")) as c:
        request = c.build_request("GET", server.url("/x"))
        first = c.send(request)
        assert first.status_code == 401
        store.update("t", acp.ToolApiKeyCredential(api_key="v2", param="X-Key"))
        assert c.send(c.build_request("GET", server.url("/x"))).status_code == 200
    assert [r.header("X-Key") for r in server.requests] == ["v1", "v2"]


def test_audit_resource_and_repr(
    store: acp.CredentialStore, server: ApiServer, canary: str
) -> None:
    store.create("t", acp.ToolApiKeyCredential(api_key=canary))
    auth = store.http_auth("t", resource="tool:search")
    assert canary not in repr(auth) and "t" in repr(auth)
    with httpx2.Client(auth=auth) as c:
        c.get(server.url("/x"))
    assert [e.resource for e in store.audit("t", action="used")] == ["tool:search"]


def test_auth_is_an_instance_of_each_library_base(store: acp.CredentialStore) -> None:
    store.create("t", acp.ToolApiKeyCredential(api_key="k"))
    auth = store.http_auth("t")
    assert isinstance(auth, httpx2.Auth) and isinstance(auth, httpx.Auth) and callable(auth)


def test_no_lock_is_held_across_the_yield(store: acp.CredentialStore) -> None:
    """While a flow is suspended at its yield (the request in flight), the store stays usable
    from this thread and others: nothing is locked across the yield."""
    import threading

    store.create("t", acp.ToolApiKeyCredential(api_key="k1"))
    auth = store.http_auth("t")
    flows = [auth.sync_auth_flow(httpx2.Request("GET", "http://127.0.0.1:9/")) for _ in range(3)]
    sent = [next(f) for f in flows]  # three requests "in flight" at once
    assert {r.headers["Authorization"] for r in sent} == {"Bearer k1"}
    store.update("t", acp.ToolApiKeyCredential(api_key="k2"))
    done = threading.Event()
    threading.Thread(target=lambda: (store.resolve("t"), done.set())).start()
    assert done.wait(5)
    for f in flows:
        with pytest.raises(StopIteration):
            f.send(httpx2.Response(200))
