"""The generic third-party API server: pluggable auth checks, JSON documents, HTTPS."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import ssl
import time
from collections.abc import Iterator

import httpx
import httpx2
import pytest
import requests
from cryptography import x509

from tests.support.api_server import (
    ApiServer,
    HeaderPairs,
    IncomingRequest,
    QueryPairs,
    Response,
    header_value,
)
from tests.support.certs import TestPKI, make_test_pki

pytest_plugins = ["tests.support.fixtures_llm"]

SECRET = b"test-signing-secret"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


def test_accepts_everything_without_check(api_server: ApiServer, http: httpx.Client) -> None:
    response = http.post(api_server.url("/v1/things?x=1"), json={"a": 1})
    assert response.status_code == 200
    assert response.json() == {"ok": True, "method": "POST", "path": "/v1/things"}
    (rec,) = api_server.requests
    assert (rec.method, rec.path, rec.target, rec.query) == (
        "POST",
        "/v1/things",
        "/v1/things?x=1",
        [("x", "1")],
    )
    assert rec.accepted and rec.reason is None and rec.status == 200 and not rec.tls
    assert rec.json() == {"a": 1}
    assert api_server.base_url == f"http://127.0.0.1:{api_server.port}"


def test_api_key_in_header(api_server: ApiServer, http: httpx.Client) -> None:
    def check(
        method: str, path: str, query: QueryPairs, headers: HeaderPairs, body: bytes
    ) -> bool | str:
        if header_value(headers, "X-Api-Key") == "key-1":
            return True
        return "missing or wrong X-Api-Key"

    api_server.check = check
    assert http.get(api_server.url("/r"), headers={"X-Api-Key": "key-1"}).status_code == 200
    rejected = http.get(api_server.url("/r"), headers={"X-Api-Key": "key-2"})
    assert rejected.status_code == 401
    assert rejected.json() == {"error": "unauthorized", "reason": "missing or wrong X-Api-Key"}
    ok, bad = api_server.requests
    assert ok.accepted and ok.header("x-api-key") == "key-1"
    assert (bad.accepted, bad.reason, bad.status) == (False, "missing or wrong X-Api-Key", 401)
    assert ("X-Api-Key", "key-2") in bad.headers  # header pairs keep the sent case


def test_api_key_in_query_and_bool_verdict(api_server: ApiServer, http: httpx.Client) -> None:
    api_server.check = lambda m, p, q, h, b: ("api_key", "qk") in q
    api_server.reject_status = 403
    assert http.get(api_server.url("/data"), params={"api_key": "qk"}).status_code == 200
    rejected = http.get(api_server.url("/data"), params={"api_key": "other"})
    assert rejected.status_code == 403
    assert api_server.last_request.reason == "rejected"
    assert api_server.last_request.query_value("api_key") == "other"


def test_custom_headers_check(api_server: ApiServer, http: httpx.Client) -> None:
    def check(m: str, p: str, q: QueryPairs, h: HeaderPairs, b: bytes) -> bool | str:
        missing = [n for n in ("X-Client-Id", "X-Client-Secret") if header_value(h, n) is None]
        return f"missing {', '.join(missing)}" if missing else True

    api_server.check = check
    both = {"X-Client-Id": "id", "X-Client-Secret": "secret"}
    assert http.get(api_server.url("/"), headers=both).status_code == 200
    partial = http.get(api_server.url("/"), headers={"X-Client-Id": "id"})
    assert partial.json()["reason"] == "missing X-Client-Secret"


def _sign(method: str, path: str, timestamp: str, body: bytes) -> str:
    message = b"\n".join([method.encode(), path.encode(), timestamp.encode(), body])
    return hmac.new(SECRET, message, hashlib.sha256).hexdigest()


def test_signature_verification(api_server: ApiServer, http: httpx.Client) -> None:
    def check(m: str, p: str, q: QueryPairs, h: HeaderPairs, b: bytes) -> bool | str:
        ts, sig = header_value(h, "X-Timestamp"), header_value(h, "X-Signature")
        if ts is None or sig is None:
            return "unsigned"
        return hmac.compare_digest(sig, _sign(m, p, ts, b)) or "bad signature"

    api_server.check = check
    body = b'{"amount": 5}'
    ts = "1700000000"
    good = {"X-Timestamp": ts, "X-Signature": _sign("POST", "/pay", ts, body)}
    assert http.post(api_server.url("/pay"), content=body, headers=good).status_code == 200
    tampered = http.post(api_server.url("/pay"), content=b'{"amount": 500}', headers=good)
    assert tampered.json()["reason"] == "bad signature"
    assert http.post(api_server.url("/pay"), content=body).json()["reason"] == "unsigned"
    assert [r.accepted for r in api_server.requests] == [True, False, False]


def test_check_exceptions_reject(api_server: ApiServer, http: httpx.Client) -> None:
    def check(m: str, p: str, q: QueryPairs, h: HeaderPairs, b: bytes) -> bool | str:
        raise ValueError("boom")

    api_server.check = check
    response = http.get(api_server.url("/x"))
    assert response.status_code == 401
    assert response.json()["reason"].startswith("check raised ValueError")


def test_serve_json_document_is_public(api_server: ApiServer, http: httpx.Client) -> None:
    api_server.check = lambda *args: False
    jwks = {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k1", "x": "abc"}]}
    url = api_server.serve_json("/.well-known/jwks.json", jwks)
    assert url == api_server.url("/.well-known/jwks.json")
    response = http.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == jwks
    assert api_server.last_request.reason == "public"
    api_server.serve_json("/private.json", {"x": 1}, public=False)
    assert http.get(api_server.url("/private.json")).status_code == 401
    assert http.get(api_server.url("/other")).status_code == 401


def test_routes_and_responder(api_server: ApiServer, http: httpx.Client) -> None:
    api_server.add_route("/fixed", Response(201, [("X-Extra", "1")], b"created"), method="POST")

    def echo(request: IncomingRequest) -> Response:
        return Response.json(200, {"got": request.body.decode(), "tls": request.tls})

    api_server.add_route("/echo", echo)
    api_server.responder = lambda request: Response(204)
    created = http.post(api_server.url("/fixed"))
    assert (created.status_code, created.text, created.headers["x-extra"]) == (201, "created", "1")
    assert http.get(api_server.url("/fixed")).status_code == 204  # method-specific route
    assert http.put(api_server.url("/echo"), content=b"hi").json() == {"got": "hi", "tls": False}
    api_server.remove_routes()
    assert http.post(api_server.url("/fixed")).status_code == 204


def test_methods_chunked_upload_and_reset(api_server: ApiServer, http: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"part-1,"
        yield b"part-2"

    response = http.post(api_server.url("/upload"), content=chunks())
    assert response.status_code == 200
    assert api_server.last_request.header("transfer-encoding") == "chunked"
    assert api_server.last_request.body == b"part-1,part-2"
    for method in ("DELETE", "PATCH", "OPTIONS", "HEAD"):
        assert http.request(method, api_server.url("/m")).status_code == 200
    assert [r.method for r in api_server][-4:] == ["DELETE", "PATCH", "OPTIONS", "HEAD"]
    assert api_server.request_count == 5
    api_server.reset()
    assert api_server.requests == []
    with pytest.raises(RuntimeError):
        _ = api_server.ca_pem_path


# --------------------------------------------------------------------------- HTTPS


def test_https_with_test_ca_succeeds(https_api_server: ApiServer, tls_pki: TestPKI) -> None:
    assert https_api_server.base_url.startswith("https://127.0.0.1:")
    assert https_api_server.ca_pem_path == tls_pki.ca_pem_path
    with httpx.Client(verify=tls_pki.client_ssl_context()) as client:
        assert client.get(https_api_server.url("/secure")).status_code == 200
    with httpx2.Client(verify=tls_pki.client_ssl_context()) as client2:
        assert client2.get(https_api_server.url("/secure")).status_code == 200
    by_name = f"https://localhost:{https_api_server.port}/named"
    assert requests.get(by_name, verify=str(https_api_server.ca_pem_path), timeout=5).ok
    assert [r.tls for r in https_api_server.requests] == [True, True, True]
    assert https_api_server.tls_failures == []


def test_https_without_test_ca_fails(https_api_server: ApiServer) -> None:
    with httpx.Client(timeout=5) as client, pytest.raises(httpx.ConnectError) as excinfo:
        client.get(https_api_server.url("/secure"))
    assert "CERTIFICATE_VERIFY_FAILED" in str(excinfo.value)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(https_api_server.url("/secure"), timeout=5)
    assert https_api_server.requests == []
    deadline = time.monotonic() + 2
    while len(https_api_server.tls_failures) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(https_api_server.tls_failures) == 2


def test_plain_http_client_against_https_server_fails(https_api_server: ApiServer) -> None:
    plain = f"http://127.0.0.1:{https_api_server.port}/x"
    with httpx.Client(timeout=5) as client, pytest.raises(httpx.TransportError):
        client.get(plain)
    assert https_api_server.requests == []


def test_make_test_pki_certificate_contents(tmp_path_factory: pytest.TempPathFactory) -> None:
    pki = make_test_pki(tmp_path_factory.mktemp("pki"))
    ca = x509.load_pem_x509_certificate(pki.ca_pem)
    cert = x509.load_pem_x509_certificate(pki.cert_pem_path.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.issuer == ca.subject
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert (pki.key_pem_path.stat().st_mode & 0o777) == 0o600
    ctx = pki.client_ssl_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname


def test_tls_true_creates_its_own_pki() -> None:
    with ApiServer(tls=True) as server:
        assert server.pki is not None
        pki_dir = server.pki.directory
        with httpx.Client(verify=server.pki.client_ssl_context()) as client:
            assert client.get(server.url("/")).status_code == 200
    assert not server.running
    del server
    assert not pki_dir.exists()  # the temporary PKI is removed with the server
