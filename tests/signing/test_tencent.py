"""Tencent Cloud TC3: target derivation, TC3 specifics, and the official SDK as an oracle."""

from __future__ import annotations

import types
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tencentcloud.common import abstract_client
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile

from agentrun_creds_plugin.signing import Request, tencent

SECRET_ID = "AKIDEXAMPLEEXAMPLEEXAMPLEEXAMPLE1234"
SECRET_KEY = "ExampleSecretKeyExampleSecretKe0"
TOKEN = "tmp-token-EXAMPLE+/="
NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
HOST = "cvm.tencentcloudapi.com"


@pytest.fixture
def frozen_sdk_clock() -> Iterator[None]:
    original = abstract_client.time
    abstract_client.time = types.SimpleNamespace(time=lambda: NOW.timestamp())
    try:
        yield
    finally:
        abstract_client.time = original


def _sdk_request(
    method: str,
    params: dict[str, Any],
    *,
    token: str | None = None,
    unsigned: bool = False,
) -> RequestInternal:
    profile = ClientProfile()
    profile.unsignedPayload = unsigned
    client = CommonClient(
        "cvm", "2017-03-12", Credential(SECRET_ID, SECRET_KEY, token), "ap-guangzhou", profile
    )
    request = RequestInternal(HOST, method, "/")
    client._build_req_with_tc3_signature("DescribeInstances", params, request)
    return request


def _ours_for(sdk: RequestInternal, **kwargs: Any) -> list[tuple[str, str]]:
    """Sign the request the SDK built (same URL, headers and body) with our signer."""
    url = f"https://{HOST}/" + (f"?{sdk.data}" if sdk.method == "GET" else "")
    body = b"" if sdk.method == "GET" else sdk.data.encode()
    headers = [(k, v) for k, v in sdk.header.items() if k != "Authorization"]
    return tencent.sign(
        sdk.method,
        url,
        headers,
        body,
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        now=NOW,
        **kwargs,
    )


# ------------------------------------------------------------------------- derivation


def test_resolve_target_from_host_and_headers() -> None:
    headers = [
        ("X-TC-Action", "DescribeInstances"),
        ("X-TC-Version", "2017-03-12"),
        ("X-TC-Region", "ap-guangzhou"),
    ]
    assert tencent.resolve_target(HOST, headers) == (
        "cvm",
        "ap-guangzhou",
        "DescribeInstances",
        "2017-03-12",
    )
    assert tencent.resolve_target("cvm.ap-shanghai.tencentcloudapi.com") == (
        "cvm",
        "ap-shanghai",
        None,
        None,
    )
    assert tencent.resolve_target(HOST, headers, region="ap-beijing", action="RunInstances")[
        1:3
    ] == ("ap-beijing", "RunInstances")
    assert tencent.resolve_target("api.example.com").service is None


def test_service_is_required_for_unknown_hosts() -> None:
    with pytest.raises(ValueError, match="service"):
        tencent.sign(
            "POST",
            "https://gateway.internal/",
            [("Content-Type", "application/json")],
            b"{}",
            secret_id=SECRET_ID,
            secret_key=SECRET_KEY,
            now=NOW,
        )
    added = tencent.sign(
        "POST",
        "https://gateway.internal/",
        [("Content-Type", "application/json")],
        b"{}",
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        now=NOW,
        service="cvm",
    )
    assert "/2024-01-02/cvm/tc3_request" in dict(added)["Authorization"]


# ----------------------------------------------------------------------- TC3 specifics


def test_credential_date_is_the_utc_date() -> None:
    # 07:30 in UTC+8 on 2024-01-02 is still 2024-01-01 in UTC.
    local = datetime(2024, 1, 2, 7, 30, tzinfo=timezone(timedelta(hours=8)))
    assert tencent.credential_date(local) == "2024-01-01"
    assert tencent.credential_date(int(local.timestamp())) == "2024-01-01"
    added = dict(
        tencent.sign(
            "POST",
            f"https://{HOST}/",
            [("Content-Type", "application/json")],
            b"{}",
            secret_id=SECRET_ID,
            secret_key=SECRET_KEY,
            now=local,
        )
    )
    assert added["X-TC-Timestamp"] == str(int(local.timestamp()))
    assert "/2024-01-01/cvm/tc3_request" in added["Authorization"]


