"""CredentialStore: every method in docs/contract.md, "The store" (but http_auth and verifier)."""

from __future__ import annotations

import asyncio
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.backends.base import AuditRow

OPENAI = acp.ModelServiceCredential(provider="openai", api_key="sk-test-0000000000000001")


def test_create_get_resolve(store: acp.CredentialStore) -> None:
    info = store.create("my-llm-key", OPENAI, description="team key")
    assert (info.name, info.version, info.enabled, info.kind, info.category) == (
        "my-llm-key",
        1,
        True,
        "model_service",
        "third_party",
    )
    assert info.description == "team key" and info.attachments == ()
    assert info.preview == "openai sk-...0001"
    got = store.get("my-llm-key")
    assert got.created_at == info.created_at and got.status == "enabled"
    cred = store.resolve("my-llm-key")
    assert isinstance(cred, acp.ModelServiceCredential)
    assert cred.api_key.get_secret_value() == "sk-test-0000000000000001"


def test_create_accepts_a_dict(store: acp.CredentialStore) -> None:
    store.create("t", {"kind": "tool_api_key", "api_key": "abc", "param": "X-Key"})
    cred = store.resolve("t")
    assert isinstance(cred, acp.ToolApiKeyCredential) and cred.prefix is None


def test_create_existing_is_409(store: acp.CredentialStore) -> None:
    store.create("k", OPENAI)
    with pytest.raises(acp.CredentialExistsError) as info:
        store.create("k", OPENAI)
    assert info.value.status_code == 409
    assert store.get("k").version == 1


def test_not_found_is_404(store: acp.CredentialStore) -> None:
    for call in (
        store.get,
        store.resolve,
        store.disable,
        store.enable,
        store.delete,
        store.attachments,
        store.check,
    ):
        with pytest.raises(acp.CredentialNotFoundError) as info:
            call("nope")
        assert info.value.status_code == 404 and "nope" in str(info.value)
    with pytest.raises(acp.CredentialNotFoundError):
        store.update("nope", description="x")


def test_every_kind_round_trips(store: acp.CredentialStore) -> None:
    creds: dict[str, acp.CredentialBase] = {
        "a": acp.ApiKeyCredential(api_key="k1", header_name="X-Api-Key", prefix="Bearer"),
        "b": acp.JwtCredential(
            jwks={"keys": [{"kty": "RSA", "n": "n", "e": "AQAB"}]},
            issuer="https://iss",
            audience=["x", "y"],
            required_scopes=["r"],
        ),
        "c": acp.ModelServiceCredential(provider="anthropic", api_key="k3"),
        "d": acp.ToolApiKeyCredential(api_key="k4", location="query", param="key"),
        "e": acp.CloudAccessKeyCredential(
            provider="tencent",
            access_key_id="AKID",
            access_key_secret="s5",
            security_token="t5",
            region="ap-guangzhou",
            account_id="1",
        ),
        "f": acp.CustomHeadersCredential(headers={"X-A": "1", "X-B": "2"}),
        "g": acp.ToolApiKeyCredential(api_key="k7", prefix=None),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", acp.BasicAuthWarning)
        creds["h"] = acp.BasicAuthCredential(username="u", password="p8")
        for name, cred in creds.items():
            store.create(name, cred)
    for _ in range(2):  # the second pass takes the cached-template path
        for name, cred in creds.items():
            assert store.resolve(name) == cred, name
    jwt = store.resolve("b")
    assert isinstance(jwt, acp.JwtCredential) and jwt.jwks is not None
    jwt.jwks["keys"].clear()  # a caller mutating its copy must not affect the next resolve
    assert store.resolve("b") == creds["b"]
    assert [i.name for i in store.list()] == sorted(creds)
    assert [i.name for i in store.list(category="service")] == ["a", "b", "h"]
    assert [i.name for i in store.list(kind="tool_api_key")] == ["d", "g"]


def test_basic_auth_warns_on_create(store: acp.CredentialStore) -> None:
    with pytest.warns(acp.BasicAuthWarning, match="HTTPS"):
        store.create("b", acp.BasicAuthCredential(username="u", password="p"))


def test_update_replaces_secret_and_bumps_version(store: acp.CredentialStore) -> None:
    store.create("k", OPENAI)
    info = store.update("k", acp.ModelServiceCredential(provider="openai", api_key="sk-new"))
    assert info.version == 2
    assert store.resolve("k").api_key.get_secret_value() == "sk-new"  # type: ignore[attr-defined]
    info = store.update("k", description="rotated")
    assert (info.version, info.description) == (3, "rotated")
    assert store.resolve("k").api_key.get_secret_value() == "sk-new"  # type: ignore[attr-defined]
    store.disable("k")
    store.enable("k")
    assert store.get("k").version == 3  # the version counts updates only


def test_update_refuses_kind_change_and_empty_update(store: acp.CredentialStore) -> None:
    store.create("k", OPENAI)
    with pytest.raises(acp.InvalidCredentialError, match="cannot become tool_api_key"):
        store.update("k", acp.ToolApiKeyCredential(api_key="x"))
    with pytest.raises(acp.InvalidCredentialError, match="nothing to change"):
        store.update("k")
    assert store.get("k").version == 1


def test_update_compare_and_swap(store: acp.CredentialStore) -> None:
    store.create("k", OPENAI)
    store.update("k", description="one", expected_version=1)
    with pytest.raises(acp.VersionConflictError) as info:
        store.update("k", description="two", expected_version=1)
    assert (info.value.expected, info.value.actual, info.value.status_code) == (1, 2, 409)
    assert store.get("k").description == "one"


def test_disable_is_401_with_how_to_enable(store: acp.CredentialStore) -> None:
    store.create("my-llm-key", OPENAI)
    store.disable("my-llm-key")
    assert store.get("my-llm-key").status == "disabled"
    with pytest.raises(acp.CredentialDisabledError) as info:
        store.resolve("my-llm-key")
    assert info.value.status_code == 401
    assert str(info.value) == (
        "credential 'my-llm-key' is disabled (401); enable it with "
        "store.enable('my-llm-key') or agentrun-creds enable my-llm-key"
    )
    store.enable("my-llm-key")
    assert store.resolve("my-llm-key") == OPENAI


def test_expiry(store: acp.CredentialStore) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=1)
    store.create("k", acp.ToolApiKeyCredential(api_key="x", expires_at=soon))
    assert store.resolve("k").expires_at == soon
    assert not store.get("k").expired
    store.create(
        "old",
        acp.ToolApiKeyCredential(api_key="x", expires_at=datetime.now(UTC) - timedelta(seconds=1)),
    )
    with pytest.raises(acp.CredentialExpiredError) as info:
        store.resolve("old")
    assert info.value.status_code == 401 and "expired" in str(info.value)
    assert store.get("old").expired and store.get("old").status == "expired"
    assert [i.name for i in store.list() if i.expired] == ["old"]


