"""The SigV4 fast path of the httpx2 flow puts exactly what the generic path puts on a request.

For each request (headers repeated, spaced, pre-set by an SDK or by an earlier attempt; S3 and
non-S3 paths; tokens; declared payload hashes; explicit targets; clocks on a second's edge) the
request is signed twice from the same credential and clock: once by the fast path, once by the
generic ``apply_credential`` plan the flow used before. The headers on the wire (names as
spelled, values, order) and what the redirect guard records must be the same. Requests the fast
path cannot sign as bytes (non-ASCII headers, odd separators, a replaced signer) must fall back
and still be signed.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.outbound import aws_flow
from agentrun_creds_plugin.outbound import plan as plan_module
from agentrun_creds_plugin.outbound.auth import CredentialAuth
from agentrun_creds_plugin.outbound.redirects import SENT_EXTENSION, origin
from agentrun_creds_plugin.signing import aws, register_signer
from agentrun_creds_plugin.signing.aws.signer import AwsSigner

AK = "AKIDEXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDExample"

EC2 = "https://ec2.us-west-2.amazonaws.com/?Action=DescribeInstances&Version=2016-11-15"
REQUESTS: list[tuple[str, str, list[tuple[str, str]], bytes]] = [
    ("GET", EC2, [], b""),
    ("GET", "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08", [], b""),
    ("POST", "https://sts.us-east-1.amazonaws.com/", [("Content-Type", "x")], b"Action=Get"),
    ("PUT", "https://bucket.s3.eu-west-1.amazonaws.com/a%20b/c$d", [], b"data"),
    ("GET", "https://s3.amazonaws.com/bucket/key?list-type=2&prefix=a%2Fb", [], b""),
    ("GET", "https://logs.ap-southeast-1.amazonaws.com/a%20b/./c//d?b=2&a=1&a=0&sp=x+y", [], b""),
    ("GET", "https://ec2.us-west-2.amazonaws.com:8443/?flag&x=%7e", [], b""),
    (
        "POST",
        "https://dynamodb.eu-west-1.amazonaws.com/",
        [
            ("X-Amz-Target", "DynamoDB_20120810.ListTables"),
            ("X-Custom", "  spaced \t  value  "),
            ("x-custom", "second"),
            ("User-Agent", "not signed"),
            ("Connection", "keep-alive"),
        ],
        b'{"Limit": 5}',
    ),
    # headers an earlier attempt or an SDK left: replaced under their own spelling
    ("GET", EC2, [("authorization", "old"), ("x-amz-date", "old"), ("X-AMZ-DATE", "dup")], b""),
    ("GET", EC2, [("x-amz-security-token", "stale"), ("Accept", "*/*")], b""),
    # a declared payload hash is what the server checks the body against
    (
        "PUT",
        "https://bucket.s3.amazonaws.com/k",
        [("X-Amz-Content-SHA256", " UNSIGNED-PAYLOAD ")],
        b"x",
    ),
    ("GET", EC2, [("Host", "ec2.us-west-2.amazonaws.com")], b""),
]
# (service, region, unsigned_payload) of http_auth(...)
OPTIONS = [(None, None, False), ("ec2", "eu-central-1", False), (None, None, True)]
CLOCKS = [1704164645.0, 1704164645.25, 1704164645.9999996, 1704164645.9999994]


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Any) -> Iterator[acp.CredentialStore]:
    s = acp.CredentialStore.open(f"sqlite:///{tmp_path}/f.db", master_key=acp.generate_master_key())
    yield s
    s.close()


def _auth(
    store: acp.CredentialStore, token: str | None, options: tuple[Any, ...], region: str | None
) -> CredentialAuth:
    cred = acp.CloudAccessKeyCredential(
        provider="aws", access_key_id=AK, access_key_secret=SK, security_token=token, region=region
    )
    store.create("aws", cred)
    service, region_option, unsigned = options
    return store.http_auth("aws", service=service, region=region_option, unsigned_payload=unsigned)


def _generic(auth: CredentialAuth, request: httpx2.Request) -> None:
    """What the flow did before the fast path: the plan of apply_credential, set on the request."""
    plan = auth._plan_for(auth._resolve(), request)
    auth._apply(request, plan)


def _wire(request: httpx2.Request) -> tuple[Any, ...]:
    """Headers on the wire and the redirect record, its first item as an origin: the generic
    path records the request's URL object, the fast path the origin it computed once."""
    sent = request.extensions.get(SENT_EXTENSION)
    if sent is not None and not isinstance(sent[0], tuple):
        sent = (origin(str(sent[0])), *sent[1:])
    return tuple(request.headers.raw), sent


