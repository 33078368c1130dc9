"""Tencent Cloud TC3: target derivation, TC3 specifics, and the official SDK as an oracle."""

from __future__ import annotations

import types
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tencentcloud.common import abstract_client
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile

from agentrun_creds_plugin.signing import Request, tencent
from tests.signing.vectors import body_of, headers_of, load_vectors, signing_time

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


# ------------------------------------------------- fast paths: query, clock, signing key

_NESTED = st.recursive(
    st.one_of(
        st.integers(-(10**6), 10**6),
        st.text(st.characters(codec="utf-8"), max_size=6),
        st.text(st.sampled_from("aZ09-._~ +&=%/?#é"), max_size=6),
        st.booleans(),
        st.none(),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(st.sampled_from("AZaz.0 é~"), max_size=4), inner, max_size=3),
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(st.sampled_from("AZaz.0 é~&="), max_size=5), _NESTED, max_size=5))
def test_encode_params_is_the_sdks_query(params: dict[str, Any]) -> None:
    """What CommonClient sends for GET: urlencode of its flattened parameters."""
    client = CommonClient("cvm", "2017-03-12", Credential(SECRET_ID, SECRET_KEY), "ap-guangzhou")
    assert tencent.encode_params(params) == urlencode(client._fix_params(params))


def test_encode_params_known_answers() -> None:
    assert tencent.encode_params({"Limit": 10, "Offset": 0}) == "Limit=10&Offset=0"
    nested = {"Filters": [{"Name": "zone", "Values": ["ap guangzhou", "未"]}], "Skip": None}
    assert tencent.encode_params(nested) == (
        "Filters.0.Name=zone&Filters.0.Values.0=ap+guangzhou&Filters.0.Values.1=%E6%9C%AA"
    )
    assert tencent.encode_params(None) == ""
    assert tencent.encode_params([("k", 1), ("k", 2)]) == "k=1&k=2"  # type: ignore[arg-type]


@pytest.mark.usefixtures("frozen_sdk_clock")
@pytest.mark.parametrize(
    "params",
    [
        {"Limit": 10, "Offset": 0},
        {"Filters": [{"Name": "instance-name", "Values": ["web server/1", "未命名*"]}]},
        {"InstanceIds": ["ins-1", "ins-2"], "Limit": 1, "Tag": "a~b c+d"},
    ],
)
def test_url_built_with_encode_params_signs_like_the_sdk(params: dict[str, Any]) -> None:
    sdk = _sdk_request("GET", params)
    assert tencent.encode_params(params) == sdk.data
    key = tencent.derive_signing_key(SECRET_KEY, tencent.credential_date(NOW), "cvm")
    for signing_key in (None, key, key):  # derived, then the cached key states twice
        ours = tencent.sign(
            "GET",
            f"https://{HOST}/?{tencent.encode_params(params)}",
            secret_id=SECRET_ID,
            secret_key=SECRET_KEY,
            now=NOW,
            action="DescribeInstances",
            version="2017-03-12",
            region="ap-guangzhou",
            signing_key=signing_key,
        )
        assert dict(ours) == {k: sdk.header[k] for k, _ in ours}


_TC3_VECTORS = [item for item in load_vectors() if item["algorithm"] == "TC3-HMAC-SHA256"]


@pytest.mark.parametrize("item", _TC3_VECTORS, ids=[item["id"] for item in _TC3_VECTORS])
def test_vectors_through_every_clock_and_key_path(item: dict[str, Any]) -> None:
    """Each TC3 vector signed with the clock as datetime, int, float and another time zone,
    with and without a cached signing key, interleaved with a signature at another time so
    the remembered clock is replaced between them."""
    creds, signing = item["credentials"], item["signing"]
    now = signing_time(item)
    date = item["timestamp"]["credential_date_utc"]
    key = tencent.derive_signing_key(creds["secret_key"], date, signing["service"])
    clocks: list[Any] = [
        now,
        int(now.timestamp()),
        now.timestamp(),
        now.astimezone(timezone(timedelta(hours=8))),
        now.astimezone(timezone(timedelta(hours=-5))),
    ]
    expected = item["expected"]["authorization"]
    for clock in clocks:
        for signing_key in (None, key, bytearray(key)):
            headers = tencent.sign(
                item["request"]["method"],
                item["request"]["url"],
                headers_of(item),
                body_of(item),
                secret_id=creds["secret_id"],
                secret_key=creds["secret_key"],
                now=clock,
                token=creds.get("token"),
                service=signing["service"],
                signed_headers=tuple(signing["signed_headers"].split(";")),
                unsigned_payload=bool(signing.get("unsigned_payload")),
                signing_key=signing_key,
            )
            assert dict(headers)["Authorization"] == expected
            assert tencent.credential_date(clock) == date
            assert tencent.credential_date(now + timedelta(days=1)) != date  # replace the memo


def test_remembered_clock_never_answers_for_another_value() -> None:
    assert tencent.credential_date(86399) == "1970-01-01"
    assert tencent.credential_date(86399.9999999) == "1970-01-02"  # fromtimestamp rounds up
    assert tencent.credential_date(86400.0) == "1970-01-02"
    assert tencent.credential_date(1) == "1970-01-01"
    with pytest.raises(TypeError):
        tencent.credential_date(True)  # equal to 1, still not a clock
    aware = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert tencent.credential_date(aware) == "2024-01-02"
    with pytest.raises(ValueError, match="timezone-aware"):
        tencent.credential_date(aware.replace(tzinfo=None))


def test_many_signing_keys_stay_correct_past_the_state_cache_bound() -> None:
    for i in range(3 * tencent._KEY_STATES_MAX):
        secret = f"{SECRET_KEY}{i}"
        key = tencent.derive_signing_key(secret, "2024-01-02", "cvm")
        kwargs: dict[str, Any] = {"secret_id": SECRET_ID, "secret_key": secret, "now": NOW}
        cached = tencent.sign("GET", f"https://{HOST}/?Limit={i}", signing_key=key, **kwargs)
        derived = tencent.sign("GET", f"https://{HOST}/?Limit={i}", **kwargs)
        assert cached == derived
    assert len(tencent._KEY_STATES) <= tencent._KEY_STATES_MAX