def test_delete_is_refused_while_attached(store: acp.CredentialStore) -> None:
    store.create("k", OPENAI)
    store.attach("k", "tool", "search")
    store.attach("k", "tool", "search")  # idempotent
    assert store.attachments("k") == [("tool", "search")]
    assert store.get("k").attachments == (("tool", "search"),)
    with pytest.raises(acp.CredentialInUseError) as info:
        store.delete("k")
    assert info.value.status_code == 409 and "tool:search" in str(info.value)
    assert store.resolve("k") == OPENAI
    store.detach("k", "tool", "search")
    store.detach("k", "tool", "search")
    store.delete("k")
    with pytest.raises(acp.CredentialNotFoundError):
        store.resolve("k")


def test_forced_delete_is_irreversible(store: acp.CredentialStore) -> None:
    store.create("k", OPENAI)
    store.attach("k", "tool", "search")
    store.delete("k", force=True)
    with pytest.raises(acp.CredentialNotFoundError):
        store.get("k")
    store.create("k", OPENAI)  # a new credential of that name starts afresh
    assert store.get("k").version == 1 and store.attachments("k") == []
    assert "forced" in (store.audit("k", action="deleted")[0].reason or "")


def test_model_configurations(store: acp.CredentialStore) -> None:
    store.create("my-llm-key", OPENAI)
    model = store.create_model("gpt", credential="my-llm-key", model="gpt-4o-mini", temperature=0.1)
    assert (model.credential, model.model, model.params) == (
        "my-llm-key",
        "gpt-4o-mini",
        {"temperature": 0.1},
    )
    assert store.get_model("gpt") == model
    assert store.list_models() == [model]
    assert store.attachments("my-llm-key") == [("model", "gpt")]
    with pytest.raises(acp.CredentialExistsError):
        store.create_model("gpt", credential="my-llm-key", model="x")
    with pytest.raises(acp.CredentialNotFoundError):
        store.create_model("other", credential="missing", model="x")
    with pytest.raises(acp.CredentialInUseError):
        store.delete("my-llm-key")
    store.delete_model("gpt")
    with pytest.raises(acp.CredentialNotFoundError, match="model 'gpt' not found"):
        store.get_model("gpt")
    assert store.attachments("my-llm-key") == []
    store.delete("my-llm-key")


