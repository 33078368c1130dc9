"""The shared request model and helpers in ``signing._request``."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentrun_creds_plugin.signing import Request
from agentrun_creds_plugin.signing._hmac import hmac_from_states, hmac_sha256, hmac_states
from agentrun_creds_plugin.signing._request import (
    _URL_RE,
    EMPTY_SHA256,
    _host_from_authority,
    form_urlencode,
    header_pairs,
    iso_basic,
    iso_extended,
    join_query,
    parse_query,
    sha256_hex,
    sorted_query,
    sorted_raw_query,
    split_url,
    utc,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Host.Example/a?b=1#frag", ("https", "host.example", "/a", "b=1")),
        ("https://host:443/", ("https", "host", "/", "")),
        ("http://host:80", ("http", "host", "", "")),
        ("http://host:8080/x", ("http", "host:8080", "/x", "")),
        ("https://user:pw@host/p", ("https", "host", "/p", "")),
        ("https://[::1]:8443/p?q", ("https", "[::1]:8443", "/p", "q")),
        ("https://[::1]:443/", ("https", "[::1]", "/", "")),
        ("HTTPS://h/a b/ሴ?x=ሴ", ("https", "h", "/a b/ሴ", "x=ሴ")),
    ],
)
def test_split_url(url: str, expected: tuple[str, str, str, str]) -> None:
    assert split_url(url) == expected


def test_split_url_needs_an_absolute_url() -> None:
    with pytest.raises(ValueError, match="absolute"):
        split_url("/relative?x=1")


@given(st.text(st.sampled_from("ab=&%+ "), max_size=20))
def test_parse_query_round_trips(raw: str) -> None:
    assert join_query(parse_query(raw)) == raw


@settings(max_examples=300)
@given(st.text(st.sampled_from("aZ09-._~=&%2Bf+ é"), max_size=30))
def test_sorted_raw_query_agrees_with_the_general_path(raw: str) -> None:
    assert sorted_raw_query(raw) == sorted_query(parse_query(raw))


@settings(max_examples=300)
@given(st.binary(max_size=100), st.binary(max_size=200))
def test_hmac_sha256_is_hmac(key: bytes, msg: bytes) -> None:
    assert hmac_sha256(key, msg) == hmac.digest(key, msg, "sha256")
    states = hmac_states(key)  # the saved pad states sign any number of messages alike
    assert hmac_from_states(states, msg) == hmac.digest(key, msg, "sha256")
    assert hmac_from_states(states, msg + b"x") == hmac.digest(key, msg + b"x", "sha256")


@given(st.datetimes(min_value=datetime(1000, 1, 1), timezones=st.just(UTC)))
def test_iso_formats(t: datetime) -> None:
    assert iso_basic(t) == t.strftime("%Y%m%dT%H%M%SZ")
    assert iso_extended(t) == t.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_utc_converts_and_refuses_naive() -> None:
    plus8 = datetime(2024, 1, 2, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    assert utc(plus8) == datetime(2024, 1, 2, 0, 0, tzinfo=UTC)
    assert utc(plus8).utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="timezone-aware"):
        utc(datetime(2024, 1, 2))
    assert utc(1704164645.5) == datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)
    assert utc(1704164645) == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    with pytest.raises(TypeError):
        utc("2024-01-02")  # type: ignore[arg-type]


def test_header_pairs_accepts_the_usual_shapes() -> None:
    assert header_pairs(None) == ()
    assert header_pairs({"A": "1"}) == (("A", "1"),)
    assert header_pairs([("A", "1"), ("A", "2")]) == (("A", "1"), ("A", "2"))
    multi = httpx.Headers([("A", "1"), ("a", "2")])
    assert [(k.lower(), v) for k, v in header_pairs(multi)] == [("a", "1"), ("a", "2")]


def test_sha256_hex() -> None:
    assert sha256_hex(b"") == EMPTY_SHA256
    assert sha256_hex(b"abc").startswith("ba7816bf")


def test_request_model() -> None:
    request = Request.from_url(
        "post",
        "https://h.example:8443/p%20q?b=2&a&c=",
        [("Host", "h.example:8443"), ("X-A", "1"), ("x-a", "2")],
        "body ✓",
    )
    assert request.method == "POST"
    assert request.query == (("b", "2"), ("a", None), ("c", ""))
    assert request.raw_query == "b=2&a&c="
    assert request.body == "body ✓".encode()
    assert request.header_values("X-A") == ["1", "2"]
    assert request.header("missing") is None
    assert request.url == "https://h.example:8443/p%20q?b=2&a&c="
    replaced = request.with_headers([("x-A", "3")])
    assert replaced.header_values("x-a") == ["3"]
    server_side = Request.from_target("GET", "/p?x=1", [("Host", "h.example")])
    assert (server_side.host, server_side.path, server_side.query) == (
        "h.example",
        "/p",
        (("x", "1"),),
    )


def test_request_repr_masks_credentials() -> None:
    request = Request.from_url(
        "GET",
        "https://h/?X-Amz-Security-Token=tok-secret&X-Amz-Signature=sig-secret&a=1",
        [
            ("Authorization", "auth-secret"),
            ("X-Amz-Security-Token", "tok-secret"),
            ("X-Acs-Security-Token", "tok-secret"),
            ("X-TC-Token", "tok-secret"),
            ("Cookie", "c-secret"),
        ],
        b"payload",
    )
    text = repr(request)
    assert "secret" not in text
    assert "<redacted>" in text
    assert "body=<7 bytes>" in text


# ------------------------------------------------------------ fast paths vs the general


def _regex_split(url: str) -> tuple[str, str, str, str]:
    """What split_url returned before its str-method fast path: the regular expression."""
    match = _URL_RE.match(url)
    assert match is not None
    scheme, authority, path, query = match.groups()
    host = authority.lower()
    if "@" in host or ":" in host:
        host = _host_from_authority(scheme.lower(), host)
    return scheme.lower(), host, path, query or ""


_URL_TEXT = st.text(st.sampled_from("aZ09-._~/?#@:[]%+= &é"), max_size=30)


@settings(max_examples=400)
@given(st.sampled_from(["https://", "http://", "HTTPS://", "Http://", "ftp://"]), _URL_TEXT)
def test_split_url_fast_path_agrees_with_the_regex(scheme: str, rest: str) -> None:
    url = scheme + rest
    assert split_url(url) == _regex_split(url)


def test_split_url_refuses_what_is_not_text_as_before() -> None:
    with pytest.raises(TypeError):
        split_url(b"https://host/")  # type: ignore[arg-type]


_SCALAR = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=8),
    st.text(st.sampled_from("aZ09-._~ +&=%/?#!*'()é€"), max_size=8),
    st.integers(-(10**9), 10**9),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
    st.binary(max_size=6),
    st.lists(st.integers(0, 9), max_size=2),
)


@settings(max_examples=400)
@given(st.dictionaries(st.one_of(st.text(max_size=6), st.integers(0, 99)), _SCALAR, max_size=6))
def test_form_urlencode_is_urlencode_for_dicts(params: dict[Any, Any]) -> None:
    assert form_urlencode(params) == urlencode(params)


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "a b", "~k", "é", "x&y", "Limit"]), _SCALAR), max_size=6
    )
)
def test_form_urlencode_is_urlencode_for_pairs_with_repeated_keys(
    pairs: list[tuple[str, Any]],
) -> None:
    assert form_urlencode(pairs) == urlencode(pairs)
    assert form_urlencode(tuple(pairs)) == urlencode(tuple(pairs))


def test_form_urlencode_known_answers_and_errors() -> None:
    assert form_urlencode({"Limit": 10, "Offset": 0}) == "Limit=10&Offset=0"
    assert form_urlencode({"q": "a b+c~d/é"}) == "q=a+b%2Bc~d%2F%C3%A9"
    assert form_urlencode([("k", 1), ("k", 2)]) == "k=1&k=2"
    assert form_urlencode({}) == ""
    for bad in ("a=b", ["ab"], 5):
        with pytest.raises(TypeError):
            form_urlencode(bad)  # type: ignore[arg-type]


def test_utc_fast_path_is_the_same_instant() -> None:
    now = datetime.now(UTC)
    assert utc(now) is now
    zero = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(0)))
    assert utc(zero) == zero and utc(zero).utcoffset() == timedelta(0)
