"""The keyed-digest fast path: an exact key is accepted without decrypting, and nothing a
user relies on changes (fresh reads, reasons, grace periods, no secret held)."""

from __future__ import annotations

import asyncio
import base64
import pickle
import time

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.errors import AuthenticationError
from agentrun_creds_plugin.inbound.digest import KeyDigests
from agentrun_creds_plugin.kinds import ApiKeyCredential, BasicAuthCredential


def _basic(user: str, pw: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def _decrypts(store: acp.CredentialStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count decryptions of the store's records from here on."""
    calls: list[str] = []
    original = store._load_with_grace

    def counting(rec: object) -> object:
        calls.append("decrypt")
        return original(rec)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_load_with_grace", counting)
    return calls


def test_second_request_is_not_decrypted(
    store: acp.CredentialStore, canary: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create("svc", ApiKeyCredential(api_key=canary, header_name="X-Api-Key", prefix="Key"))
    v = store.verifier("svc")
    calls = _decrypts(store, monkeypatch)
    first = v.verify({"X-Api-Key": f"Key {canary}"})
    for _ in range(5):
        assert v.verify({"x-api-key": f"Key {canary}"}) == first
    assert calls == ["decrypt"]
    # A near miss still gets the full check and its reason.
    with pytest.raises(AuthenticationError, match="prefix missing"):
        v.verify({"X-Api-Key": canary})
    with pytest.raises(AuthenticationError, match="white space"):
        v.verify({"X-Api-Key": f"Key {canary} "})


def test_rotation_and_disable_reach_the_next_request(
    store: acp.CredentialStore, canary: str
) -> None:
    store.create("svc", ApiKeyCredential(api_key=canary, header_name="X-Api-Key"))
    v = store.verifier("svc")
    assert v.verify({"X-Api-Key": canary}).credential == "svc"
    store.update("svc", ApiKeyCredential(api_key=canary + "new", header_name="X-Api-Key"))
    with pytest.raises(AuthenticationError, match="wrong key"):
        v.verify({"X-Api-Key": canary})
    assert v.verify({"X-Api-Key": canary + "new"}).matched == "current"
    store.disable("svc")
    with pytest.raises(AuthenticationError, match="disabled"):
        v.verify({"X-Api-Key": canary + "new"})
    store.enable("svc")
    assert v.verify({"X-Api-Key": canary + "new"}).matched == "current"


def test_grace_on_the_fast_path_ends_on_time(store: acp.CredentialStore, canary: str) -> None:
    with pytest.warns(acp.BasicAuthWarning):
        store.create("web", BasicAuthCredential(username="alice", password=canary))
    store.update(
        "web", BasicAuthCredential(username="alice", password=canary + "2"), grace_seconds=30
    )
    v = store.verifier("web")
    for _ in range(3):
        assert v.verify({"Authorization": _basic("alice", canary)}).matched == "previous"
        principal = v.verify({"Authorization": _basic("alice", canary + "2")})
        assert (principal.matched, principal.username) == ("current", "alice")
    v.clock = lambda: time.time() + 31
    with pytest.raises(AuthenticationError, match="wrong user name or password"):
        v.verify({"Authorization": _basic("alice", canary)})
    assert v.verify({"Authorization": _basic("alice", canary + "2")}).matched == "current"


def test_async_twin_uses_the_same_digests(store: acp.CredentialStore, canary: str) -> None:
    store.create("svc", ApiKeyCredential(api_key=canary, header_name="X-Api-Key"))
    v = store.verifier("svc")
    raw = [(b"x-api-key", canary.encode())]

    async def calls() -> None:
        assert (await v.averify(raw)).kind == "api_key"
        assert (await v.averify(raw)).kind == "api_key"
        with pytest.raises(AuthenticationError, match="missing header"):
            await v.averify([(b"x-other", b"1")])

    asyncio.run(calls())


def test_digests_hold_no_secret(store: acp.CredentialStore, canary: str) -> None:
    store.create("svc", ApiKeyCredential(api_key=canary, header_name="X-Api-Key"))
    v = store.verifier("svc")
    v.verify({"X-Api-Key": canary})
    digests = v._digests
    assert isinstance(digests, KeyDigests)
    held = [getattr(digests, slot) for slot in KeyDigests.__slots__]
    for value in held:
        as_bytes = value if isinstance(value, bytes) else str(value).encode()
        # The record's blob is ciphertext; the digests are HMACs under a per-process key.
        assert canary.encode() not in as_bytes
    assert canary not in repr(v)
    with pytest.raises(TypeError):
        pickle.dumps(digests)  # slots without state support: never written anywhere