def test_audit_records_changes_and_uses(store: acp.CredentialStore) -> None:
    store.create("k", OPENAI)
    store.resolve("k", resource="tool:search")
    store.update("k", description="x")
    store.disable("k")
    with pytest.raises(acp.CredentialDisabledError):
        store.resolve("k", resource="tool:search")
    store.enable("k")
    store.attach("k", "client", "c1")
    store.detach("k", "client", "c1")
    store.delete("k")
    actions = [e.action for e in store.audit("k")]
    assert actions == [
        "deleted",
        "detached",
        "attached",
        "enabled",
        "use_failed",
        "disabled",
        "updated",
        "used",
        "created",
    ]
    failed = store.audit("k", action="use_failed")[0]
    assert (failed.reason, failed.resource) == ("disabled", "tool:search")
    assert [e.action for e in store.audit(resource="tool:search")] == ["use_failed", "used"]
    assert len(store.audit("k", limit=2)) == 2
    later = store.audit("k", since=datetime.now(UTC) + timedelta(seconds=5))
    assert later == []
    with pytest.raises(acp.InvalidCredentialError, match="action"):
        store.audit(action="looked")


def test_use_events_are_flushed_within_a_second(store_url: str, master_key: str) -> None:
    with (
        acp.CredentialStore.open(store_url, master_key=master_key) as writer,
        acp.CredentialStore.open(store_url, master_key=master_key) as other,
    ):
        writer.create("k", OPENAI)
        writer.resolve("k", resource="r")
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            if other.audit("k", action="used"):  # another handle: nothing flushed for it
                break
            time.sleep(0.05)
        assert [e.resource for e in other.audit("k", action="used")] == ["r"]


def test_close_flushes_queued_use_events(store_url: str, master_key: str) -> None:
    s = acp.CredentialStore.open(store_url, master_key=master_key)
    s.create("k", OPENAI)
    for _ in range(5):
        s.resolve("k")
    s.close()
    s.close()  # idempotent
    with acp.CredentialStore.open(store_url, master_key=master_key) as again:
        assert len(again.audit("k", action="used")) == 5
    with pytest.raises(acp.StoreUnavailableError):
        s.resolve("k")


