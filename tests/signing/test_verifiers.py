"""The independent verifiers of ``tests/support/signature_verifiers.py``.

They must accept every signed request the vectors describe (as the source signed it,
not as our signer would), accept requests signed by our signer and by the official
SDKs, and reject wrong keys, altered signatures, altered bodies and stale timestamps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from agentrun_creds_plugin.signing import aliyun, aws, tencent
from agentrun_creds_plugin.signing._request import split_url
from tests.signing.vectors import (
    aws_flags,
    aws_headers_after_signing,
    body_of,
    headers_of,
    load_vectors,
    unsupported,
)
from tests.support.signature_verifiers import (
    SignatureError,
    check_aliyun_acs3,
    check_aws_sigv4,
    check_request,
    check_tencent_tc3,
    credential_of,
    signature_failure,
    verify_aliyun_acs3,
    verify_aws_sigv4,
    verify_tencent_tc3,
)

Received = tuple[str, str, list[tuple[str, str]], bytes]

# Vectors a standards-following server rejects, and why. aws-c-auth signs these with
# switches that real non-S3 AWS endpoints do not use.
SERVER_REJECTS = {
    "aws-sigv4-crt/get-relative-unnormalized/header": "non-S3 servers normalize the path",
    "aws-sigv4-crt/get-relative-relative-unnormalized/header": "non-S3 servers normalize the path",
    "aws-sigv4-crt/get-slash-dot-slash-unnormalized/header": "non-S3 servers normalize the path",
    "aws-sigv4-crt/get-slash-pointless-dot-unnormalized/header": "non-S3 servers normalize the path",
    "aws-sigv4-crt/get-slash-unnormalized/header": "non-S3 servers normalize the path",
    "aws-sigv4-crt/get-slashes-unnormalized/header": "non-S3 servers normalize the path",
    "aws-sigv4-crt/post-sts-header-after/query": "the token is in the query but was not signed",
}


def _target_of(url: str) -> str:
    _, _, path, query = split_url(url)
    return f"{path}?{query}" if query else path


def _from_dump(text: str) -> Received:
    head, _, body = text.partition("\n\n")
    request_line, *lines = head.split("\n")
    method, rest = request_line.split(" ", 1)
    target = rest.rsplit(" ", 1)[0]
    headers = [(line.partition(":")[0], line.partition(":")[2]) for line in lines if line]
    return method, target, headers, body.encode()


def received_from_vector(item: dict[str, Any]) -> Received:
    """The signed request exactly as the vector's source produced it."""
    expected = item["expected"]
    request = item["request"]
    if "signed_request" in expected:
        return _from_dump(expected["signed_request"])
    if "signed_url" in expected:
        return request["method"], _target_of(expected["signed_url"]), headers_of(item), b""
    if item["provider"] == "aws":
        headers = aws_headers_after_signing(item, aws_flags(item))
    else:
        headers = headers_of(item)
    headers = [*headers, ("Authorization", expected["authorization"])]
    if not any(name.lower() == "host" for name, _ in headers):
        headers.insert(0, ("Host", split_url(request["url"])[1]))  # what the HTTP client adds
    return request["method"], _target_of(request["url"]), headers, body_of(item)


def _check(item: dict[str, Any], received: Received, secret: str | None = None) -> None:
    method, target, headers, body = received
    creds = item["credentials"]
    if item["provider"] == "aws":
        check_aws_sigv4(
            method,
            target,
            headers,
            body,
            access_key_id=creds["access_key_id"],
            secret_access_key=secret or creds["secret_access_key"],
        )
    elif item["provider"] == "tencent":
        check_tencent_tc3(
            method,
            target,
            headers,
            body,
            secret_id=creds["secret_id"],
            secret_key=secret or creds["secret_key"],
        )
    else:
        check_aliyun_acs3(
            method,
            target,
            headers,
            body,
            access_key_id=creds["access_key_id"],
            access_key_secret=secret or creds["access_key_secret"],
        )


SUPPORTED = [item for item in load_vectors() if item["id"] not in unsupported()]


