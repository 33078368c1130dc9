"""``export`` / ``import``: an encrypted bundle moves a store to another one with another key."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.bundle import BundleError, export_bundle, import_bundle

from .helpers import add_llm, run

PASS = "correct horse battery staple"
ENV = {"BUNDLE_PASS": PASS}


@pytest.fixture
def two_urls(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    return f"sqlite:///{tmp_path / 'a' / 'creds.db'}", f"sqlite:///{tmp_path / 'b' / 'creds.db'}"


def _fill(url: str, key: str) -> None:
    add_llm(url, key, name="llm")
    add_llm(url, key + "x", name="off")
    assert run(url, "disable", "off")[0] == 0
    code, out = run(url, "models", "add", "gpt", "--credential", "llm", "--model", "gpt-4o")
    assert code == 0, out
    with acp.CredentialStore.open(url) as s:
        s.attach("llm", "tool", "search")


def _export(url: str, path: Path, *extra: str) -> tuple[int, str]:
    return run(url, "export", str(path), "--passphrase-env", "BUNDLE_PASS", *extra, env=ENV)


def _import(url: str, path: Path, *extra: str) -> tuple[int, str]:
    return run(url, "import", str(path), "--passphrase-env", "BUNDLE_PASS", *extra, env=ENV)


def test_round_trip_between_stores_with_different_master_keys(
    two_urls: tuple[str, str], tmp_path: Path, canary: str
) -> None:
    a, b = two_urls
    _fill(a, canary)
    bundle = tmp_path / "backup.acrb"
    code, out = _export(a, bundle, "--json")
    assert code == 0, out
    assert json.loads(out)["credentials"] == ["llm", "off"]
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    key_a = Path(a.removeprefix("sqlite:///") + ".key")
    run(b, "list")  # creates store b and its own key file
    key_b = Path(b.removeprefix("sqlite:///") + ".key")
    assert key_a.read_bytes() != key_b.read_bytes()
    code, out = _import(b, bundle, "--json")
    assert code == 0, out
    assert json.loads(out) == {
        "created": ["llm", "off"],
        "replaced": [],
        "skipped": [],
        "models": ["gpt"],
        "attachments": 1,
    }
    with acp.CredentialStore.open(b) as s:
        cred = s.resolve("llm")
        assert isinstance(cred, acp.ModelServiceCredential)
        assert cred.api_key.get_secret_value() == canary
        assert s.get("off").enabled is False
        assert sorted(s.attachments("llm")) == [("model", "gpt"), ("tool", "search")]
        assert s.get_model("gpt").model == "gpt-4o"
    raw = bundle.read_bytes()
    for needle in (canary, PASS, "llm", "gpt-4o"):
        assert needle.encode() not in raw
    assert canary not in out


def test_passphrase_by_stdin_and_prompt_twice(two_urls: tuple[str, str], tmp_path: Path) -> None:
    a, b = two_urls
    add_llm(a, "sk-test-000000000001")
    bundle = tmp_path / "x.acrb"
    code, out = run(a, "export", str(bundle), input=f"{PASS}\n{PASS}x\n{PASS}\n{PASS}\n")
    assert code == 0, out
    assert "do not match" in out.lower() or "match" in out.lower()
    assert PASS not in out
    code, out = run(b, "import", str(bundle), "--passphrase-stdin", input=PASS + "\n")
    assert code == 0, out and "1 created" in out


def test_export_refuses_to_overwrite_without_force(store_url: str, tmp_path: Path) -> None:
    add_llm(store_url, "sk-test-000000000001")
    bundle = tmp_path / "x.acrb"
    bundle.write_text("keep me")
    code, out = _export(store_url, bundle)
    assert code == 1 and "--force" in out and bundle.read_text() == "keep me"
    code, out = _export(store_url, bundle, "--force")
    assert code == 0, out
    assert bundle.read_bytes().startswith(b"ACRB")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".x.acrb")] == []


def test_a_short_passphrase_is_refused(store_url: str, tmp_path: Path) -> None:
    add_llm(store_url, "sk-test-000000000001")
    code, out = run(
        store_url, "export", str(tmp_path / "x"), "--passphrase-env", "P", env={"P": "short"}
    )
    assert code == 1 and "at least 8 characters" in out and not (tmp_path / "x").exists()


def test_the_passphrase_is_never_an_argument(store_url: str, tmp_path: Path) -> None:
    code, out = run(store_url, "export", str(tmp_path / "x"), "--passphrase", PASS)
    assert code == 2 and "no such option" in out.lower()


@pytest.mark.parametrize(
    "damage",
    ["wrong passphrase", "flip a ciphertext byte", "flip a salt byte", "truncate", "cut to header"],
)
def test_every_failure_to_open_is_one_message(
    two_urls: tuple[str, str], tmp_path: Path, canary: str, damage: str
) -> None:
    a, b = two_urls
    add_llm(a, canary)
    bundle = tmp_path / "x.acrb"
    assert _export(a, bundle)[0] == 0
    raw = bytearray(bundle.read_bytes())
    env = ENV
    if damage == "wrong passphrase":
        env = {"BUNDLE_PASS": PASS + "!"}
    elif damage == "flip a ciphertext byte":
        raw[-20] ^= 1
    elif damage == "flip a salt byte":
        raw[10] ^= 1
    elif damage == "truncate":
        raw = raw[:-5]
    else:
        raw = raw[:36]
    bundle.write_bytes(bytes(raw))
    code, out = run(b, "import", str(bundle), "--passphrase-env", "BUNDLE_PASS", env=env)
    assert code == 1
    assert BundleError.MESSAGE in out.replace("\n", " ") or BundleError.MESSAGE[:40] in out
    assert canary not in out and PASS not in out
    assert run(b, "--json", "list")[1].strip() == "[]"


def test_a_file_that_is_not_a_bundle(store_url: str, tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    code, out = _import(store_url, other)
    assert code == 1 and "not an agentrun-creds bundle" in out


def test_conflicts_fail_by_default_then_skip_or_replace(
    two_urls: tuple[str, str], tmp_path: Path
) -> None:
    a, b = two_urls
    _fill(a, "sk-test-from-a-00000001")
    add_llm(b, "sk-test-from-b-00000001", name="llm")
    bundle = tmp_path / "x.acrb"
    assert _export(a, bundle)[0] == 0
    code, out = _import(b, bundle)
    assert code == 1 and "credential llm" in out and "--on-conflict" in out
    assert [i["name"] for i in json.loads(run(b, "--json", "list")[1])] == ["llm"]
    code, out = _import(b, bundle, "--on-conflict", "skip", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["created"] == ["off"] and data["skipped"] == ["llm"]
    assert data["models"] == ["gpt"]  # a new model uses the store's own credential llm
    with acp.CredentialStore.open(b) as s:
        cred = s.resolve("llm")
        assert isinstance(cred, acp.ModelServiceCredential)
        assert cred.api_key.get_secret_value() == "sk-test-from-b-00000001"
    code, out = _import(b, bundle, "--on-conflict", "replace", "--json")
    assert code == 0, out
    assert json.loads(out)["replaced"] == ["llm", "off"]
    with acp.CredentialStore.open(b) as s:
        cred = s.resolve("llm")
        assert isinstance(cred, acp.ModelServiceCredential)
        assert cred.api_key.get_secret_value() == "sk-test-from-a-00000001"
        assert s.get("llm").version == 2
        assert s.get_model("gpt").credential == "llm"


def test_library_functions(store: acp.CredentialStore, tmp_path: Path, canary: str) -> None:
    store.create("t", acp.ToolApiKeyCredential(api_key=canary))
    report = export_bundle(store, tmp_path / "b", PASS)
    assert report.credentials == ["t"] and canary not in repr(report)
    with pytest.raises(BundleError) as err:
        import_bundle(store, tmp_path / "b", "not the passphrase")
    assert canary not in str(err.value)
    store.delete("t")
    assert import_bundle(store, tmp_path / "b", PASS).created == ["t"]
    assert os.path.exists(tmp_path / "b")
