"""The seven kinds and the input rules in docs/contract.md, "Credential kinds"."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.kinds import KINDS, check_name, credential_from_dict

NAME_FIRST = string.ascii_letters + "_"
NAME_REST = string.ascii_letters + string.digits + "_-"


@given(st.text(NAME_FIRST, min_size=1, max_size=1), st.text(NAME_REST, max_size=63))
def test_valid_names_accepted(first: str, rest: str) -> None:
    assert check_name(first + rest) == first + rest


@given(st.text(max_size=80))
def test_name_rule_matches_the_spec(name: str) -> None:
    ok = 1 <= len(name) <= 64 and name[0] in NAME_FIRST and all(c in NAME_REST for c in name[1:])
    if ok:
        assert check_name(name) == name
    else:
        with pytest.raises(acp.InvalidCredentialError, match="name: invalid name"):
            check_name(name)


@pytest.mark.parametrize("name", ["", "1abc", "-x", "a" * 65, "a b", "a.b", "a\n", "ü"])
def test_bad_names_refused_on_create(store: acp.CredentialStore, name: str) -> None:
    with pytest.raises(acp.InvalidCredentialError) as info:
        store.create(name, acp.ToolApiKeyCredential(api_key="k1"))
    assert info.value.status_code == 422
    assert "letter or underscore" in str(info.value)


def test_name_of_64_characters_is_the_limit(store: acp.CredentialStore) -> None:
    store.create("a" * 64, acp.ToolApiKeyCredential(api_key="k1"))
    assert store.get("a" * 64).version == 1


SECRET_TEXT = st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=40)


@given(SECRET_TEXT, st.sampled_from(["Bearer ", "bearer ", "BASIC ", "Basic ", "bEaReR\t"]))
def test_prefixed_keys_refused_without_echo(key: str, prefix: str) -> None:
    with pytest.raises(acp.InvalidCredentialError) as info:
        acp.ToolApiKeyCredential(api_key=prefix + key)
    text = str(info.value)
    assert "api_key" in text and "raw key" in text
    with pytest.raises(acp.InvalidCredentialError) as marked:
        acp.ToolApiKeyCredential(api_key=prefix + "Zq9~" + key)
    assert "Zq9~" not in str(marked.value)


@given(SECRET_TEXT, st.sampled_from([" ", "\t", "\n", " \n"]), st.booleans())
def test_surrounding_white_space_refused(key: str, ws: str, before: bool) -> None:
    value = ws + key if before else key + ws
    with pytest.raises(acp.InvalidCredentialError, match="access_key_secret"):
        acp.CloudAccessKeyCredential(provider="aws", access_key_id="AKID", access_key_secret=value)


@given(SECRET_TEXT, st.sampled_from(["\x00", "\x01", "\r", "\x7f", "\x1b"]), st.integers(0, 40))
def test_control_characters_refused(key: str, ctrl: str, pos: int) -> None:
    value = key[:pos] + ctrl + key[pos:]
    with pytest.raises(acp.InvalidCredentialError, match="api_key"):
        acp.ModelServiceCredential(provider="openai", api_key=value)


@given(SECRET_TEXT)
def test_raw_keys_accepted(key: str) -> None:
    cred = acp.ToolApiKeyCredential(api_key=key)
    assert cred.api_key.get_secret_value() == key
    marked = acp.ToolApiKeyCredential(api_key="Zq9~" + key)
    assert "Zq9~" not in repr(marked) and "Zq9~" not in str(marked)


def test_errors_are_never_raw_pydantic_errors(canary: str) -> None:
    with pytest.raises(acp.InvalidCredentialError) as info:
        acp.ToolApiKeyCredential(api_key=f"Bearer {canary}", location="nowhere")  # type: ignore[arg-type]
    assert not isinstance(info.value, ValidationError)
    assert isinstance(info.value, ValueError)
    assert canary not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.raises(acp.InvalidCredentialError) as info2:
        acp.ModelServiceCredential.model_validate({"provider": "openai", "api_key": f" {canary}"})
    assert canary not in str(info2.value)


def test_header_values_may_not_hold_control_characters(canary: str) -> None:
    with pytest.raises(acp.InvalidCredentialError) as info:
        acp.CustomHeadersCredential(headers={"X-Key": canary + "\r\nX-Evil: 1"})
    assert "headers[X-Key]" in str(info.value) and canary not in str(info.value)


@pytest.mark.parametrize("bad", ["X Key", "X:Key", "", "Ключ"])
def test_header_names_must_be_tokens(bad: str) -> None:
    with pytest.raises(acp.InvalidCredentialError, match="header name"):
        acp.CustomHeadersCredential(headers={bad: "v"})
    with pytest.raises(acp.InvalidCredentialError, match="header name"):
        acp.ApiKeyCredential(api_key="k", header_name=bad)


def test_tool_api_key_prefix_defaults() -> None:
    assert acp.ToolApiKeyCredential(api_key="k").prefix == "Bearer"
    assert acp.ToolApiKeyCredential(api_key="k", param="authorization").prefix == "Bearer"
    assert acp.ToolApiKeyCredential(api_key="k", param="X-Api-Key").prefix is None
    assert acp.ToolApiKeyCredential(api_key="k", location="query", param="key").prefix is None
    assert acp.ToolApiKeyCredential(api_key="k", param="Authorization", prefix=None).prefix is None
    assert (
        acp.ToolApiKeyCredential(api_key="k", param="X-Api-Key", prefix="Token").prefix == "Token"
    )
    with pytest.raises(acp.InvalidCredentialError, match="never has a prefix"):
        acp.ToolApiKeyCredential(api_key="k", location="query", param="key", prefix="Bearer")


def test_jwt_needs_exactly_one_source_and_https() -> None:
    jwks = {"keys": [{"kty": "RSA", "n": "abc", "e": "AQAB"}]}
    acp.JwtCredential(jwks=jwks)
    acp.JwtCredential(jwks_url="https://issuer.example/.well-known/jwks.json")
    with pytest.raises(acp.InvalidCredentialError, match="exactly one"):
        acp.JwtCredential()
    with pytest.raises(acp.InvalidCredentialError, match="exactly one"):
        acp.JwtCredential(jwks=jwks, jwks_url="https://x.example/jwks")
    with pytest.raises(acp.InvalidCredentialError, match="https"):
        acp.JwtCredential(jwks_url="http://issuer.example/jwks.json")


@pytest.mark.parametrize(
    ("jwks", "message"),
    [
        ({"keys": []}, "non-empty"),
        ({}, "non-empty"),
        ({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, "symmetric"),
        ({"keys": [{"kty": "RSA", "n": "a", "e": "AQAB", "d": "private"}]}, "private"),
        ({"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "p"}]}, "private"),
    ],
)
def test_jwks_public_keys_only(jwks: dict[str, Any], message: str) -> None:
    with pytest.raises(acp.InvalidCredentialError, match=message):
        acp.JwtCredential(jwks=jwks)


def test_jwt_algorithms_refuse_none_and_hmac() -> None:
    jwks = {"keys": [{"kty": "RSA", "n": "abc", "e": "AQAB"}]}
    for bad in (["none"], ["HS256"], []):
        with pytest.raises(acp.InvalidCredentialError, match="algorithms"):
            acp.JwtCredential(jwks=jwks, algorithms=bad)


def test_model_service_providers_and_base_urls() -> None:
    assert acp.ModelServiceCredential(provider="openai", api_key="k").effective_base_url == (
        "https://api.openai.com/v1"
    )
    ds = acp.ModelServiceCredential(provider="dashscope", api_key="k")
    assert "dashscope" in ds.effective_base_url and ds.api_style == "openai"
    custom = acp.ModelServiceCredential(provider="deepseek", api_key="k", base_url="http://x/v1")
    assert custom.effective_base_url == "http://x/v1"
    with pytest.raises(acp.InvalidCredentialError, match="unknown provider"):
        acp.ModelServiceCredential(provider="nope", api_key="k")
    with pytest.raises(acp.InvalidCredentialError, match="base_url"):
        acp.ModelServiceCredential(provider="azure_openai", api_key="k", api_version="2024-10-21")
    with pytest.raises(acp.InvalidCredentialError, match="api_version"):
        acp.ModelServiceCredential(provider="azure_openai", api_key="k", base_url="https://a.b")


def test_basic_username_rules() -> None:
    with pytest.raises(acp.InvalidCredentialError, match="username"):
        acp.BasicAuthCredential(username="a:b", password="p")


def test_expires_at_must_be_aware() -> None:
    with pytest.raises(acp.InvalidCredentialError, match="time zone"):
        acp.ToolApiKeyCredential(api_key="k", expires_at=datetime.now())
    aware = datetime.now(UTC) + timedelta(hours=1)
    assert acp.ToolApiKeyCredential(api_key="k", expires_at=aware).expires_at == aware


def test_secret_fields_are_secretstr_and_others_are_not() -> None:
    expected = {
        "api_key": {"api_key"},
        "jwt": set(),
        "basic": {"password"},
        "model_service": {"api_key"},
        "tool_api_key": {"api_key"},
        "cloud_ak_sk": {"access_key_secret", "security_token"},
        "custom_headers": set(),
    }
    for kind, cls in KINDS.items():
        secret = {
            name
            for name, field in cls.model_fields.items()
            if "SecretStr" in str(field.annotation) and "dict" not in str(field.annotation)
        }
        assert secret == expected[kind], kind
    headers = acp.CustomHeadersCredential(headers={"X-A": "v"})
    assert isinstance(headers.headers["X-A"], SecretStr)


def test_kind_from_dict() -> None:
    cred = credential_from_dict({"kind": "basic", "username": "u", "password": "p"})
    assert isinstance(cred, acp.BasicAuthCredential)
    with pytest.raises(acp.InvalidCredentialError, match="unknown kind"):
        credential_from_dict({"kind": "ftp"})


def test_categories() -> None:
    assert {k: c.category for k, c in KINDS.items()} == {
        "api_key": "service",
        "jwt": "service",
        "basic": "service",
        "model_service": "third_party",
        "tool_api_key": "third_party",
        "cloud_ak_sk": "third_party",
        "custom_headers": "third_party",
    }
