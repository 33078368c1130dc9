"""AWS SigV4: host derivation, canonicalization edge cases, and botocore as an oracle."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentrun_creds_plugin.signing import Request, aws

AK = "AKIDEXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FQoGZXIvYXdzEXAMPLE//token+/="
NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def _botocore_sign(
    signer_cls: type[SigV4Auth],
    request: AWSRequest,
    service: str,
    region: str,
    token: str | None = None,
) -> AWSRequest:
    signer = signer_cls(Credentials(AK, SK, token), service, region)
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        signer.add_auth(request)
    return request


def _ours(method: str, url: str, headers: list[tuple[str, str]], body: bytes, **kw: Any) -> str:
    added = aws.sign(
        method, url, headers, body, access_key_id=AK, secret_access_key=SK, now=NOW, **kw
    )
    return dict(added)["Authorization"]


# --------------------------------------------------------------------- host derivation


@pytest.mark.parametrize(
    ("host", "service", "region"),
    [
        ("ec2.us-west-2.amazonaws.com", "ec2", "us-west-2"),
        ("s3.amazonaws.com", "s3", "us-east-1"),
        ("bucket.s3.eu-west-1.amazonaws.com", "s3", "eu-west-1"),
        ("my.dotted.bucket.s3.amazonaws.com", "s3", "us-east-1"),
        ("bucket.s3-eu-west-1.amazonaws.com", "s3", "eu-west-1"),
        ("bucket.s3.dualstack.ap-south-1.amazonaws.com", "s3", "ap-south-1"),
        ("s3-fips.dualstack.us-east-1.amazonaws.com", "s3", "us-east-1"),
        ("s3-external-1.amazonaws.com", "s3", "us-east-1"),
        ("name-123456789012.s3-accesspoint.us-west-2.amazonaws.com", "s3", "us-west-2"),
        ("obj.s3-object-lambda.us-west-2.amazonaws.com", "s3-object-lambda", "us-west-2"),
        ("iam.amazonaws.com", "iam", "us-east-1"),
        ("sts.amazonaws.com", "sts", "us-east-1"),
        ("sts.eu-central-1.amazonaws.com", "sts", "eu-central-1"),
        ("bedrock-runtime.us-east-1.amazonaws.com", "bedrock", "us-east-1"),
        ("ec2-fips.us-gov-west-1.amazonaws.com", "ec2", "us-gov-west-1"),
        ("email.eu-west-1.amazonaws.com", "ses", "eu-west-1"),
        ("abc123.execute-api.eu-west-1.amazonaws.com", "execute-api", "eu-west-1"),
        ("search-logs-abc.us-east-1.es.amazonaws.com", "es", "us-east-1"),
        ("runtime.sagemaker.us-east-1.amazonaws.com", "sagemaker", "us-east-1"),
        ("streams.dynamodb.us-east-1.amazonaws.com", "dynamodb", "us-east-1"),
        ("a1b2c3-ats.iot.us-east-1.amazonaws.com", "iotdata", "us-east-1"),
        ("ec2.cn-north-1.amazonaws.com.cn", "ec2", "cn-north-1"),
        ("iam.amazonaws.com.cn", "iam", "cn-north-1"),
        ("ec2.us-east-1.api.aws", "ec2", "us-east-1"),
        ("abcdef.lambda-url.us-east-1.on.aws", "lambda", "us-east-1"),
        ("EC2.US-WEST-2.AMAZONAWS.COM:443", "ec2", "us-west-2"),
    ],
)
def test_resolve_target_from_host(host: str, service: str, region: str) -> None:
    assert aws.resolve_target(host) == (service, region)


def test_resolve_target_explicit_values_win() -> None:
    assert aws.resolve_target("ec2.us-west-2.amazonaws.com", region="eu-west-1") == (
        "ec2",
        "eu-west-1",
    )
    assert aws.resolve_target("s3.amazonaws.com", service="s3-outposts") == (
        "s3-outposts",
        "us-east-1",
    )
    assert aws.resolve_target("localhost:9000", service="s3", region="auto") == ("s3", "auto")


@pytest.mark.parametrize("host", ["localhost:9000", "bucket.s3-accelerate.amazonaws.com", "[::1]"])
def test_resolve_target_refuses_to_guess(host: str) -> None:
    with pytest.raises(ValueError, match="cannot derive"):
        aws.resolve_target(host)


# ------------------------------------------------------------------- canonicalization


@pytest.mark.parametrize(
    ("path", "s3", "normalize", "expected"),
    [
        ("", False, None, "/"),
        ("/a/./b//c/../d/", False, None, "/a/b/d/"),
        ("/a/b/..", False, None, "/a"),
        ("/c%20d", False, None, "/c%2520d"),
        ("/a b/€", False, None, "/a%20b/%E2%82%AC"),
        ("/a/./b//c%20d", False, False, "/a/./b//c%2520d"),
        ("/a/./b//c%20d", True, None, "/a/./b//c%20d"),
        ("/test$file.text", True, None, "/test%24file.text"),
        ("/a+b%2bc%7Ed", True, None, "/a%2Bb%2Bc~d"),
        ("/a%2Fb", True, None, "/a%2Fb"),
        ("/%FF", True, None, "/%FF"),
    ],
)
def test_canonical_uri(path: str, s3: bool, normalize: bool | None, expected: str) -> None:
    assert aws.canonical_uri(path, s3=s3, normalize=normalize) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("lifecycle", "lifecycle="),
        ("b=2&a=1&a=0", "a=0&a=1&b=2"),
        ("a=1+1", "a=1%2B1"),  # RFC 3986: "+" is a literal plus
        ("a=x%20y&b=%7e&c=%2f", "a=x%20y&b=~&c=%2F"),
        ("Tag=1&Tag.1=2&Tag-1=3", "Tag=1&Tag-1=3&Tag.1=2"),
        ("a=&&b", "a=&b="),
        ("%FF=%fe", "%FF=%FE"),
        ("k=a=b", "k=a%3Db"),
    ],
)
def test_canonical_query_string(raw: str, expected: str) -> None:
    assert (
        aws.canonical_query_string(Request.from_url("GET", f"https://h/?{raw}").query) == expected
    )
    assert aws.canonical_query_string([]) == ""


def test_canonical_headers_fold_order_and_exclusions() -> None:
    block, signed = aws.canonical_headers(
        [
            ("X-B", " two\t words  "),
            ("x-a", "first"),
            ("X-A", '"a   b"'),
            ("User-Agent", "not signed"),
            ("X-Amzn-Trace-Id", "not signed"),
            ("Authorization", "not signed"),
            ("X-Multi", "l1\n   l2"),
        ],
        "h.example",
    )
    assert block == 'host:h.example\nx-a:first,"a b"\nx-b:two words\nx-multi:l1 l2\n'
    assert signed == "host;x-a;x-b;x-multi"


# ----------------------------------------------------------------------------- signing


def test_sign_returns_replacement_headers_in_order() -> None:
    added = aws.sign(
        "PUT",
        "https://bucket.s3.eu-west-1.amazonaws.com/k",
        [("Authorization", "stale"), ("X-Amz-Date", "19700101T000000Z")],
        b"data",
        access_key_id=AK,
        secret_access_key=SK,
        now=NOW,
        session_token=TOKEN,
    )
    assert [name for name, _ in added] == [
        "X-Amz-Date",
        "X-Amz-Security-Token",
        "X-Amz-Content-SHA256",
        "Authorization",
    ]
    values = dict(added)
    assert values["X-Amz-Date"] == "20240102T030405Z"
    assert values["X-Amz-Content-SHA256"] == hashlib.sha256(b"data").hexdigest()
    assert "/20240102/eu-west-1/s3/aws4_request" in values["Authorization"]


def test_sign_accepts_any_timezone_but_not_naive() -> None:
    url = "https://ec2.us-west-2.amazonaws.com/?Action=DescribeRegions"
    plus8 = NOW.astimezone(timezone(timedelta(hours=8)))
    added_utc = aws.sign("GET", url, access_key_id=AK, secret_access_key=SK, now=NOW)
    added_plus8 = aws.sign("GET", url, access_key_id=AK, secret_access_key=SK, now=plus8)
    assert added_utc == added_plus8
    added_unix = aws.sign("GET", url, access_key_id=AK, secret_access_key=SK, now=NOW.timestamp())
    assert added_unix == added_utc
    with pytest.raises(ValueError, match="timezone-aware"):
        aws.sign("GET", url, access_key_id=AK, secret_access_key=SK, now=datetime(2024, 1, 2))


def test_cached_signing_key_gives_the_same_signature() -> None:
    url = "https://ec2.us-west-2.amazonaws.com/?Action=DescribeRegions&Version=2016-11-15"
    key = aws.derive_signing_key(SK, aws.date_stamp(NOW), "us-west-2", "ec2")
    assert _ours("GET", url, [], b"", signing_key=key) == _ours("GET", url, [], b"")


def test_unsigned_payload_and_precomputed_hash() -> None:
    url = "https://bucket.s3.us-east-1.amazonaws.com/big"
    unsigned = dict(
        aws.sign(
            "PUT",
            url,
            body=b"x" * 10,
            access_key_id=AK,
            secret_access_key=SK,
            now=NOW,
            unsigned_payload=True,
        )
    )
    assert unsigned["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"
    digest = hashlib.sha256(b"x" * 10).hexdigest()
    hashed = aws.sign(
        "PUT", url, body=b"", access_key_id=AK, secret_access_key=SK, now=NOW, payload_hash=digest
    )
    direct = aws.sign("PUT", url, body=b"x" * 10, access_key_id=AK, secret_access_key=SK, now=NOW)
    assert hashed == direct


def test_omit_session_token_sends_but_does_not_sign_it() -> None:
    result = aws.sign_request(
        Request.from_url("GET", "https://example.amazonaws.com/"),
        access_key_id=AK,
        secret_access_key=SK,
        now=NOW,
        session_token=TOKEN,
        service="service",
        region="us-east-1",
        omit_session_token=True,
    )
    assert ("X-Amz-Security-Token", TOKEN) in result.headers
    assert "x-amz-security-token" not in result.signed_headers


def test_date_header_is_kept_and_signed() -> None:
    result = aws.sign_request(
        Request.from_url(
            "GET", "https://s3.amazonaws.com/b/k", [("Date", "Tue, 02 Jan 2024 03:04:05 GMT")]
        ),
        access_key_id=AK,
        secret_access_key=SK,
        now=NOW,
    )
    assert result.signed_headers == "date;host;x-amz-content-sha256;x-amz-date"


def test_httpx_headers_keep_duplicates() -> None:
    headers = httpx.Headers([("X-Dup", "b"), ("X-Dup", "a")])
    result = aws.sign_request(
        Request.from_url("GET", "https://ec2.us-west-2.amazonaws.com/", headers),
        access_key_id=AK,
        secret_access_key=SK,
        now=NOW,
    )
    assert "x-dup:b,a\n" in result.canonical_request


# --------------------------------------------------------------------------- presigning


def test_presign_keeps_query_and_drops_stale_auth_params() -> None:
    url = aws.presign_url(
        "GET",
        "https://bucket.s3.us-east-1.amazonaws.com/k?versionId=3&X-Amz-Signature=old&X-Amz-Date=old",
        access_key_id=AK,
        secret_access_key=SK,
        now=NOW,
        expires=600,
        session_token=TOKEN,
    )
    query = parse_qsl(urlsplit(url).query)
    names = [name for name, _ in query]
    assert names == [
        "versionId",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
    ]
    assert dict(query)["X-Amz-Security-Token"] == TOKEN
    assert "%2F%2Ftoken%2B%2F%3D" in url


@pytest.mark.parametrize("expires", [0, -1, aws.MAX_PRESIGN_EXPIRES + 1])
def test_presign_expiry_bounds(expires: int) -> None:
    with pytest.raises(ValueError, match="expires"):
        aws.presign_url(
            "GET",
            "https://s3.amazonaws.com/b/k",
            access_key_id=AK,
            secret_access_key=SK,
            now=NOW,
            expires=expires,
        )


# ------------------------------------------------------------------------ secret hygiene


def test_results_and_requests_do_not_show_secrets() -> None:
    request = Request.from_url(
        "GET", "https://sts.amazonaws.com/", [("Authorization", "AWS4 stale")]
    )
    result = aws.sign_request(
        request, access_key_id=AK, secret_access_key=SK, now=NOW, session_token=TOKEN
    )
    signed = request.with_headers(result.headers)
    for text in (repr(result), repr(signed), str(result)):
        assert SK not in text
        assert TOKEN not in text
    presigned = aws.presign_request(
        request, access_key_id=AK, secret_access_key=SK, now=NOW, session_token=TOKEN
    )
    assert TOKEN not in repr(presigned)


def test_errors_do_not_contain_the_secret() -> None:
    with pytest.raises(ValueError) as excinfo:
        aws.sign("GET", "https://localhost:9000/", access_key_id=AK, secret_access_key=SK, now=NOW)
    assert SK not in str(excinfo.value)
    with pytest.raises(ValueError) as excinfo:
        aws.sign("GET", "not a url", access_key_id=AK, secret_access_key=SK, now=NOW)
    assert SK not in str(excinfo.value)


# -------------------------------------------------------------------- botocore oracle


@pytest.mark.parametrize(
    ("signer", "method", "url", "headers", "body", "service", "region", "token"),
    [
        (
            SigV4Auth,
            "GET",
            "https://ec2.us-west-2.amazonaws.com/?Action=DescribeInstances&Version=2016-11-15",
            [],
            b"",
            "ec2",
            "us-west-2",
            None,
        ),
        (
            SigV4Auth,
            "POST",
            "https://sts.amazonaws.com/",
            [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
            b"Action=GetCallerIdentity&Version=2011-06-15",
            "sts",
            "us-east-1",
            TOKEN,
        ),
        (
            SigV4Auth,
            "POST",
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3%3A0/converse",
            [("Content-Type", "application/json"), ("X-Custom", "  a   b ")],
            b'{"messages":[]}',
            "bedrock",
            "us-east-1",
            None,
        ),
        (
            S3SigV4Auth,
            "PUT",
            "https://bucket.s3.eu-west-1.amazonaws.com/photos/a%2Bb%20c.jpg",
            [("Content-Type", "image/jpeg")],
            b"\x00\x01",
            "s3",
            "eu-west-1",
            TOKEN,
        ),
        (
            S3SigV4Auth,
            "GET",
            "https://bucket.s3.amazonaws.com/?list-type=2&prefix=a%2Fb&max-keys=5",
            [("Range", "bytes=0-9")],
            b"",
            "s3",
            "us-east-1",
            None,
        ),
        (
            SigV4Auth,
            "PUT",
            "https://example.amazonaws.com/upload",
            [("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")],
            b"streamed elsewhere",
            "service",
            "us-east-1",
            None,
        ),
        (
            SigV4Auth,
            "GET",
            "https://host.example:8443/a/./b//c%20d/",
            [],
            b"",
            "execute-api",
            "eu-west-1",
            None,
        ),
    ],
)
def test_matches_botocore(
    signer: type[SigV4Auth],
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes,
    service: str,
    region: str,
    token: str | None,
) -> None:
    theirs = _botocore_sign(
        signer, AWSRequest(method, url, dict(headers), body), service, region, token
    )
    ours = aws.sign(
        method,
        url,
        headers,
        body,
        access_key_id=AK,
        secret_access_key=SK,
        now=NOW,
        session_token=token,
        service=service,
        region=region,
    )
    assert dict(ours)["Authorization"] == theirs.headers["Authorization"]
    for name, value in ours:
        assert theirs.headers[name] == value


@pytest.mark.parametrize(
    ("signer", "url", "service"),
    [
        (SigV4QueryAuth, "https://example.amazonaws.com/?Param=1", "service"),
        (S3SigV4QueryAuth, "https://bucket.s3.amazonaws.com/key%20name.txt?versionId=7", "s3"),
    ],
)
def test_presign_matches_botocore(signer: type[SigV4QueryAuth], url: str, service: str) -> None:
    request = AWSRequest("GET", url)
    auth = signer(Credentials(AK, SK, TOKEN), service, "us-east-1", expires=900)
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        auth.add_auth(request)
    theirs = dict(parse_qsl(urlsplit(request.url).query))
    ours_url = aws.presign_url(
        "GET",
        url,
        access_key_id=AK,
        secret_access_key=SK,
        now=NOW,
        expires=900,
        session_token=TOKEN,
        service=service,
        region="us-east-1",
    )
    ours = dict(parse_qsl(urlsplit(ours_url).query))
    assert ours == theirs


_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_TEXT, _TEXT), max_size=6))
def test_random_query_pairs_match_botocore(pairs: list[tuple[str, str]]) -> None:
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)
    url = "https://example.amazonaws.com/" + (f"?{query}" if query else "")
    request = AWSRequest("GET", "https://example.amazonaws.com/", params=pairs)
    theirs = _botocore_sign(SigV4Auth, request, "service", "us-east-1")
    assert (
        _ours("GET", url, [], b"", service="service", region="us-east-1")
        == theirs.headers["Authorization"]
    )


_HEADER_NAME = st.from_regex(r"X-[A-Za-z0-9]{1,8}", fullmatch=True)
_HEADER_VALUE = st.text(st.sampled_from("ab \t=,;:\"'é"), max_size=16)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_HEADER_NAME, _HEADER_VALUE, max_size=5), st.binary(max_size=64))
def test_random_headers_and_bodies_match_botocore(headers: dict[str, str], body: bytes) -> None:
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        lowered.setdefault(name.lower(), value)
    pairs = [(name, value) for name, value in lowered.items()]
    url = "https://dynamodb.us-east-1.amazonaws.com/"
    theirs = _botocore_sign(
        SigV4Auth, AWSRequest("POST", url, dict(pairs), body), "dynamodb", "us-east-1"
    )
    assert _ours("POST", url, pairs, body) == theirs.headers["Authorization"]
