"""A key set fetched with a configured method, secret headers and body, or found by OIDC
discovery, from a real HTTPS server on 127.0.0.1 that answers 401 to anything less."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.errors import AuthenticationError, InvalidCredentialError
from agentrun_creds_plugin.inbound.fetch import JwksRequest
from agentrun_creds_plugin.kinds import JwtCredential
from tests.inbound import keyserver
from tests.inbound.keyserver import KeyServer
from tests.inbound.test_jwt import OTHER, _jwk, claims, sign

key_server = keyserver.key_server  # the fixture, shared with the check tests
JWKS = {"keys": [{"kty": "RSA", "n": "abc", "e": "AQAB"}]}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"jwks_method": "PUT"}, "jwks_method must be GET or POST"),
        ({"jwks_headers": {"Bad Name": "x"}}, "not a legal HTTP header name"),
        ({"jwks_headers": {"Host": "x"}}, "may not set Host"),
        ({"jwks_headers": {"X-T": "caf\u00e9"}}, "jwks_headers\\[X-T\\] has a non-ASCII"),
        ({"jwks_body": "{}"}, "only sent with POST"),
        ({"jwks_url": "https://idp.example/.well-known/openid-configuration"}, "oidc_issuer"),
        ({"oidc_issuer": "http://idp.example", "jwks_url": None}, "https://"),
        (
            {"oidc_issuer": "https://idp.example", "jwks_url": None, "issuer": "https://x"},
            "issuer differs from oidc_issuer",
        ),
        ({"oidc_issuer": "https://idp.example"}, "exactly one of"),
    ],
)
def test_bad_request_fields_are_named(fields: dict[str, Any], message: str) -> None:
    data: dict[str, Any] = {"jwks_url": "https://idp.example/jwks", **fields}
    with pytest.raises(InvalidCredentialError, match=message):
        JwtCredential(**{k: v for k, v in data.items() if v is not None})


def test_static_jwks_takes_no_request_fields() -> None:
    with pytest.raises(InvalidCredentialError, match="static jwks is not fetched"):
        JwtCredential(jwks=JWKS, jwks_method="POST")


def test_header_value_stays_out_of_errors_reprs_and_dumps(canary: str) -> None:
    with pytest.raises(InvalidCredentialError) as info:
        JwtCredential(jwks_url="https://idp.example/jwks", jwks_headers={"X-T": canary + "\n"})
    assert canary not in str(info.value) and "jwks_headers[X-T]" in str(info.value)
    cred = JwtCredential(
        jwks_url="https://idp.example/jwks", jwks_method="post", jwks_headers={"X-T": canary}
    )
    assert cred.jwks_method == "POST"
    for text in (repr(cred), str(cred), cred.preview(), cred.model_dump_json()):
        assert canary not in text
    assert cred.preview() == "jwks_url https://idp.example/jwks (POST, X-T: ****)"
    assert canary not in repr(JwksRequest.of(cred))


def test_discovery_url_is_cut_back_to_the_issuer() -> None:
    cred = JwtCredential(oidc_issuer="https://idp.example/realm/.well-known/openid-configuration")
    assert cred.oidc_issuer == "https://idp.example/realm"
    assert cred.token_issuer == "https://idp.example/realm"


def test_headers_are_stored_encrypted_and_come_back(
    store: acp.CredentialStore, store_url: str, canary: str
) -> None:
    cred = JwtCredential(jwks_url="https://idp.example/jwks", jwks_headers={"X-T": canary})
    store.create("jw", cred)
    for _ in range(2):  # first load, then the template path
        got = store.resolve("jw")
        assert isinstance(got, JwtCredential) and got.jwks_headers is not None
        assert got.jwks_headers["X-T"].get_secret_value() == canary
    assert canary not in store.get("jw").preview
    store.flush_audit()
    for path in Path(store_url.removeprefix("sqlite:///")).parent.iterdir():
        if path.is_file():  # the database and its WAL
            assert canary.encode() not in path.read_bytes(), path


def test_get_with_required_header(
    store: acp.CredentialStore, key_server: KeyServer, canary: str, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    key_server.headers = {"X-Gateway-Token": canary}
    store.create(
        "jw",
        JwtCredential(
            jwks_url=key_server.jwks_url,
            jwks_headers={"X-Gateway-Token": canary},
            issuer="https://idp",
            audience="svc",
        ),
    )
    verifier = store.verifier("jw")
    for _ in range(20):
        assert verifier.verify(bearer(sign(claims()))).subject == "u1"
    assert key_server.fetches() == 1
    assert key_server.requests[0].headers["X-Gateway-Token"] == canary
    # a wrong header value: the gateway says 401, the verify refuses, nothing leaks
    store.update(
        "jw",
        JwtCredential(
            jwks_url=key_server.jwks_url,
            jwks_headers={"X-Gateway-Token": "wrong" + canary[::-1]},
            issuer="https://idp",
            audience="svc",
        ),
    )
    with pytest.raises(AuthenticationError, match="key set could not be fetched") as info:
        verifier.verify(bearer(sign(claims())))
    assert canary not in str(info.value) and canary not in repr(verifier)
    assert "401" in caplog.text  # the failed fetch is logged, without the header
    assert canary not in caplog.text and canary[::-1] not in caplog.text


def test_post_with_body(store: acp.CredentialStore, key_server: KeyServer, canary: str) -> None:
    key_server.method, key_server.body = "POST", '{"tenant": "acme"}'
    key_server.headers = {"Authorization": f"Bearer {canary}"}
    store.create(
        "jw",
        JwtCredential(
            jwks_url=key_server.jwks_url,
            jwks_method="POST",
            jwks_body='{"tenant": "acme"}',
            jwks_headers={"Authorization": f"Bearer {canary}"},
            issuer="https://idp",
            audience="svc",
        ),
    )
    assert store.verifier("jw").verify(bearer(sign(claims()))).subject == "u1"
    seen = key_server.requests[-1]
    assert (seen.method, seen.body) == ("POST", '{"tenant": "acme"}')
    assert seen.headers["Content-Type"] == "application/json"


def test_oidc_discovery(store: acp.CredentialStore, key_server: KeyServer, canary: str) -> None:
    key_server.serve_discovery()
    key_server.headers = {"X-Gateway-Token": canary}
    store.create(
        "jw",
        JwtCredential(
            oidc_issuer=key_server.base,
            jwks_headers={"X-Gateway-Token": canary},
            audience="svc",
            refresh_interval=60,
        ),
    )
    verifier = store.verifier("jw")
    token = sign(claims(iss=key_server.base))
    for _ in range(20):  # steady state: one discovery, one JWKS fetch
        assert verifier.verify(bearer(token)).subject == "u1"
    assert key_server.fetches("/.well-known/openid-configuration") == 1
    assert key_server.fetches() == 1
    # iss defaults to the OIDC issuer: a token of another issuer is refused
    with pytest.raises(AuthenticationError, match="another issuer"):
        verifier.verify(bearer(sign(claims(iss="https://idp"))))
    # a key the issuer rotated in verifies after one (rate-limited) refetch
    key_server.jwks = {"keys": [_jwk(OTHER, "k2")]}
    new = sign(claims(iss=key_server.base), key=OTHER, kid="k2")
    assert verifier.verify(bearer(new)).subject == "u1"


def test_discovery_must_name_this_issuer_and_an_https_jwks_uri(
    store: acp.CredentialStore, key_server: KeyServer
) -> None:
    key_server.serve_discovery(issuer="https://evil.example")
    store.create("jw", JwtCredential(oidc_issuer=key_server.base))
    report = store.check("jw")
    assert not report.ok and "names issuer 'https://evil.example'" in report.problems[0]
    with pytest.raises(AuthenticationError):
        store.verifier("jw").verify(bearer(sign(claims(iss=key_server.base))))
    key_server.serve_discovery(jwks_uri=key_server.jwks_url.replace("https", "http"))
    report = store.check("jw")
    assert not report.ok and "no https jwks_uri" in report.problems[0]


def test_secret_headers_never_go_to_another_origin(
    store: acp.CredentialStore, key_server: KeyServer, canary: str
) -> None:
    other_origin = key_server.jwks_url.replace("127.0.0.1", "localhost")
    key_server.serve_discovery(jwks_uri=other_origin)
    store.create(
        "jw", JwtCredential(oidc_issuer=key_server.base, jwks_headers={"X-Gateway-Token": canary})
    )
    report = store.check("jw")  # the key server wants no header here: it serves the keys
    assert report.ok, report
    assert any("another origin" in w for w in report.warnings)
    sent = [r for r in key_server.requests if r.path == "/jwks"]
    assert sent and all(canary not in json.dumps(r.headers) for r in sent)
    assert all(r.host.startswith("localhost") for r in sent)


def test_averify_fetches_through_discovery_off_the_event_loop(
    store: acp.CredentialStore, key_server: KeyServer, canary: str
) -> None:
    import asyncio

    key_server.serve_discovery()
    key_server.method, key_server.body = "POST", "scope=keys"
    key_server.headers = {"X-Gateway-Token": canary}
    store.create(
        "jw",
        JwtCredential(
            oidc_issuer=key_server.base,
            jwks_method="POST",
            jwks_body="scope=keys",
            jwks_headers={"X-Gateway-Token": canary},
            audience="svc",
        ),
    )
    verifier = store.verifier("jw")
    token = sign(claims(iss=key_server.base))

    async def main() -> list[str | None]:
        return [(await verifier.averify(bearer(token))).subject for _ in range(10)]

    assert asyncio.run(main()) == ["u1"] * 10
    assert key_server.fetches() == 1 and key_server.requests[-1].method == "POST"
