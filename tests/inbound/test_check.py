"""``store.check`` and ``agentrun-creds check`` on service credentials: each outcome of a
fetched key set against the real HTTPS key server, and what API key and Basic report."""

from __future__ import annotations

import json
import logging
import warnings
from typing import Any

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.inbound.fetch import MAX_JWKS_BYTES
from agentrun_creds_plugin.kinds import JwtCredential
from tests.cli.helpers import run
from tests.inbound import keyserver
from tests.inbound.keyserver import KeyServer
from tests.inbound.test_jwt import KEY, _jwk

key_server = keyserver.key_server

EC_KEY = {
    "kty": "EC",
    "crv": "P-256",
    "kid": "e1",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
}


def _jwt(store: acp.CredentialStore, **fields: Any) -> acp.CheckReport:
    store.create("jw", JwtCredential(**fields))
    return store.check("jw")


def test_usable_keys_are_listed(store: acp.CredentialStore, key_server: KeyServer) -> None:
    key_server.jwks = {"keys": [_jwk(KEY, "k1"), EC_KEY, {"kty": "oct", "k": "c2VjcmV0"}]}
    report = _jwt(store, jwks_url=key_server.jwks_url)
    assert report.ok, report
    line = next(d for d in report.details if "usable key" in d)
    assert "2 usable key(s)" in line and "k1 (RS256" in line and "e1 (ES256)" in line
    assert any("1 key(s) skipped" in w for w in report.warnings)
    assert "e1 (ES256)" in str(report)


def test_algorithms_narrow_the_usable_keys(
    store: acp.CredentialStore, key_server: KeyServer
) -> None:
    report = _jwt(store, jwks_url=key_server.jwks_url, algorithms=["ES256"])
    assert not report.ok and "no usable public signing key allowing ES256" in report.problems[0]


@pytest.mark.parametrize(
    ("serve", "expected"),
    [
        ({"raw": b"<html>login</html>"}, "did not answer JSON"),
        ({"raw": b" " * (MAX_JWKS_BYTES + 10)}, f"more than {MAX_JWKS_BYTES} bytes"),
        ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, "no usable public signing key"),
        ({"jwks": {"issuer": "x"}}, "not a JWKS (no 'keys' array)"),
        ({"status": 500}, "answered HTTP 500"),
        ({"headers": {"X-Gateway-Token": "t"}}, "HTTP 401: the server wants authentication"),
        ({"method": "POST"}, "HTTP 401"),
    ],
)
def test_what_is_wrong_is_named(
    store: acp.CredentialStore, key_server: KeyServer, serve: dict[str, Any], expected: str
) -> None:
    for attr, value in serve.items():
        setattr(key_server, attr, value)
    report = _jwt(store, jwks_url=key_server.jwks_url)
    assert not report.ok and expected in report.problems[0], report


def test_not_found_and_redirect(store: acp.CredentialStore, key_server: KeyServer) -> None:
    report = _jwt(store, jwks_url=key_server.base + "/keys.json")
    assert not report.ok and "HTTP 404: nothing at that URL" in report.problems[0]
    store.update("jw", JwtCredential(jwks_url=key_server.base + "/moved"))
    report = store.check("jw")
    assert not report.ok and "redirect; configure the final https URL" in report.problems[0]
    assert key_server.fetches() == 0  # the redirect was not followed


