"""A real HTTPS key server on 127.0.0.1 (certificate from a CA the test makes) that can insist
on a request method, headers and a body, and serve an OIDC discovery document.

Anything short of the configured request gets a 401, as a gateway in front of a key server
would answer. Every request is recorded (method, host, path, headers) so tests can see what
the client sent where.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.inbound.test_jwt import KEY, _jwk
from tests.support.certs import make_test_pki


@dataclass
class Seen:
    method: str
    host: str
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class KeyServer:
    base: str = ""
    jwks: Any = field(default_factory=lambda: {"keys": [_jwk(KEY, "k1")]})
    raw: bytes | None = None  # served instead of the JWKS when set
    status: int = 200
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    discovery: dict[str, Any] | None = None
    requests: list[Seen] = field(default_factory=list)

    @property
    def jwks_url(self) -> str:
        return f"{self.base}/jwks"

    def serve_discovery(self, *, issuer: str | None = None, jwks_uri: str | None = None) -> None:
        self.discovery = {
            "issuer": issuer or self.base,
            "jwks_uri": jwks_uri or self.jwks_url,
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def fetches(self, path: str = "/jwks") -> int:
        return sum(1 for r in self.requests if r.path == path)


def _handler(state: KeyServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            headers = {k: v for k, v in self.headers.items()}
            host = self.headers.get("Host", "")
            state.requests.append(Seen(method, host, self.path, headers, body))
            if self.path == "/.well-known/openid-configuration" and state.discovery:
                return self._send(200, json.dumps(state.discovery).encode())
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/jwks")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if self.path != "/jwks":
                return self._send(404, b"{}")
            allowed = method == state.method and all(
                self.headers.get(k) == v for k, v in state.headers.items()
            )
            if state.body is not None and body != state.body:
                allowed = False
            if not allowed:
                return self._send(401, b'{"error": "unauthorized"}')
            if state.status != 200:
                return self._send(state.status, b"{}")
            self._send(200, state.raw if state.raw is not None else json.dumps(state.jwks).encode())

        def _send(self, status: int, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def key_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KeyServer]:
    pki = make_test_pki(tmp_path / "pki")
    state = KeyServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.socket = pki.server_ssl_context().wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_pem_path))
    state.base = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
