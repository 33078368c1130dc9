"""Rotation without downtime: ``update(..., grace_seconds=N)`` keeps the previous secret N s."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.errors import AuthenticationError, InvalidCredentialError
from agentrun_creds_plugin.kinds import ApiKeyCredential, BasicAuthCredential, JwtCredential
from tests.inbound.test_jwt import KEY, _jwk


def _basic(user: str, pw: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def test_api_key_grace_accepts_both_then_only_new(store: acp.CredentialStore, canary: str) -> None:
    old, new = canary + "old", canary + "new"
    store.create("svc", ApiKeyCredential(api_key=old, header_name="X-Api-Key", prefix="Key"))
    v = store.verifier("svc")
    store.update(
        "svc",
        ApiKeyCredential(api_key=new, header_name="X-Api-Key", prefix="Key"),
        grace_seconds=60,
    )
    assert v.verify({"X-Api-Key": f"Key {new}"}).matched == "current"
    assert v.verify({"X-Api-Key": f"Key {old}"}).matched == "previous"
    with pytest.raises(AuthenticationError, match="prefix missing"):
        v.verify({"X-Api-Key": old})  # the hints work for the previous key too
    v.clock = lambda: time.time() + 61  # the grace period is over
    assert v.verify({"X-Api-Key": f"Key {new}"}).matched == "current"
    with pytest.raises(AuthenticationError, match="wrong key"):
        v.verify({"X-Api-Key": f"Key {old}"})
    rows = store.audit("svc", action="used")
    assert "previous secret (grace period)" in [r.reason for r in rows]


def test_short_real_grace_period(store: acp.CredentialStore, canary: str) -> None:
    store.create("svc", ApiKeyCredential(api_key=canary, header_name="X-Api-Key"))
    store.update(
        "svc", ApiKeyCredential(api_key=canary + "2", header_name="X-Api-Key"), grace_seconds=0.3
    )
    v = store.verifier("svc")
    assert v.verify({"X-Api-Key": canary}).matched == "previous"
    time.sleep(0.35)
    with pytest.raises(AuthenticationError):
        v.verify({"X-Api-Key": canary})


def test_basic_password_grace(store: acp.CredentialStore, canary: str) -> None:
    with pytest.warns(acp.BasicAuthWarning):
        store.create("web", BasicAuthCredential(username="alice", password=canary))
    store.update(
        "web", BasicAuthCredential(username="alice", password=canary + "2"), grace_seconds=30
    )
    v = store.verifier("web")
    assert v.verify({"Authorization": _basic("alice", canary)}).matched == "previous"
    assert v.verify({"Authorization": _basic("alice", canary + "2")}).matched == "current"
    with pytest.raises(AuthenticationError):
        v.verify({"Authorization": _basic("bob", canary)})


def test_grace_lifecycle_and_storage(
    store: acp.CredentialStore, canary: str, store_url: str
) -> None:
    store.create("svc", ApiKeyCredential(api_key=canary, header_name="X-Api-Key"))
    store.update(
        "svc", ApiKeyCredential(api_key=canary + "2", header_name="X-Api-Key"), grace_seconds=30
    )
    store.update("svc", description="rotated")  # a description edit keeps the grace period
    v = store.verifier("svc")
    assert v.verify({"X-Api-Key": canary}).matched == "previous"
    # never in plain text in the database file (nor its WAL)
    db = Path(store_url.removeprefix("sqlite:///"))
    for path in db.parent.glob(db.name + "*"):
        assert canary.encode() not in path.read_bytes()
    # the master-key rotation re-encrypts the record with its grace period
    store.rotate_master_key(acp.generate_master_key())
    assert v.verify({"X-Api-Key": canary}).matched == "previous"
    # an update without grace_seconds ends it at once
    store.update("svc", ApiKeyCredential(api_key=canary + "3", header_name="X-Api-Key"))
    with pytest.raises(AuthenticationError):
        v.verify({"X-Api-Key": canary})
    with pytest.raises(AuthenticationError):
        v.verify({"X-Api-Key": canary + "2"})
    assert store.resolve("svc").api_key.get_secret_value() == canary + "3"  # type: ignore[attr-defined]


@pytest.mark.parametrize("grace", [0, -1, True, "10", 10**9])
def test_bad_grace_seconds(store: acp.CredentialStore, canary: str, grace: object) -> None:
    store.create("svc", ApiKeyCredential(api_key=canary))
    with pytest.raises(InvalidCredentialError, match="grace_seconds"):
        store.update("svc", ApiKeyCredential(api_key=canary + "2"), grace_seconds=grace)  # type: ignore[arg-type]
    with pytest.raises(InvalidCredentialError, match="grace_seconds"):
        store.update("svc", description="x", grace_seconds=10)


def test_grace_for_a_jwt_is_refused(store: acp.CredentialStore) -> None:
    cred = JwtCredential(jwks={"keys": [_jwk(KEY, "k1")]})
    store.create("jwt", cred)
    with pytest.raises(InvalidCredentialError, match="only api_key and basic"):
        store.update("jwt", cred, grace_seconds=10)


def test_async_update_with_grace(store: acp.CredentialStore, canary: str) -> None:
    import asyncio

    store.create("svc", ApiKeyCredential(api_key=canary, header_name="X-Api-Key"))
    asyncio.run(
        store.aupdate(
            "svc", ApiKeyCredential(api_key=canary + "2", header_name="X-Api-Key"), grace_seconds=9
        )
    )
    p = asyncio.run(store.verifier("svc").averify({"X-Api-Key": canary}))
    assert p.matched == "previous"
