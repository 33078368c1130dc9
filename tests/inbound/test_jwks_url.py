"""JWKS URL: a real HTTPS server on 127.0.0.1 with a certificate from a CA made in the test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.errors import AuthenticationError
from agentrun_creds_plugin.kinds import JwtCredential
from tests.inbound.test_jwt import KEY, OTHER, _jwk, claims, sign
from tests.support.certs import make_test_pki


class Issuer:
    def __init__(self) -> None:
        self.body: bytes = json.dumps({"keys": [_jwk(KEY, "k1")]}).encode()
        self.hits = 0
        self.up = True


@pytest.fixture
def issuer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Issuer, str]]:
    pki = make_test_pki(tmp_path / "pki")
    state = Issuer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits += 1
            if not state.up:
                self.send_response(503)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = pki.server_ssl_context().wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_pem_path))
    try:
        yield state, f"https://127.0.0.1:{server.server_address[1]}/jwks"
    finally:
        server.shutdown()
        server.server_close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_fetch_rotation_cooldown_and_issuer_down(
    store: acp.CredentialStore, issuer: tuple[Issuer, str]
) -> None:
    state, url = issuer
    store.create(
        "jwt", JwtCredential(jwks_url=url, issuer="https://idp", audience="svc", refresh_interval=2)
    )
    v = store.verifier("jwt")
    assert v.verify(bearer(sign(claims()))).subject == "u1"
    for _ in range(50):  # steady state: no fetch per request
        v.verify(bearer(sign(claims())))
    assert state.hits == 1
    # a flood of unknown kids: at most one refetch in the cooldown window
    for i in range(30):
        with pytest.raises(AuthenticationError):
            v.verify(bearer(sign(claims(), key=OTHER, kid=f"forged{i}")))
    assert state.hits == 2
    # rotation at the issuer; after the refresh interval the new key verifies, old gone
    state.body = json.dumps({"keys": [_jwk(OTHER, "k2")]}).encode()
    time.sleep(2.2)
    assert v.verify(bearer(sign(claims(), key=OTHER, kid="k2"))).subject == "u1"
    with pytest.raises(AuthenticationError):
        v.verify(bearer(sign(claims())))
    # issuer down or serving garbage: the last good set still verifies
    state.up = False
    time.sleep(2.2)
    assert v.verify(bearer(sign(claims(), key=OTHER, kid="k2"))).subject == "u1"
    state.up, state.body = True, b"not json"
    time.sleep(2.2)
    assert v.verify(bearer(sign(claims(), key=OTHER, kid="k2"))).subject == "u1"


def test_untrusted_certificate_is_refused(
    store: acp.CredentialStore, issuer: tuple[Issuer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _state, url = issuer
    monkeypatch.delenv("SSL_CERT_FILE")
    store.create("jwt", JwtCredential(jwks_url=url, issuer="https://idp", audience="svc"))
    with pytest.raises(AuthenticationError):
        store.verifier("jwt").verify(bearer(sign(claims())))
