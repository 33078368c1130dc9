"""``examples/fastapi_service.py``: imported and served, then run as a script."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import httpx
import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.kinds import ApiKeyCredential
from tests.support.uvicorn_server import serve

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi_service.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("examples_fastapi_service", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_app(store: acp.CredentialStore, canary: str) -> None:
    store.create("agent-key", ApiKeyCredential(api_key=canary, header_name="X-Api-Key"))
    app = load().build_app(store)
    with serve(app) as base:
        assert httpx.get(f"{base}/health").json() == {"ok": True}
        r = httpx.post(f"{base}/agent/run", json={"question": "hi"})
        assert r.status_code == 401
        assert r.json()["detail"]["reason"] == "missing header X-Api-Key"
        r = httpx.post(f"{base}/agent/run", json={"question": "hi"}, headers={"X-Api-Key": canary})
        assert r.json() == {
            "answer": "You asked: hi",
            "credential": "agent-key",
            "matched": "current",
        }
        store.update(
            "agent-key",
            ApiKeyCredential(api_key=canary + "2", header_name="X-Api-Key"),
            grace_seconds=60,
        )
        r = httpx.post(f"{base}/agent/run", json={"question": "hi"}, headers={"X-Api-Key": canary})
        assert r.json()["matched"] == "previous"
    assert ("service", "POST /agent/run") in store.attachments("agent-key")
    with pytest.raises(acp.CredentialInUseError):
        store.delete("agent-key")


def test_example_as_a_script(
    store: acp.CredentialStore, canary: str, store_url: str, master_key: str
) -> None:
    store.create("agent-key", ApiKeyCredential(api_key=canary, header_name="X-Api-Key"))
    env = {
        **os.environ,
        "AGENTRUN_CREDS_URL": store_url,
        "AGENTRUN_CREDS_MASTER_KEYS": master_key,
        "AGENT_PORT": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLE)], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stderr is not None
        url = None
        deadline = time.monotonic() + 30
        lines = []
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            found = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
            url = found.group(1) if found else None
        assert url is not None, "".join(lines)
        r = httpx.post(f"{url}/agent/run", json={"question": "x"}, headers={"X-Api-Key": canary})
        assert r.json()["answer"] == "You asked: x"
        assert httpx.post(f"{url}/agent/run", json={"question": "x"}).status_code == 401
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert canary not in err
