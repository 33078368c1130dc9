"""The commands a person runs, on a real store: options from the kinds, tables, JSON, rotation."""

from __future__ import annotations

import json
import subprocess
import sys

from agentrun_creds_plugin.cli.fields import secret_fields
from agentrun_creds_plugin.kinds import KINDS

from .helpers import add_llm, run

KEY = "sk-test-0000000000000001"


def test_add_options_come_from_the_kinds(store_url: str) -> None:
    for kind, model in KINDS.items():
        code, out = run(store_url, "add", kind, "--help")
        assert code == 0
        secrets = {n for n, _ in secret_fields(kind)}
        for field in model.model_fields:
            flag = "--" + field.replace("_", "-")
            if field == "kind":
                continue
            if field in secrets:
                assert flag + " " not in out, (kind, field)
            else:
                assert flag in out, (kind, field)
    assert secret_fields("cloud_ak_sk") == [("access_key_secret", True), ("security_token", False)]


def test_python_dash_m_runs_the_same_command(store_url: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "agentrun_creds_plugin", "--url", store_url, "--json", "list"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


def test_show_attachments_audit_and_models(store_url: str) -> None:
    add_llm(store_url, KEY)
    code, out = run(store_url, "models", "add", "gpt", "--credential", "llm", "--model", "gpt-4o")
    assert code == 0
    code, out = run(store_url, "--json", "show", "llm")
    data = json.loads(out)
    assert data["credential"]["attachments"] == [["model", "gpt"]]
    assert {e["action"] for e in data["recent_audit"]} >= {"created", "attached"}
    code, out = run(store_url, "attachments", "llm", "--json")
    assert json.loads(out) == [{"type": "model", "name": "gpt"}]
    code, out = run(store_url, "audit", "--action", "attached", "--resource", "model:gpt", "--json")
    assert [e["action"] for e in json.loads(out)] == ["attached"]
    code, out = run(store_url, "audit", "--since", "2999-01-01", "--json")
    assert code == 0 and json.loads(out) == []
    code, out = run(store_url, "models", "show", "gpt", "--json")
    assert json.loads(out)["credential"] == "llm"
    code, out = run(store_url, "models", "delete", "gpt")
    assert code == 0
    code, out = run(store_url, "list", "--kind", "model_service", "--json")
    assert [i["name"] for i in json.loads(out)] == ["llm"]
    code, out = run(store_url, "list", "--category", "service", "--json")
    assert json.loads(out) == []


def test_existing_name_is_refused_before_the_prompt(store_url: str) -> None:
    add_llm(store_url, KEY)
    code, out = run(store_url, "add", "model_service", "llm", "--provider", "openai")
    assert code == 1 and "[409]" in out


def test_rotate_master_key_with_json(store_url: str) -> None:
    for n in ("a", "b"):
        run(store_url, "add", "tool_api_key", n, "--stdin", input=KEY + "\n")
    _, key = run(store_url, "generate-key")
    code, out = run(store_url, "rotate-master-key", "--stdin", "--json", input=key)
    assert code == 0 and json.loads(out) == {"re_encrypted": 2}
    code, out = run(store_url, "reveal", "a", "--yes")
    assert KEY in out
