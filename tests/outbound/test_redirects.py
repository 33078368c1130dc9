"""A key never follows a redirect to another origin (docs/reliability.md, "Redirects").

Two real loopback servers: A answers ``/cross`` with a 302 to B (another port, so another
origin) and ``/same`` with a 302 to its own ``/landing``. Every client the plugin builds
(``requires_credential``'s httpx2, httpx and requests clients, the model SDK clients) and
``requests`` with ``store.http_auth`` are driven through both, for the header, custom-headers
and query-parameter kinds: B never sees the credential; a same-origin redirect keeps its headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import httpx2
import pytest
import requests

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.integrations.tools import requires_credential
from agentrun_creds_plugin.outbound.redirects import guard_client, origin, strip_query


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    query: dict[str, str]


@dataclass
class Server:
    """A loopback HTTP server recording every request; ``redirect_to`` maps path -> URL."""

    redirect_to: dict[str, str] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def start(self) -> Callable[[], None]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                outer.seen.append(
                    Seen(
                        parts.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        dict(parse_qsl(parts.query)),
                    )
                )
                target = outer.redirect_to.get(parts.path)
                self.send_response(302 if target else 200)
                if target:
                    self.send_header("Location", target)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.do_GET()

            def log_message(self, *args: Any) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{httpd.server_address[1]}"
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()

        def stop() -> None:
            httpd.shutdown()
            httpd.server_close()

        return stop


@pytest.fixture
def servers() -> Iterator[tuple[Server, Server]]:
    a, b = Server(), Server()
    stop_a, stop_b = a.start(), b.start()
    a.redirect_to["/cross"] = f"{b.url}/landing"
    a.redirect_to["/same"] = "/landing"
    yield a, b
    stop_a()
    stop_b()


KINDS: dict[str, Callable[[str], acp.CredentialBase]] = {
    "tool_header": lambda s: acp.ToolApiKeyCredential(api_key=s, param="X-Api-Key"),
    "tool_authorization": lambda s: acp.ToolApiKeyCredential(api_key=s),
    "custom_headers": lambda s: acp.CustomHeadersCredential(
        headers={"X-Tenant-Key": s, "X-Other": s + "b"}
    ),
    "tool_query": lambda s: acp.ToolApiKeyCredential(api_key=s, location="query", param="key"),
}
CLIENTS = ("httpx2", "httpx", "requests", "http_auth_requests")


def _get(store: acp.CredentialStore, client: str, url: str) -> int:
    """GET ``url`` through one path; returns the final status."""
    if client == "http_auth_requests":
        return requests.get(url, auth=store.http_auth("k"), timeout=5).status_code
    if client == "requests":

        @requires_credential(store, "k", into="session")
        def via_requests(session: requests.Session) -> int:
            return session.get(url, timeout=5).status_code

        return via_requests()
    if client == "httpx":

        @requires_credential(store, "k", into="c", client_kwargs={"follow_redirects": True})
        def via_httpx(c: httpx.Client) -> int:
            return c.get(url).status_code

        return via_httpx()

    @requires_credential(store, "k", into="c", client_kwargs={"follow_redirects": True})
    def via_httpx2(c: httpx2.Client) -> int:
        return c.get(url).status_code

    return via_httpx2()


def _secret_in(seen: Seen, secret: str) -> bool:
    return any(secret in v for v in [*seen.headers.values(), *seen.query.values()])


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_cross_origin_redirect_drops_the_credential(
    store: acp.CredentialStore, servers: tuple[Server, Server], canary: str, kind: str, client: str
) -> None:
    a, b = servers
    store.create("k", KINDS[kind](canary))
    assert _get(store, client, f"{a.url}/cross") == 200
    assert [s.path for s in a.seen] == ["/cross"] and _secret_in(a.seen[0], canary)
    assert [s.path for s in b.seen] == ["/landing"]
    assert not _secret_in(b.seen[0], canary), b.seen[0]


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("kind", ["tool_header", "tool_authorization", "custom_headers"])
def test_same_origin_redirect_keeps_the_headers(
    store: acp.CredentialStore, servers: tuple[Server, Server], canary: str, kind: str, client: str
) -> None:
    a, b = servers
    store.create("k", KINDS[kind](canary))
    assert _get(store, client, f"{a.url}/same") == 200
    assert [s.path for s in a.seen] == ["/same", "/landing"]
    assert all(_secret_in(s, canary) for s in a.seen)
    assert b.seen == []


def test_async_tool_client_drops_the_credential(
    store: acp.CredentialStore, servers: tuple[Server, Server], canary: str
) -> None:
    a, b = servers
    store.create("k", acp.ToolApiKeyCredential(api_key=canary, param="X-Api-Key"))

    @requires_credential(store, "k", into="c", client_kwargs={"follow_redirects": True})
    async def via_async(c: httpx2.AsyncClient) -> int:
        return (await c.get(f"{a.url}/cross")).status_code

    assert asyncio.run(via_async()) == 200
    assert _secret_in(a.seen[0], canary) and not _secret_in(b.seen[0], canary)


def test_bare_httpx_client_is_guarded_by_guard_client(
    store: acp.CredentialStore, servers: tuple[Server, Server], canary: str
) -> None:
    """The documented gap: a bare httpx client following redirects leaks X-Api-Key, unless
    :func:`guard_client` is added (what the plugin's own clients carry)."""
    a, b = servers
    store.create("k", acp.ToolApiKeyCredential(api_key=canary, param="X-Api-Key"))
    with httpx.Client(auth=store.http_auth("k"), follow_redirects=True) as bare:
        bare.get(f"{a.url}/cross")
    assert _secret_in(b.seen[-1], canary)  # httpx strips only Authorization
    with guard_client(httpx.Client(auth=store.http_auth("k"), follow_redirects=True)) as c:
        c.get(f"{a.url}/cross")
    assert not _secret_in(b.seen[-1], canary)


def test_azure_model_client_drops_api_key(
    store: acp.CredentialStore, servers: tuple[Server, Server], canary: str
) -> None:
    """Azure OpenAI's key is in ``api-key``, which httpx2 itself does not strip."""
    from agentrun_creds_plugin.integrations.openai import openai_client

    a, b = servers
    a.redirect_to["/openai/deployments/d/chat/completions"] = f"{b.url}/landing"
    store.create(
        "az",
        acp.ModelServiceCredential(
            provider="azure_openai", api_key=canary, base_url=a.url, api_version="2024-06-01"
        ),
    )
    client = openai_client(store, "az", max_retries=0)
    with contextlib.suppress(Exception):  # B answers "ok", not a completion
        client.chat.completions.create(
            model="d", messages=[{"role": "user", "content": "hi"}], timeout=5
        )
    assert _secret_in(a.seen[0], canary)
    assert b.seen and not _secret_in(b.seen[0], canary), (a.seen, b.seen)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_model_clients_drop_authorization(
    store: acp.CredentialStore, servers: tuple[Server, Server], canary: str, provider: str
) -> None:
    a, b = servers
    for path in ("/chat/completions", "/v1/messages"):
        a.redirect_to[path] = f"{b.url}/landing"
    store.create("m", acp.ModelServiceCredential(provider=provider, api_key=canary, base_url=a.url))
    if provider == "openai":
        from agentrun_creds_plugin.integrations.openai import openai_client

        with contextlib.suppress(Exception):
            openai_client(store, "m", max_retries=0).chat.completions.create(
                model="x", messages=[{"role": "user", "content": "hi"}], timeout=5
            )
    else:
        from agentrun_creds_plugin.integrations.anthropic import anthropic_client

        with contextlib.suppress(Exception):
            anthropic_client(store, "m", max_retries=0).messages.create(
                model="x", max_tokens=5, messages=[{"role": "user", "content": "hi"}], timeout=5
            )
    assert _secret_in(a.seen[0], canary)
    assert b.seen and not _secret_in(b.seen[0], canary), (a.seen, b.seen)


def test_origin_and_strip_query() -> None:
    assert origin("http://H:80/x") == origin("http://h/y")
    assert origin("https://h/") != origin("http://h/")
    assert origin("http://h:8080/") != origin("http://h/")
    assert strip_query("http://h/p?key=s&a=1", ["key"]) == "http://h/p?a=1"
    assert strip_query("http://h/p?a=1", ["key"]) == "http://h/p?a=1"


def test_the_guard_keeps_no_key_and_compares_origins_not_spellings() -> None:
    """What the auth records holds no key (a query key lives in the URL until redacted), and
    a redirect is judged by origin: another spelling of the same origin keeps the header."""
    from agentrun_creds_plugin.outbound.redirects import (
        SENT_EXTENSION,
        drop_cross_origin,
        mark_sent,
    )

    in_query = httpx2.Request("GET", "https://api.test/x?key=sk-canary-query")
    mark_sent(in_query, (), ("key",))
    assert "sk-canary-query" not in repr(in_query.extensions[SENT_EXTENSION])

    sent = httpx2.Request("GET", "https://api.test/x", headers={"X-Api-Key": "sk-canary"})
    mark_sent(sent, ("X-Api-Key",))
    for target, kept in (
        ("HTTPS://API.test:443/elsewhere", True),
        ("https://api.test:8443/x", False),
        ("http://api.test/x", False),
        ("https://other.test/x", False),
    ):
        hop = httpx2.Request("GET", target, headers=sent.headers, extensions=sent.extensions)
        drop_cross_origin(hop)
        assert ("x-api-key" in hop.headers) is kept, target