@pytest.mark.parametrize("item", SUPPORTED, ids=[item["id"] for item in SUPPORTED])
def test_vectors_as_received(item: dict[str, Any]) -> None:
    received = received_from_vector(item)
    if item["id"] in SERVER_REJECTS:
        with pytest.raises(SignatureError, match="signature mismatch"):
            _check(item, received)
        return
    _check(item, received)
    with pytest.raises(SignatureError):
        _check(item, received, secret="wrong-secret")


@pytest.mark.parametrize(
    "item",
    [item for item in SUPPORTED if item["id"] not in SERVER_REJECTS],
    ids=lambda item: item["id"],
)
def test_altered_signature_or_body_is_rejected(item: dict[str, Any]) -> None:
    method, target, headers, body = received_from_vector(item)
    altered = []
    for name, value in headers:
        if name.lower() == "authorization":
            value = value[:-1] + ("0" if value[-1] != "0" else "1")
        altered.append((name, value))
    if "X-Amz-Signature=" in target:
        target = target[:-1] + ("0" if target[-1] != "0" else "1")
    with pytest.raises(SignatureError):
        _check(item, (method, target, altered, body))
    unsigned_body = any(value == "UNSIGNED-PAYLOAD" for _, value in headers) or (
        "X-Amz-Signature=" in target and "/s3/" in target.replace("%2F", "/")
    )
    if not unsigned_body:
        with pytest.raises(SignatureError):
            _check(item, (method, target, headers, body + b"!"))


# ---------------------------------------------------------------- our signer, SDKs

NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
AK = "AKIDEXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "token/+="


def _apply(headers: list[tuple[str, str]], added: list[tuple[str, str]]) -> list[tuple[str, str]]:
    names = {name.lower() for name, _ in added}
    return [(n, v) for n, v in headers if n.lower() not in names] + added


@pytest.mark.parametrize(
    ("url", "headers", "body"),
    [
        (
            "https://ec2.us-west-2.amazonaws.com/?Action=DescribeInstances&Version=2016-11-15",
            [],
            b"",
        ),
        (
            "https://bucket.s3.eu-west-1.amazonaws.com/a%20b/c$d?tagging",
            [("X-Amz-Meta-A", "1")],
            b"x",
        ),
        (
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/m%3A1/converse",
            [("Content-Type", "application/json")],
            b"{}",
        ),
    ],
)
def test_aws_verifier_accepts_our_signatures(
    url: str, headers: list[tuple[str, str]], body: bytes
) -> None:
    host = urlsplit(url).netloc
    wire = [("Host", host), *headers]
    added = aws.sign(
        "PUT", url, wire, body, access_key_id=AK, secret_access_key=SK, now=NOW, session_token=TOKEN
    )
    signed = _apply(wire, added)
    target = _target_of(url)
    kwargs: dict[str, Any] = {"access_key_id": AK, "secret_access_key": SK}
    assert verify_aws_sigv4("PUT", target, signed, body, now=NOW + timedelta(minutes=1), **kwargs)
    assert not verify_aws_sigv4(
        "PUT", target, signed, body, now=NOW + timedelta(minutes=20), **kwargs
    )
    assert not verify_aws_sigv4(
        "PUT", target, signed, body, access_key_id="OTHER", secret_access_key=SK
    )
    presigned = aws.presign_url(
        "GET", url, access_key_id=AK, secret_access_key=SK, now=NOW, expires=60
    )
    assert verify_aws_sigv4("GET", _target_of(presigned), [("Host", host)], b"", now=NOW, **kwargs)
    late = NOW + timedelta(minutes=2)
    assert not verify_aws_sigv4(
        "GET", _target_of(presigned), [("Host", host)], b"", now=late, **kwargs
    )


@pytest.mark.parametrize(
    ("signer", "url", "service"),
    [
        (
            SigV4Auth,
            "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
            "sts",
        ),
        (S3SigV4Auth, "https://bucket.s3.amazonaws.com/k%2By%20z.txt?versionId=1", "s3"),
        (S3SigV4QueryAuth, "https://bucket.s3.amazonaws.com/k.txt", "s3"),
    ],
)
def test_aws_verifier_accepts_botocore(signer: type[SigV4Auth], url: str, service: str) -> None:
    request = AWSRequest("GET", url)
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        signer(Credentials(AK, SK, TOKEN), service, "us-east-1").add_auth(request)
    headers = [("Host", urlsplit(url).netloc), *request.headers.items()]
    check_aws_sigv4(
        "GET",
        _target_of(request.url),
        headers,
        b"",
        access_key_id=AK,
        secret_access_key=SK,
        now=NOW,
    )


