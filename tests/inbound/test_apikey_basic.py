"""API-key and Basic verification against a real SQLite store."""

from __future__ import annotations

import asyncio
import base64
import logging

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.errors import AuthenticationError
from agentrun_creds_plugin.kinds import ApiKeyCredential, BasicAuthCredential


def _basic(user: str, pw: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def test_api_key_accepts_exact_value_case_insensitive_header(
    store: acp.CredentialStore, canary: str
) -> None:
    store.create("svc", ApiKeyCredential(api_key=canary, header_name="X-Api-Key"))
    v = store.verifier("svc")
    p = v.verify({"x-api-key": canary})
    assert (p.credential, p.kind, p.matched) == ("svc", "api_key", "current")
    assert v.verify([(b"x-api-key", canary.encode())]).kind == "api_key"


@pytest.mark.parametrize(
    ("prefix", "headers", "reason"),
    [
        (None, {}, "missing header X-Api-Key"),
        (None, {"Authorization": "k"}, "expected header X-Api-Key"),
        (None, {"X-Api-Key": "Bearer {key}"}, "prefix present"),
        ("Bearer", {"X-Api-Key": "{key}"}, "prefix missing"),
        (None, {"X-Api-Key": " {key}"}, "white space"),
        (None, {"X-Api-Key": "nope"}, "wrong key"),
    ],
)
def test_api_key_reasons(
    store: acp.CredentialStore,
    canary: str,
    prefix: str | None,
    headers: dict[str, str],
    reason: str,
) -> None:
    store.create("svc", ApiKeyCredential(api_key=canary, header_name="X-Api-Key", prefix=prefix))
    sent = {k: v.format(key=canary) for k, v in headers.items()}
    with pytest.raises(AuthenticationError) as info:
        store.verifier("svc").verify(sent)
    assert reason in info.value.reason
    assert canary not in str(info.value)
    assert canary not in repr(info.value)


def test_update_disable_take_effect_next_request(store: acp.CredentialStore, canary: str) -> None:
    store.create("svc", ApiKeyCredential(api_key=canary, header_name="X-Api-Key"))
    v = store.verifier("svc")
    v.verify({"X-Api-Key": canary})
    store.disable("svc")
    with pytest.raises(AuthenticationError, match="disabled"):
        v.verify({"X-Api-Key": canary})
    store.enable("svc")
    store.update("svc", ApiKeyCredential(api_key=canary + "2", header_name="X-Api-Key"))
    with pytest.raises(AuthenticationError):
        v.verify({"X-Api-Key": canary})
    assert v.verify({"X-Api-Key": canary + "2"}).kind == "api_key"


def test_averify(store: acp.CredentialStore, canary: str) -> None:
    store.create("svc", ApiKeyCredential(api_key=canary, header_name="X-Api-Key"))
    p = asyncio.run(store.verifier("svc").averify({"X-Api-Key": canary}))
    assert p.credential == "svc"


@pytest.mark.parametrize(
    "headers", [None, 5, [("a",)], {1: 2}, [(b"x-api-key", 3)], {"x-api-key": "a" * 20000}]
)
def test_garbage_headers_are_401(store: acp.CredentialStore, canary: str, headers: object) -> None:
    store.create("svc", ApiKeyCredential(api_key=canary, header_name="X-Api-Key"))
    with pytest.raises(AuthenticationError):
        store.verifier("svc").verify(headers)  # type: ignore[arg-type]


def test_basic(store: acp.CredentialStore, canary: str, caplog: pytest.LogCaptureFixture) -> None:
    store.create("web", BasicAuthCredential(username="alice", password=canary))
    v = store.verifier("web")
    with caplog.at_level(logging.DEBUG):
        p = v.verify({"Authorization": _basic("alice", canary)})
        assert (p.kind, p.username, p.subject) == ("basic", "alice", "alice")
        for bad in (_basic("alice", "x"), _basic("bob", canary), "Basic !!!", "Bearer x"):
            with pytest.raises(AuthenticationError) as info:
                v.verify({"Authorization": bad})
            assert canary not in str(info.value)
        with pytest.raises(AuthenticationError, match="missing header"):
            v.verify({})
    assert "HTTPS" in caplog.text
    assert canary not in caplog.text
    assert canary not in repr(p)
