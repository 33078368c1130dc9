"""Cloud AK/SK credentials sign each request (issue 3): checked end to end by a loopback server
whose verifier was written independently from the signers (tests/support/signature_verifiers.py)
and that accepts only the secret the store holds now."""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.parse
from collections.abc import Iterator

import httpx
import httpx2
import pytest
import requests

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.outbound.cloud import SigningOptions, sign_cloud
from tests.support.api_server import ApiServer
from tests.support.signature_verifiers import SignatureError, check_request

TARGETS = {  # what each provider needs to be told on a loopback host
    "aws": {"service": "ec2", "region": "us-east-1"},
    "aliyun": {"action": "DescribeRegions", "version": "2014-05-26"},
    "tencent": {
        "service": "cvm",
        "region": "ap-guangzhou",
        "action": "DescribeInstances",
        "version": "2017-03-12",
    },
}


def _cred(provider: str, secret: str, token: str | None = None) -> acp.CloudAccessKeyCredential:
    return acp.CloudAccessKeyCredential(
        provider=provider,
        access_key_id=f"AKID{provider.upper()}1",
        access_key_secret=secret,
        security_token=token,
    )


class Verifier:
    """A server-side check that accepts only signatures made with the store's current secret."""

    def __init__(self, store: acp.CredentialStore, name: str) -> None:
        self.store, self.name = store, name
        self.nonces: set[str] = set()
        self.failures: list[str] = []

    def lookup(self, provider: str, key_id: str) -> str | None:
        cred = self.store.resolve(self.name, resource="verifier")
        assert isinstance(cred, acp.CloudAccessKeyCredential)
        if cred.provider != provider or cred.access_key_id != key_id:
            return None
        return cred.access_key_secret.get_secret_value()

    def __call__(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> bool | str:
        target = path + (
            "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote) if query else ""
        )
        try:
            check_request(method, target, headers, body, self.lookup, seen_nonces=self.nonces)
        except SignatureError as exc:
            self.failures.append(str(exc))
            return str(exc)
        return True


@pytest.fixture(params=sorted(TARGETS))
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def signed_api(
    api_server: ApiServer, store: acp.CredentialStore
) -> Iterator[tuple[ApiServer, Verifier]]:
    verifier = Verifier(store, "cloud")
    api_server.check = verifier
    yield api_server, verifier


def test_signed_requests_accepted_and_rotation_changes_the_signature(
    store: acp.CredentialStore, signed_api: tuple[ApiServer, Verifier], provider: str, canary: str
) -> None:
    server, verifier = signed_api
    store.create("cloud", _cred(provider, canary + "-old"))
    auth = store.http_auth("cloud", **TARGETS[provider])
    url = server.url("/?Limit=1&Offset=0")
    with httpx2.Client(auth=auth) as c:
        r1 = c.post(url, content=b'{"Limit": 1}', headers={"Content-Type": "application/json"})
        assert r1.status_code == 200, verifier.failures
        store.update("cloud", _cred(provider, canary + "-new"))
        r2 = c.post(url, content=b'{"Limit": 1}', headers={"Content-Type": "application/json"})
        assert r2.status_code == 200, verifier.failures
    sig1, sig2 = (r.header("Authorization") for r in server.requests)
    assert sig1 != sig2
    assert canary not in repr(r2.request) and canary not in str(r2.request.headers)


def test_stale_secret_is_rejected(
    store: acp.CredentialStore, signed_api: tuple[ApiServer, Verifier], provider: str
) -> None:
    server, _ = signed_api
    store.create("cloud", _cred(provider, "secret-current"))
    stale = _cred(provider, "secret-stale")
    url = server.url("/?Limit=1")
    headers = [("Host", urllib.parse.urlsplit(url).netloc), ("Content-Type", "application/json")]
    signed = sign_cloud(
        stale,
        "POST",
        url,
        headers,
        b"{}",
        time.time(),
        SigningOptions(**TARGETS[provider]),
    )  # type: ignore[attr-defined]
    r = httpx2.post(url, content=b"{}", headers=dict(headers[1:] + signed))
    assert r.status_code == 401 and "signature" in r.text.lower()


def test_every_client_library_and_session_token(
    store: acp.CredentialStore, signed_api: tuple[ApiServer, Verifier], provider: str, canary: str
) -> None:
    server, verifier = signed_api
    store.create("cloud", _cred(provider, "sk-" + canary, token="tok-" + canary))
    auth = store.http_auth("cloud", **TARGETS[provider])
    url = server.url("/api?Action=x")
    body = b'{"a": [1, 2]}'
    hdrs = {"Content-Type": "application/json"}
    with httpx.Client(auth=auth) as c:
        assert c.post(url, content=body, headers=hdrs).status_code == 200, verifier.failures

    async def go() -> int:
        async with httpx2.AsyncClient(auth=auth) as c:
            return (await c.post(url, content=body, headers=hdrs)).status_code

    assert asyncio.run(go()) == 200, verifier.failures
    with requests.Session() as s:
        assert s.post(url, data=body, headers=hdrs, auth=auth).status_code == 200, verifier.failures
    token_headers = {
        "aws": "X-Amz-Security-Token",
        "aliyun": "x-acs-security-token",
        "tencent": "X-TC-Token",
    }
    assert all(r.header(token_headers[provider]) == "tok-" + canary for r in server.requests)


def test_streaming_body_is_read_and_signed(
    store: acp.CredentialStore, signed_api: tuple[ApiServer, Verifier]
) -> None:
    server, verifier = signed_api
    store.create("cloud", _cred("aws", "sk-stream"))
    auth = store.http_auth("cloud", **TARGETS["aws"])

    def chunks() -> Iterator[bytes]:
        yield b'{"part": 1,'
        yield b' "part2": 2}'

    with httpx2.Client(auth=auth) as c:
        r = c.post(server.url("/upload"), content=chunks())
    assert r.status_code == 200, verifier.failures
    assert server.last_request.body == b'{"part": 1, "part2": 2}'


def test_unreadable_streaming_body_is_refused_clearly(
    store: acp.CredentialStore, api_server: ApiServer
) -> None:
    store.create("cloud", _cred("aws", "sk-stream"))
    auth = store.http_auth("cloud", **TARGETS["aws"])
    with requests.Session() as s, pytest.raises(acp.InvalidCredentialError, match="streaming body"):
        s.post(api_server.url("/upload"), data=iter([b"a", b"b"]), auth=auth)
    assert api_server.request_count == 0


def test_target_derived_from_the_host_or_refused_clearly(store: acp.CredentialStore) -> None:
    store.create("cloud", _cred("aws", "sk-x"))
    cred = store.resolve("cloud")
    assert isinstance(cred, acp.CloudAccessKeyCredential)
    signed = dict(
        sign_cloud(
            cred,
            "GET",
            "https://ec2.eu-west-1.amazonaws.com/?Action=DescribeRegions",
            [("Host", "ec2.eu-west-1.amazonaws.com")],
            b"",
            1.7e9,
        )
    )
    assert "/eu-west-1/ec2/aws4_request" in signed["Authorization"]
    with pytest.raises(acp.InvalidCredentialError, match="pass service=/region="):
        sign_cloud(cred, "GET", "http://127.0.0.1:9/", [], b"", 1.7e9)


def test_disabled_cloud_credential_sends_nothing(
    store: acp.CredentialStore, api_server: ApiServer
) -> None:
    store.create("cloud", _cred("tencent", "sk-x"))
    auth = store.http_auth("cloud", **TARGETS["tencent"])
    store.disable("cloud")
    with httpx2.Client(auth=auth) as c, pytest.raises(acp.CredentialDisabledError):
        c.post(api_server.url("/"), content=b"{}")
    assert api_server.request_count == 0


def test_no_secret_in_debug_logs_or_errors(
    store: acp.CredentialStore,
    signed_api: tuple[ApiServer, Verifier],
    provider: str,
    canary: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server, _ = signed_api
    store.create("cloud", _cred(provider, "sk-" + canary, token="tok-" + canary))
    with (
        httpx2.Client(auth=store.http_auth("cloud")) as c,
        pytest.raises(acp.InvalidCredentialError) as info,
    ):
        c.get(server.url("/"))  # a loopback host tells no service: a clear error
    assert canary not in str(info.value) and "pass service=" in str(info.value)
    with httpx2.Client(auth=store.http_auth("cloud", **TARGETS[provider])) as c:
        response = c.get(server.url("/"))
        response.raise_for_status()
    assert canary not in caplog.text
    assert canary not in repr(response.request) and canary not in repr(response)