def test_tencent_verifier_accepts_ours_and_checks_time() -> None:
    url = "https://cvm.tencentcloudapi.com/?Limit=1"
    wire = [("Host", "cvm.tencentcloudapi.com")]
    added = tencent.sign(
        "GET",
        url,
        wire,
        secret_id=AK,
        secret_key=SK,
        now=NOW,
        action="DescribeInstances",
        token=TOKEN,
    )
    signed = _apply(wire, added)
    kwargs: dict[str, Any] = {"secret_id": AK, "secret_key": SK}
    assert verify_tencent_tc3("GET", "/?Limit=1", signed, b"", now=NOW, **kwargs)
    assert not verify_tencent_tc3("GET", "/?Limit=2", signed, b"", now=NOW, **kwargs)
    assert not verify_tencent_tc3(
        "GET", "/?Limit=1", signed, b"", now=NOW + timedelta(minutes=6), **kwargs
    )


def test_aliyun_verifier_accepts_ours_and_refuses_replays() -> None:
    url = "https://ecs.cn-hangzhou.aliyuncs.com/?RegionId=cn-hangzhou"
    wire = [("Host", "ecs.cn-hangzhou.aliyuncs.com"), ("Content-Type", "application/json")]
    added = aliyun.sign(
        "POST",
        url,
        wire,
        b'{"a":1}',
        access_key_id=AK,
        access_key_secret=SK,
        now=NOW,
        action="DescribeInstances",
        version="2014-05-26",
        security_token=TOKEN,
    )
    signed = _apply(wire, added)
    target = "/?RegionId=cn-hangzhou"
    assert verify_aliyun_acs3(
        "POST", target, signed, b'{"a":1}', access_key_id=AK, access_key_secret=SK, now=NOW
    )
    assert not verify_aliyun_acs3(
        "POST", target, signed, b'{"a":2}', access_key_id=AK, access_key_secret=SK
    )
    seen: set[str] = set()
    check_aliyun_acs3(
        "POST", target, signed, b'{"a":1}', access_key_id=AK, access_key_secret=SK, seen_nonces=seen
    )
    with pytest.raises(SignatureError, match="replayed"):
        check_aliyun_acs3(
            "POST",
            target,
            signed,
            b'{"a":1}',
            access_key_id=AK,
            access_key_secret=SK,
            seen_nonces=seen,
        )


def test_dispatch_by_authorization_scheme() -> None:
    secrets = {("aws", AK): SK, ("tencent", AK): SK, ("aliyun", AK): SK}

    def lookup(provider: str, key_id: str) -> str | None:
        return secrets.get((provider, key_id))

    wire = [("Host", "cvm.tencentcloudapi.com"), ("Content-Type", "application/json")]
    signed = _apply(
        wire,
        tencent.sign(
            "POST",
            "https://cvm.tencentcloudapi.com/",
            wire,
            b"{}",
            secret_id=AK,
            secret_key=SK,
            now=NOW,
        ),
    )
    assert credential_of("/", signed) == ("tencent", AK)
    check_request("POST", "/", signed, b"{}", lookup, now=NOW)
    assert signature_failure("POST", "/", signed, b"{}", lookup, now=NOW) is None
    assert (
        signature_failure("POST", "/", signed, b"{}", lambda p, k: None)
        == "unknown tencent access key id"
    )
    assert signature_failure("GET", "/", [("Host", "h")], b"", lookup) == "no recognised signature"
    presigned = aws.presign_url(
        "GET", "https://s3.amazonaws.com/b/k", access_key_id=AK, secret_access_key=SK, now=NOW
    )
    assert credential_of(_target_of(presigned), []) == ("aws", AK)
    assert (
        signature_failure(
            "GET", _target_of(presigned), [("Host", "s3.amazonaws.com")], b"", lookup, now=NOW
        )
        is None
    )
