"""Alibaba Cloud ACS3: target derivation, ACS3 specifics, and the official util as an oracle."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from alibabacloud_openapi_util.client import Client as AlibabaUtil
from hypothesis import given, settings
from hypothesis import strategies as st

from agentrun_creds_plugin.signing import Request, _acs3_fast, aliyun
from agentrun_creds_plugin.signing._request import sorted_raw_query, split_url
from tests.signing.vectors import body_of, headers_of, load_vectors, signing_time

AK = "LTAI5tEXAMPLEEXAMPLEEXAM"
SECRET = "ExampleSecretExampleSecretExam"
TOKEN = "CAIS8wF1q6Ft5B2yfSjIr5bEXAMPLE+/="
NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
NONCE = "0123456789abcdef0123456789abcdef"


class _UtilRequest:
    def __init__(
        self, method: str, pathname: str, headers: dict[str, str], query: dict[str, str]
    ) -> None:
        self.method = method
        self.pathname = pathname
        self.headers = headers
        self.query = query


def _sign(url: str, headers: list[tuple[str, str]] | None = None, **kw: Any) -> dict[str, str]:
    kw.setdefault("action", "DescribeInstances")
    kw.setdefault("version", "2014-05-26")
    return dict(
        aliyun.sign(
            kw.pop("method", "GET"),
            url,
            headers,
            kw.pop("body", b""),
            access_key_id=AK,
            access_key_secret=SECRET,
            now=NOW,
            **kw,
        )
    )


# ------------------------------------------------------------------------- derivation


@pytest.mark.parametrize(
    ("host", "product", "region"),
    [
        ("ecs.cn-hangzhou.aliyuncs.com", "ecs", "cn-hangzhou"),
        ("ecs-cn-hangzhou.aliyuncs.com", "ecs", "cn-hangzhou"),
        ("cs.cn-beijing.aliyuncs.com", "cs", "cn-beijing"),
        ("ecs.ap-southeast-1.aliyuncs.com", "ecs", "ap-southeast-1"),
        ("ecs.vpc-proxy.cn-shanghai.aliyuncs.com", "ecs", "cn-shanghai"),
        ("sts.aliyuncs.com", "sts", None),
        ("dysmsapi.aliyuncs.com", "dysmsapi", None),
        ("example.com", None, None),
    ],
)
def test_resolve_target_from_host(host: str, product: str | None, region: str | None) -> None:
    target = aliyun.resolve_target(host)
    assert (target.product, target.region) == (product, region)


def test_resolve_target_action_and_version() -> None:
    headers = [("x-acs-action", "RunInstances"), ("x-acs-version", "2014-05-26")]
    assert aliyun.resolve_target("ecs.cn-hangzhou.aliyuncs.com", headers).action == "RunInstances"
    rpc = Request.from_url(
        "GET", "https://ecs.aliyuncs.com/?Action=DescribeRegions&Version=2014-05-26"
    )
    target = aliyun.resolve_target(rpc.host, query=rpc.query)
    assert (target.action, target.version) == ("DescribeRegions", "2014-05-26")
    explicit = aliyun.resolve_target(
        "ecs.cn-hangzhou.aliyuncs.com", headers, product="ecs2", region="cn-beijing", action="X"
    )
    assert explicit == ("ecs2", "cn-beijing", "X", "2014-05-26")


# ---------------------------------------------------------------------- ACS3 specifics


def test_sign_returns_the_acs_headers() -> None:
    added = aliyun.sign(
        "POST",
        "https://ecs.cn-hangzhou.aliyuncs.com/",
        [("Content-Type", "application/json")],
        b'{"a":1}',
        access_key_id=AK,
        access_key_secret=SECRET,
        now=NOW,
        nonce=NONCE,
        security_token=TOKEN,
        action="RunInstances",
        version="2014-05-26",
    )
    values = dict(added)
    assert list(values) == [
        "x-acs-action",
        "x-acs-version",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
        "x-acs-security-token",
        "Authorization",
    ]
    assert values["x-acs-date"] == "2024-01-02T03:04:05Z"
    assert values["x-acs-content-sha256"] == hashlib.sha256(b'{"a":1}').hexdigest()
    assert values["Authorization"].startswith(f"ACS3-HMAC-SHA256 Credential={AK},SignedHeaders=")
    assert " " not in values["Authorization"].split(" ", 1)[1]


def test_default_signed_headers_and_sign_all() -> None:
    headers = [("Accept", "application/json"), ("User-Agent", "x"), ("Content-Type", "a/b")]
    default = aliyun.sign_request(
        Request.from_url("GET", "https://ecs.aliyuncs.com/", headers),
        access_key_id=AK,
        access_key_secret=SECRET,
        now=NOW,
        nonce=NONCE,
        action="A",
        version="V",
    )
    assert default.signed_headers == (
        "content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;"
        "x-acs-signature-nonce;x-acs-version"
    )
    everything = aliyun.sign_request(
        Request.from_url("GET", "https://ecs.aliyuncs.com/", headers),
        access_key_id=AK,
        access_key_secret=SECRET,
        now=NOW,
        nonce=NONCE,
        action="A",
        version="V",
        sign_all_headers=True,
    )
    assert everything.signed_headers.startswith("accept;content-type;host;user-agent;")


def test_repeated_headers_are_sorted_and_values_only_trimmed() -> None:
    block, signed = aliyun.canonical_headers(
        [("x-acs-meta", " b  b "), ("X-Acs-Meta", "a"), ("host", "h")]
    )
    assert block == "host:h\nx-acs-meta:a,b  b\n"
    assert signed == "host;x-acs-meta"


def test_query_and_path_are_encoded_once() -> None:
    request = Request.from_url("GET", "https://cs.aliyuncs.com/clusters/c1%2A/a b?b=x+y&a=%7e&flag")
    creq, _ = aliyun.canonical_request_for(request, payload_hash="-")
    lines = creq.split("\n")
    assert lines[1] == "/clusters/c1%2A/a%20b"
    assert lines[2] == "a=~&b=x%2By&flag="


def test_action_and_version_are_required() -> None:
    with pytest.raises(ValueError, match="action"):
        aliyun.sign(
            "GET", "https://ecs.aliyuncs.com/", access_key_id=AK, access_key_secret=SECRET, now=NOW
        )
    with pytest.raises(ValueError, match="version"):
        aliyun.sign(
            "GET",
            "https://ecs.aliyuncs.com/",
            [("x-acs-action", "A")],
            access_key_id=AK,
            access_key_secret=SECRET,
            now=NOW,
        )


def test_fresh_nonce_per_signature() -> None:
    first = _sign("https://ecs.aliyuncs.com/")["x-acs-signature-nonce"]
    second = _sign("https://ecs.aliyuncs.com/")["x-acs-signature-nonce"]
    assert first != second
    assert len(first) == 32


def test_naive_clock_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        aliyun.acs_date(datetime(2024, 1, 2))


def test_secrets_stay_out_of_reprs() -> None:
    result = aliyun.sign_request(
        Request.from_url("GET", "https://sts.aliyuncs.com/"),
        access_key_id=AK,
        access_key_secret=SECRET,
        now=NOW,
        security_token=TOKEN,
        action="GetCallerIdentity",
        version="2015-04-01",
    )
    assert TOKEN not in repr(result)
    assert SECRET not in repr(result)


# ------------------------------------------------------------------------ util oracle


def _util_authorization(
    method: str, path: str, query: dict[str, str], headers: dict[str, str], payload: str
) -> str:
    request = _UtilRequest(method, path, {k.lower(): v for k, v in headers.items()}, query)
    return str(AlibabaUtil.get_authorization(request, "ACS3-HMAC-SHA256", payload, AK, SECRET))


_VALUE = st.text(st.characters(codec="utf-8"), max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(st.from_regex(r"[A-Z][A-Za-z0-9.]{0,8}", fullmatch=True), _VALUE, max_size=5),
    st.binary(max_size=48),
    st.booleans(),
)
def test_random_requests_match_the_util(query: dict[str, str], body: bytes, token: bool) -> None:
    raw_query = "&".join(f"{k}={quote(v, safe='~')}" for k, v in query.items())
    url = "https://ecs.cn-hangzhou.aliyuncs.com/" + (f"?{raw_query}" if raw_query else "")
    added = _sign(
        url,
        [("Accept", "application/json"), ("Content-Type", "application/octet-stream")],
        method="POST",
        body=body,
        nonce=NONCE,
        sign_all_headers=True,
        security_token=TOKEN if token else None,
    )
    headers = {
        "host": "ecs.cn-hangzhou.aliyuncs.com",
        "accept": "application/json",
        "content-type": "application/octet-stream",
        **{k: v for k, v in added.items() if k != "Authorization"},
    }
    expected = _util_authorization("POST", "/", query, headers, added["x-acs-content-sha256"])
    assert added["Authorization"] == expected


# ------------------------------------------- fast paths vs the generic step functions

_HEADER_NAMES = st.sampled_from(
    [
        "Accept",
        "accept",
        "Content-Type",
        "content-md5",
        "Host",
        "User-Agent",
        "X-Acs-Date",
        "x-acs-action",
        "x-acs-resourcegroup",
        "x-acr-x",
        "x-act",
        "x-forwarded-for",
        "a",
        "zz",
        "Authorization",
        "Connection",
    ]
)
_HEADER_VALUES = st.text(st.sampled_from("ab Z9 \t;,=é~"), max_size=8)
_QUERY_PART = st.text(st.sampled_from("aZ09-._~ +&%2Bé€!*'()/?:@$"), max_size=6)


def _generic(
    url: str, headers: list[tuple[str, str]], added: list[tuple[str, str]], sign_all: bool
) -> str:
    """The Authorization the step functions give for the request as finally sent."""
    sent = Request.from_url("GET", url, headers).with_headers(added[:-1])
    creq, signed = aliyun.canonical_request_for(sent, sign_all_headers=sign_all)
    sig = aliyun.signature(SECRET, aliyun.string_to_sign(creq))
    return aliyun.authorization_header(AK, signed, sig)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.tuples(_HEADER_NAMES, _HEADER_VALUES), max_size=6),
    st.lists(
        st.tuples(st.sampled_from(["a", "A", "k~", "é", "a b", "x"]), _QUERY_PART), max_size=5
    ),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["DescribeInstances", " Padded "]),
)
def test_random_requests_agree_with_the_step_functions(
    headers: list[tuple[str, str]],
    query: list[tuple[str, str]],
    sign_all: bool,
    token: bool,
    action: str,
) -> None:
    """Unicode, spaces, ~, reserved characters and repeated keys in the query; repeated,
    padded and x-acs-* headers (the generic path) or none of those (the one-run path)."""
    raw = "&".join(f"{quote(k, safe='~')}={v}" for k, v in query)
    url = "https://ecs.cn-hangzhou.aliyuncs.com/" + (f"?{raw}" if raw else "")
    for _ in range(2):  # the second time the URL's parts come from the cache
        added = aliyun.sign(
            "GET",
            url,
            headers,
            access_key_id=AK,
            access_key_secret=SECRET,
            now=NOW,
            nonce=NONCE,
            security_token=TOKEN if token else None,
            action=action,
            version="2014-05-26",
            sign_all_headers=sign_all,
        )
        assert dict(added)["Authorization"] == _generic(url, headers, added, sign_all)


_ACS3_VECTORS = [item for item in load_vectors() if item["algorithm"] == "ACS3-HMAC-SHA256"]
_ADDED = {
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
    "x-acs-security-token",
}


@pytest.mark.parametrize("item", _ACS3_VECTORS, ids=[item["id"] for item in _ACS3_VECTORS])
def test_vectors_with_the_acs_headers_left_to_the_signer(item: dict[str, Any]) -> None:
    """Each ACS3 vector signed with its x-acs-* headers passed as arguments, so the signer
    adds them itself (the one-run header path), twice (the URL and key caches)."""
    given = headers_of(item)
    by_name = {name.lower(): value for name, value in given}
    rest = [(name, value) for name, value in given if name.lower() not in _ADDED]
    creds = item["credentials"]
    for _ in range(2):
        added = aliyun.sign(
            item["request"]["method"],
            item["request"]["url"],
            rest,
            body_of(item),
            access_key_id=creds["access_key_id"],
            access_key_secret=creds["access_key_secret"],
            now=signing_time(item),
            nonce=item["nonce"],
            security_token=creds.get("security_token"),
            action=by_name["x-acs-action"],
            version=by_name["x-acs-version"],
            payload_hash=by_name.get("x-acs-content-sha256"),
            sign_all_headers=item["expected_from"] == "official-signer",  # as test_vectors
        )
        assert dict(added)["Authorization"] == item["expected"]["authorization"]


def test_many_urls_and_secrets_stay_correct_past_the_cache_bounds() -> None:
    for i in range(_acs3_fast._URL_PARTS_MAX + 50):
        url = f"https://ecs.cn-hangzhou.aliyuncs.com/?PageNumber={i}&A=%7e{i}"
        secret = f"{SECRET}{i % 300}"
        added = aliyun.sign(
            "GET",
            url,
            access_key_id=AK,
            access_key_secret=secret,
            now=NOW,
            nonce=NONCE,
            action="DescribeInstances",
            version="2014-05-26",
        )
        sent = Request.from_url("GET", url).with_headers(added[:-1])
        creq, _ = aliyun.canonical_request_for(sent)
        expected = aliyun.signature(secret, aliyun.string_to_sign(creq))
        assert dict(added)["Authorization"].endswith(f"Signature={expected}")
    assert len(aliyun._URL_PARTS) <= _acs3_fast._URL_PARTS_MAX
    assert len(aliyun._SECRET_STATES) <= aliyun._SECRET_STATES_MAX
    assert not any(SECRET in repr(key) for key in aliyun._SECRET_STATES)  # never the secret


@settings(max_examples=400)
@given(
    st.sampled_from(["https://", "http://", "HTTPS://"]),
    st.text(st.sampled_from("ab.-9A:@"), min_size=0, max_size=8),
    st.text(st.sampled_from("/aZ9-._~%20 é"), max_size=8),
    st.text(st.sampled_from("aZ9-._~=&%+ é#"), max_size=16),
    st.booleans(),
)
def test_url_parts_agree_with_split_url_and_sorted_raw_query(
    scheme: str, host: str, path: str, query: str, with_query: bool
) -> None:
    """The one-match split of plain https URLs is split_url + sorted_raw_query."""
    url = f"{scheme}{host}{path}" + (f"?{query}" if with_query else "")
    try:
        _, want_host, want_path, raw_query = split_url(url)
    except ValueError:
        with pytest.raises(ValueError):
            aliyun._url_parts(url)
        return
    assert aliyun._url_parts(url) == (want_host, want_path, sorted_raw_query(raw_query))