def test_tls_failure(
    store: acp.CredentialStore, key_server: KeyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")
    report = _jwt(store, jwks_url=key_server.jwks_url)
    assert not report.ok
    assert "TLS certificate not trusted" in report.problems[0]
    assert "SSL_CERT_FILE" in report.problems[0]


def test_unreachable(store: acp.CredentialStore) -> None:
    report = _jwt(store, jwks_url="https://127.0.0.1:9/jwks")
    assert not report.ok and "jwks_url unreachable" in report.problems[0]


def test_oidc_issuer_reports_the_discovered_uri(
    store: acp.CredentialStore, key_server: KeyServer
) -> None:
    key_server.serve_discovery()
    report = _jwt(store, oidc_issuer=key_server.base)
    assert report.ok, report
    assert f"publishes jwks_uri {key_server.jwks_url}" in "\n".join(report.details)


def test_static_jwks_keys_are_listed(store: acp.CredentialStore) -> None:
    report = _jwt(store, jwks={"keys": [EC_KEY]})
    assert report.ok and "jwks: 1 usable key(s): e1 (ES256)" in report.details


def test_api_key_and_basic(store: acp.CredentialStore, canary: str) -> None:
    store.create("k", acp.ApiKeyCredential(api_key=canary, header_name="X-Api-Key"))
    report = store.check("k")
    assert report.ok and report.details == ("callers send the header X-Api-Key: <key>",)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store.create("b", acp.BasicAuthCredential(username="svc", password=canary))
    report = store.check("b")
    assert report.ok and "HTTPS only" in report.warnings[0]
    assert canary not in str(store.check("k")) + str(report)


def test_cli_add_with_secret_headers_and_check(
    store_url: str, key_server: KeyServer, canary: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_server.method, key_server.body = "POST", "tenant=acme"
    key_server.headers = {"X-Gateway-Token": canary, "X-Tenant": "acme" + canary}
    monkeypatch.setenv("TENANT_TOKEN", "acme" + canary)
    code, out = run(
        store_url,
        "add",
        "jwt",
        "jw",
        "--jwks-url",
        key_server.jwks_url,
        "--jwks-method",
        "POST",
        "--jwks-body",
        "tenant=acme",
        "--jwks-headers-name",
        "X-Gateway-Token",
        "--jwks-headers-name",
        "X-Tenant",
        "--from-env",
        "X-Tenant=TENANT_TOKEN",
        "--stdin",
        input=canary + "\n",
    )
    assert code == 0, out
    assert key_server.requests == []  # adding does not fetch
    outputs = [out]
    code, out = run(store_url, "check", "jw")
    assert code == 0, out
    assert "1 usable key(s): k1 (RS256" in out
    outputs.append(out)
    code, out = run(store_url, "check", "jw", "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and any("k1" in d for d in data["details"])
    assert key_server.requests[-1].headers["Content-Type"] == "application/x-www-form-urlencoded"
    outputs.append(out)
    for args in (["show", "jw"], ["list"], ["list", "--json"], ["show", "jw", "--json"]):
        outputs.append(run(store_url, *args)[1])
    assert "X-Gateway-Token: ****" in outputs[-1] or "X-Gateway-Token: ****" in outputs[-2]
    # a wrong token: exit 1 with the status and what to check, still no secret printed
    key_server.headers["X-Gateway-Token"] = "rotated"
    code, out = run(store_url, "check", "jw")
    assert code == 1 and "HTTP 401" in out and "jwks_headers" in out
    outputs.append(out)
    for text in outputs:
        assert canary not in text


def test_cli_refuses_a_bad_request_before_any_prompt(store_url: str) -> None:
    code, out = run(
        store_url,
        "add",
        "jwt",
        "jw",
        "--jwks-url",
        "https://idp.example/jwks",
        "--jwks-body",
        "x",
        "--jwks-headers-name",
        "X-T",
    )
    assert code != 0 and "only sent with POST" in out
    assert "jwks_headers[X-T]" not in out  # refused before the value was asked for


def test_cli_canary_in_logs(
    store_url: str, key_server: KeyServer, canary: str, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    code, out = run(
        store_url,
        "add",
        "jwt",
        "jw",
        "--jwks-url",
        key_server.jwks_url,
        "--jwks-headers-name",
        "X-Gateway-Token",
        "--stdin",
        input=canary + "\n",
    )
    assert code == 0, out
    key_server.headers = {"X-Gateway-Token": "other"}
    assert run(store_url, "check", "jw", "--json")[0] == 1
    assert canary not in caplog.text
