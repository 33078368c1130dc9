"""The agentrun-creds command: works end to end, never prints or takes a secret on argv."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.cli import cli


def run(url: str, *args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--url", url, *args], input=input, obj={})
    return result.exit_code, result.output


def test_lifecycle_without_printing_secrets(store_url: str, canary: str) -> None:
    code, out = run(
        store_url,
        "create",
        "weather",
        "--kind",
        "tool_api_key",
        "--set",
        "param=X-Api-Key",
        "--description",
        "weather API",
        input=canary + "\n",
    )
    assert code == 0, out
    assert "created weather" in out
    code, out = run(store_url, "list")
    assert code == 0 and "weather" in out and "tool_api_key" in out
    code, out = run(store_url, "disable", "weather")
    assert code == 0 and "disabled" in out
    code, out = run(store_url, "check", "weather")
    assert code == 1 and "store.enable('weather')" in out
    code, out = run(store_url, "enable", "weather")
    assert code == 0
    code, out = run(
        store_url, "update", "weather", "--stdin", "--set", "param=X-Api-Key", input=canary + "v2\n"
    )
    assert code == 0 and "v2" in out
    code, out = run(store_url, "show", "weather")
    assert code == 0 and "weather API" in out
    with acp.CredentialStore.open(store_url) as s:
        cred = s.resolve("weather")
        assert cred.api_key.get_secret_value() == canary + "v2"  # type: ignore[attr-defined]
        s.attach("weather", "tool", "get_weather")
    code, out = run(store_url, "delete", "weather", "--yes")
    assert code == 1 and "attached to tool:get_weather" in out and "[409]" in out
    code, audit_out = run(store_url, "audit", "weather")
    assert code == 0 and "updated" in audit_out and "created" in audit_out
    code, out = run(store_url, "delete", "weather", "--yes", "--force")
    assert code == 0
    code, out = run(store_url, "show", "weather")
    assert code == 1 and "not found" in out and "[404]" in out
    for text in (out, audit_out):
        assert canary not in text


def test_secrets_are_refused_on_the_command_line(store_url: str, canary: str) -> None:
    code, out = run(
        store_url, "create", "k", "--kind", "tool_api_key", "--set", f"api_key={canary}"
    )
    assert code == 2 and "do not pass it on the command line" in out
    assert canary not in out


def test_bad_input_is_a_clear_error_without_echo(store_url: str, canary: str) -> None:
    code, out = run(
        store_url, "create", "k", "--kind", "tool_api_key", "--stdin", input=f"Bearer {canary}\n"
    )
    assert code == 1 and "raw key" in out and "[422]" in out
    assert canary not in out


def test_generate_key_and_rotate(store_url: str, tmp_path: Path) -> None:
    code, key = run(store_url, "generate-key")
    assert code == 0 and len(key.strip()) == 44
    code, _ = run(store_url, "create", "k", "--kind", "tool_api_key", "--stdin", input="v\n")
    assert code == 0
    code, out = run(store_url, "rotate-master-key", "--stdin", input=key)
    assert code == 0 and "re-encrypted 1 record(s)" in out
    key_file = Path(store_url[len("sqlite:///") :] + ".key")
    assert key_file.read_text().split() == [key.strip()]


def test_installed_entry_point(store_url: str) -> None:
    exe = Path(sys.executable).with_name("agentrun-creds")
    if not exe.exists():
        pytest.fail("the agentrun-creds entry point is not installed; pip install -e .")
    out = subprocess.run([str(exe), "--url", store_url, "list"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
