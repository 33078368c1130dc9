"""Canary secrets never leave the store in plain text (docs/contract.md, "How it is proven")."""

from __future__ import annotations

import logging
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import agentrun_creds_plugin as acp


def _kinds(canary: str) -> dict[str, acp.CredentialBase]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "api": acp.ApiKeyCredential(api_key=canary + "1", prefix="Bearer"),
            "basic": acp.BasicAuthCredential(username="svc", password=canary + "2"),
            "model": acp.ModelServiceCredential(provider="openai", api_key=canary + "3"),
            "tool": acp.ToolApiKeyCredential(api_key=canary + "4", location="query", param="k"),
            "cloud": acp.CloudAccessKeyCredential(
                provider="aws",
                access_key_id="AKIDPUBLIC",
                access_key_secret=canary + "5",
                security_token=canary + "6",
            ),
            "headers": acp.CustomHeadersCredential(headers={"X-Key": canary + "7"}),
            "jwks": acp.JwtCredential(
                jwks_url="https://127.0.0.1:9/jwks", jwks_headers={"X-Gateway-Token": canary + "9"}
            ),
            "expiring": acp.ToolApiKeyCredential(
                api_key=canary + "8", expires_at=datetime.now(UTC) - timedelta(seconds=1)
            ),
        }


def test_no_canary_in_files_logs_reprs_or_errors(
    tmp_path: Path, canary: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"sqlite:///{tmp_path / 'c.db'}"
    shown: list[str] = []
    with acp.CredentialStore.open(url) as store, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, cred in _kinds(canary).items():
            shown += [repr(cred), str(cred), cred.model_dump_json(), str(cred.model_dump())]
            shown.append(repr(store.create(name, cred, description="d")))
        for name in list(_kinds(canary))[:-1]:
            resolved = store.resolve(name, resource="test")
            shown += [repr(resolved), str(resolved)]
            shown.append(repr(store.update(name, resolved, description="again")))
        store.disable("api")
        for name in ("api", "expiring", "missing"):
            with pytest.raises(acp.CredentialError) as info:
                store.resolve(name)
            shown += [str(info.value), repr(info.value)]
        with pytest.raises(acp.InvalidCredentialError) as bad:
            store.update(
                "model", acp.ModelServiceCredential(provider="openai", api_key=f"Bearer {canary}9")
            )
        shown.append(str(bad.value))
        with pytest.raises(acp.InvalidCredentialError) as bad2:
            store.update("tool", acp.BasicAuthCredential(username="u", password=canary + "0"))
        shown.append(str(bad2.value))
        store.create_model("m", credential="model", model="gpt")
        shown += [repr(store), repr(store.list()), repr(store.list_models())]
        shown += [repr(store.audit(limit=1000)), str(store.check("cloud"))]
        shown += [str(store.check("jwks")), str(store.check("basic")), str(store.check("api"))]
        shown += [repr(store.attachments("model")), repr(store.backend)]
        store.rotate_master_key(acp.generate_master_key())
    for text in shown:
        assert canary not in text, text
    assert canary not in caplog.text
    for path in tmp_path.iterdir():  # the database, its WAL and the key file
        assert canary.encode() not in path.read_bytes(), path


def test_previews_show_too_little_to_use(store: acp.CredentialStore, canary: str) -> None:
    for name, cred in _kinds(canary).items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info = store.create(name, cred)
        assert canary not in info.preview
        assert canary[5:-5] not in info.preview