def _both(
    auth: CredentialAuth, make: Callable[[], httpx2.Request]
) -> tuple[tuple[Any, ...], tuple[Any, ...], tuple[str, ...] | None]:
    fast = make()
    signed = aws_flow.sign_httpx_request(auth._resolve(), fast, auth.signing, auth._aws_urls)
    if signed is None:
        _generic(auth, fast)
    slow = make()
    _generic(auth, slow)
    return _wire(fast), _wire(slow), signed


@pytest.mark.parametrize("clock", CLOCKS)
@pytest.mark.parametrize("token", [None, TOKEN])
@pytest.mark.parametrize("options", OPTIONS, ids=["derived", "explicit", "unsigned"])
def test_fast_path_sets_what_the_generic_path_sets(
    store: acp.CredentialStore,
    monkeypatch: pytest.MonkeyPatch,
    clock: float,
    token: str | None,
    options: tuple[Any, ...],
) -> None:
    monkeypatch.setattr(plan_module, "time", _Clock(clock))
    monkeypatch.setattr(aws_flow, "time", _Clock(clock))
    monkeypatch.setattr(aws_flow, "_STAMP", (-1, "", b""))
    auth = _auth(store, token, options, None)
    for method, url, headers, body in REQUESTS:
        make = functools.partial(httpx2.Request, method, url, headers=headers, content=body)
        fast, slow, signed = _both(auth, make)
        assert signed is not None, (method, url, headers)
        assert fast == slow, (method, url, headers)
        # twice: the cached URL facts and signing key give the same answer
        assert _both(auth, make)[:2] == (fast, slow)