def test_audit_retention(store_url: str, master_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with acp.CredentialStore.open(store_url, master_key=master_key) as s:
        s.create("k", OPENAI)
        s.backend.append_audit(
            [AuditRow(time.time() - 60 * 86400, "used", "k", None, None, 1, "h")]
        )
        assert len(s.audit("k", action="used")) == 1
    monkeypatch.setenv("AGENTRUN_CREDS_AUDIT_RETENTION_DAYS", "30")
    with acp.CredentialStore.open(store_url, master_key=master_key) as s:
        s.flush_audit()
        assert s.audit("k", action="used") == []
        assert [e.action for e in s.audit("k")] == ["created"]


def test_check(store: acp.CredentialStore) -> None:
    store.create("ok", OPENAI)
    assert store.check("ok").ok and str(store.check("ok")) == "ok: ok"
    store.create(
        "soon",
        acp.ToolApiKeyCredential(api_key="x", expires_at=datetime.now(UTC) + timedelta(days=2)),
    )
    report = store.check("soon")
    assert report.ok and "expires in" in report.warnings[0]
    store.disable("ok")
    report = store.check("ok")
    assert not report.ok and "store.enable('ok')" in report.problems[0]
    store.create("jw", acp.JwtCredential(jwks_url="https://127.0.0.1:9/jwks.json"))
    report = store.check("jw")
    assert not report.ok and "jwks_url unreachable" in report.problems[0]
    assert store.audit("ok", action="used") == []  # check is not a use


def test_rotate_master_key(store_url: str, master_key: str, canary: str) -> None:
    new = acp.generate_master_key()
    with acp.CredentialStore.open(store_url, master_key=master_key) as s:
        for i in range(5):
            s.create(f"k{i}", acp.ToolApiKeyCredential(api_key=f"{canary}{i}"))
        s.update("k0", description="v2")
        assert s.rotate_master_key(new) == 5
        assert s.rotate_master_key(new) == 0  # re-running is harmless
        assert s.get("k0").version == 2  # versions do not change
        assert s.resolve("k3").api_key.get_secret_value() == f"{canary}3"  # type: ignore[attr-defined]
    with acp.CredentialStore.open(store_url, master_key=new) as s:
        assert s.resolve("k4").api_key.get_secret_value() == f"{canary}4"  # type: ignore[attr-defined]
    with (
        acp.CredentialStore.open(store_url, master_key=master_key) as s,
        pytest.raises(acp.DecryptionError),
    ):
        s.resolve("k4")


def test_rotate_master_key_interrupted_and_rerun(
    store_url: str, master_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = acp.generate_master_key()
    with acp.CredentialStore.open(store_url, master_key=master_key) as s:
        for i in range(6):
            s.create(f"k{i}", acp.ToolApiKeyCredential(api_key=f"secret{i}"))
        real = s.backend.transaction
        calls = {"n": 0}

        def failing_transaction():  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] == 5:  # the switch of keys, then three re-encryptions
                raise KeyboardInterrupt
            return real()

        monkeypatch.setattr(s.backend, "transaction", failing_transaction)
        with pytest.raises(KeyboardInterrupt):
            s.rotate_master_key(new)
        monkeypatch.setattr(s.backend, "transaction", real)
    # after the interruption both keys are needed, and every secret is readable
    with acp.CredentialStore.open(store_url, master_key=[new, master_key]) as s:
        assert [s.resolve(f"k{i}").api_key.get_secret_value() for i in range(6)] == [  # type: ignore[attr-defined]
            f"secret{i}" for i in range(6)
        ]
        assert s.rotate_master_key(new) == 3
    with acp.CredentialStore.open(store_url, master_key=new) as s:
        assert s.resolve("k5").api_key.get_secret_value() == "secret5"  # type: ignore[attr-defined]


def test_rotate_master_key_with_default_key_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    with acp.CredentialStore.open(url) as s, acp.CredentialStore.open(url) as other:
        s.create("k", acp.ToolApiKeyCredential(api_key="before"))
        assert other.resolve("k").api_key.get_secret_value() == "before"  # type: ignore[attr-defined]
        new = acp.generate_master_key()
        s.rotate_master_key(new)
        assert (tmp_path / "c.db.key").read_text().split() == [new]
        # the other process picks the new key up from the key file on the next resolve
        assert other.resolve("k").api_key.get_secret_value() == "before"  # type: ignore[attr-defined]
    with acp.CredentialStore.open(url) as s:
        assert s.resolve("k").api_key.get_secret_value() == "before"  # type: ignore[attr-defined]


def test_context_managers(store_url: str, master_key: str) -> None:
    with acp.CredentialStore.open(store_url, master_key=master_key) as s:
        s.create("k", OPENAI)
    with pytest.raises(acp.StoreUnavailableError):
        s.get("k")

    async def main() -> None:
        async with acp.CredentialStore.open(store_url, master_key=master_key) as a:
            assert (await a.aget("k")).version == 1

    asyncio.run(main())


def test_async_twins(store: acp.CredentialStore) -> None:
    async def main() -> None:
        await store.acreate("k", OPENAI)
        assert (await store.aresolve("k")) == OPENAI
        await store.aupdate("k", description="d", expected_version=1)
        await store.adisable("k")
        with pytest.raises(acp.CredentialDisabledError):
            await store.aresolve("k")
        await store.aenable("k")
        await store.aattach("k", "tool", "t")
        assert await store.aattachments("k") == [("tool", "t")]
        await store.adetach("k", "tool", "t")
        await store.acreate_model("m", credential="k", model="gpt")
        assert (await store.aget_model("m")).model == "gpt"
        assert len(await store.alist_models()) == 1
        await store.adelete_model("m")
        assert [i.name for i in await store.alist()] == ["k"]
        assert (await store.acheck("k")).ok
        assert (await store.aaudit("k", limit=1))[0].action == "detached"
        await store.adelete("k")
        with pytest.raises(acp.CredentialNotFoundError):
            await store.aget("k")

    asyncio.run(main())


def test_sync_methods_work_inside_a_running_loop(store: acp.CredentialStore) -> None:
    """A notebook cell runs inside an event loop: sync calls must not start one."""

    async def cell() -> str:
        store.create("k", OPENAI)
        store.update("k", description="from a notebook")
        store.audit("k")
        return store.resolve("k").api_key.get_secret_value()  # type: ignore[attr-defined, no-any-return]

    assert asyncio.run(cell()) == "sk-test-0000000000000001"


def test_descriptions_are_checked(store: acp.CredentialStore) -> None:
    with pytest.raises(acp.InvalidCredentialError, match="description"):
        store.create("k", OPENAI, description="x" * 2000)
    with pytest.raises(acp.InvalidCredentialError, match="credential: expected"):
        store.create("k", "sk-raw")  # type: ignore[arg-type]
    assert store.list() == []