def test_sign_adds_control_headers_and_content_type() -> None:
    added = tencent.sign(
        "GET",
        f"https://{HOST}/?Limit=1",
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        now=NOW,
        action="DescribeInstances",
        version="2017-03-12",
        region="ap-guangzhou",
        token=TOKEN,
    )
    assert [name for name, _ in added] == [
        "Content-Type",
        "X-TC-Action",
        "X-TC-Version",
        "X-TC-Region",
        "X-TC-Timestamp",
        "X-TC-Token",
        "Authorization",
    ]
    assert dict(added)["Content-Type"] == "application/x-www-form-urlencoded"
    assert "SignedHeaders=content-type;host," in dict(added)["Authorization"]


def test_x_tc_action_is_signed_lower_cased_when_asked() -> None:
    result = tencent.sign_request(
        Request.from_url("POST", f"https://{HOST}/", [("Content-Type", "application/json")], b"{}"),
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        now=NOW,
        action="DescribeInstances",
        signed_headers=("content-type", "host", "x-tc-action"),
    )
    assert "x-tc-action:describeinstances\n" in result.canonical_request
    assert result.signed_headers == "content-type;host;x-tc-action"


def test_post_ignores_the_query_and_get_keeps_it_verbatim() -> None:
    get, _ = tencent.canonical_request_for(
        Request.from_url("GET", f"https://{HOST}/?b=2&a=x+y%2f", [("Content-Type", "x")])
    )
    assert get.split("\n")[2] == "b=2&a=x+y%2f"
    post, _ = tencent.canonical_request_for(
        Request.from_url("POST", f"https://{HOST}/?b=2", [("Content-Type", "x")])
    )
    assert post.split("\n")[2] == ""


def test_unusable_signed_headers_are_refused() -> None:
    doubled = Request.from_url(
        "POST", f"https://{HOST}/", [("Content-Type", "a"), ("content-type", "b")], b""
    )
    with pytest.raises(ValueError, match="more than once"):
        tencent.canonical_request_for(doubled)
    plain = Request.from_url("POST", f"https://{HOST}/", [("Content-Type", "a")], b"")
    with pytest.raises(ValueError, match="missing: x-tc-action"):
        tencent.canonical_request_for(plain, signed_headers=("content-type", "host", "x-tc-action"))


def test_token_never_shows_in_reprs_or_errors() -> None:
    result = tencent.sign_request(
        Request.from_url("POST", f"https://{HOST}/", [("Content-Type", "application/json")], b"{}"),
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        now=NOW,
        token=TOKEN,
    )
    assert TOKEN not in repr(result)
    assert SECRET_KEY not in repr(result)
    with pytest.raises(ValueError) as excinfo:
        tencent.sign(
            "POST", "https://x.example/", secret_id=SECRET_ID, secret_key=SECRET_KEY, now=NOW
        )
    assert SECRET_KEY not in str(excinfo.value)


# ------------------------------------------------------------------------- SDK oracle


@pytest.mark.usefixtures("frozen_sdk_clock")
@pytest.mark.parametrize(
    ("method", "params", "token", "unsigned"),
    [
        ("GET", {"Limit": 10, "Offset": 0}, None, False),
        (
            "GET",
            {"Filters": [{"Name": "instance-name", "Values": ["web server/1", "未命名*"]}]},
            None,
            False,
        ),
        (
            "POST",
            {"Limit": 1, "Filters": [{"Name": "zone", "Values": ["ap-guangzhou-3"]}]},
            None,
            False,
        ),
        ("POST", {"Limit": 1}, TOKEN, False),
        ("POST", {"Limit": 1}, None, True),
    ],
)
def test_matches_the_sdk(
    method: str, params: dict[str, Any], token: str | None, unsigned: bool
) -> None:
    sdk = _sdk_request(method, params, token=token, unsigned=unsigned)
    ours = _ours_for(sdk, token=token, unsigned_payload=unsigned)
    assert dict(ours)["Authorization"] == sdk.header["Authorization"]


_PARAM_VALUE = st.one_of(
    st.integers(-(10**6), 10**6), st.text(st.characters(codec="utf-8"), max_size=10)
)


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["GET", "POST"]),
    st.dictionaries(st.from_regex(r"[A-Z][A-Za-z]{0,8}", fullmatch=True), _PARAM_VALUE, max_size=5),
)
def test_random_params_match_the_sdk(method: str, params: dict[str, Any]) -> None:
    original = abstract_client.time
    abstract_client.time = types.SimpleNamespace(time=lambda: NOW.timestamp())
    try:
        sdk = _sdk_request(method, params)
    finally:
        abstract_client.time = original
    assert dict(_ours_for(sdk))["Authorization"] == sdk.header["Authorization"]