def test_a_reused_request_is_signed_again_like_a_new_one(
    store: acp.CredentialStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flow redacts its headers once sent; signing the same request again replaces them."""
    monkeypatch.setattr(plan_module, "time", _Clock(CLOCKS[1]))
    monkeypatch.setattr(aws_flow, "time", _Clock(CLOCKS[1]))
    auth = _auth(store, TOKEN, OPTIONS[0], None)
    request = httpx2.Request("GET", EC2, headers={"Accept": "*/*"})
    first = auth.sync_auth_flow(request)
    next(first)
    first.close()
    assert request.headers["Authorization"] == plan_module.REDACTED
    assert request.headers["X-Amz-Security-Token"] == plan_module.REDACTED
    again = auth.sync_auth_flow(request)
    signed = next(again)
    fresh = httpx2.Request("GET", EC2, headers={"Accept": "*/*"})
    _generic(auth, fresh)
    assert dict(signed.headers) == dict(fresh.headers)
    again.close()
    assert request.headers["Authorization"] == plan_module.REDACTED


def test_the_region_of_the_credential_fills_in_for_a_host_without_one(
    store: acp.CredentialStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plan_module, "time", _Clock(CLOCKS[0]))
    monkeypatch.setattr(aws_flow, "time", _Clock(CLOCKS[0]))
    auth = _auth(store, None, ("execute-api", None, False), "ap-northeast-1")

    def make() -> httpx2.Request:
        return httpx2.Request("GET", "https://api.example.com/prod/items")

    fast, slow, signed = _both(auth, make)
    assert signed is not None
    assert fast == slow
    assert b"/ap-northeast-1/execute-api/aws4_request" in dict(fast[0])[b"Authorization"]


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Note", "caf\u00e9".encode())],  # not ASCII: signed as text by the generic path
        [("X-Note", "a\x1cb")],  # a separator str.split() treats as whitespace
    ],
)
def test_headers_the_fast_path_cannot_sign_as_bytes_fall_back(
    store: acp.CredentialStore, monkeypatch: pytest.MonkeyPatch, headers: list[tuple[str, Any]]
) -> None:
    monkeypatch.setattr(plan_module, "time", _Clock(CLOCKS[0]))
    monkeypatch.setattr(aws_flow, "time", _Clock(CLOCKS[0]))
    auth = _auth(store, None, OPTIONS[0], None)

    def make() -> httpx2.Request:
        return httpx2.Request("GET", EC2, headers=headers)

    before = make()
    assert aws_flow.sign_httpx_request(auth._resolve(), before, auth.signing, {}) is None
    assert _wire(before) == _wire(make())  # nothing was changed before falling back
    flow = auth.sync_auth_flow(make())
    signed = next(flow)
    expected = make()
    _generic(auth, expected)
    assert _wire(signed) == _wire(expected)
    flow.close()


def test_a_replaced_aws_signer_is_the_one_used(
    store: acp.CredentialStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Marked(AwsSigner):
        def sign(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
            return [*super().sign(*args, **kwargs), ("X-Signed-By", "replacement")]

    auth = _auth(store, None, OPTIONS[0], None)
    register_signer("aws", Marked(), replace=True)
    try:
        flow = auth.sync_auth_flow(httpx2.Request("GET", EC2))
        assert next(flow).headers["X-Signed-By"] == "replacement"
        flow.close()
    finally:
        register_signer("aws", AwsSigner(), replace=True)


def test_a_rotated_secret_signs_the_next_request(
    store: acp.CredentialStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cached signing key is keyed by the key pair: a rotation is used at once."""
    monkeypatch.setattr(aws_flow, "time", _Clock(CLOCKS[0]))
    auth = _auth(store, None, OPTIONS[0], None)

    def signature(secret: str) -> str:
        expected = aws.sign(
            "GET",
            EC2,
            [("Host", "ec2.us-west-2.amazonaws.com")],
            access_key_id=AK,
            secret_access_key=secret,
            now=CLOCKS[0],
        )
        return dict(expected)["Authorization"]

    flow = auth.sync_auth_flow(httpx2.Request("GET", EC2))
    assert next(flow).headers["Authorization"] == signature(SK)
    flow.close()
    store.update(
        "aws",
        acp.CloudAccessKeyCredential(provider="aws", access_key_id=AK, access_key_secret="x" * 40),
    )
    flow = auth.sync_auth_flow(httpx2.Request("GET", EC2))
    assert next(flow).headers["Authorization"] == signature("x" * 40)
    flow.close()
    store.disable("aws")
    with pytest.raises(acp.CredentialDisabledError):
        next(auth.sync_auth_flow(httpx2.Request("GET", EC2)))


def test_options_are_part_of_the_url_cache(store: acp.CredentialStore) -> None:
    """Two auths on one URL with different targets each sign for their own target."""
    store.create(
        "aws", acp.CloudAccessKeyCredential(provider="aws", access_key_id=AK, access_key_secret=SK)
    )
    one = store.http_auth("aws")
    other = store.http_auth("aws", region="eu-central-1")
    for auth, scope in ((one, "/us-west-2/ec2/"), (other, "/eu-central-1/ec2/")):
        flow = auth.sync_auth_flow(httpx2.Request("GET", EC2))
        assert scope in next(flow).headers["Authorization"]
        flow.close()


def test_the_async_flow_signs_like_the_sync_flow(
    store: acp.CredentialStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aws_flow, "time", _Clock(CLOCKS[1]))
    auth = _auth(store, TOKEN, OPTIONS[0], None)
    sync_flow = auth.sync_auth_flow(httpx2.Request("POST", EC2, content=b"x"))
    expected = dict(next(sync_flow).headers)

    async def signed() -> dict[str, str]:
        request = httpx2.Request("POST", EC2, content=b"x")
        flow = auth.async_auth_flow(request)
        headers = dict((await flow.__anext__()).headers)
        await flow.aclose()
        assert request.headers["Authorization"] == plan_module.REDACTED
        return headers

    assert asyncio.run(signed()) == expected
    sync_flow.close()
