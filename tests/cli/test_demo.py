"""``agentrun-creds demo`` (what ``make demo`` runs): each step behaves, nothing is left."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from agentrun_creds_plugin.cli import cli, demo_story

SCRIPT = Path(sys.executable).with_name("agentrun-creds")
STEPS = [
    "1. created credential my-llm-key (model_service, openai_compatible sk-...",
    "2. created model gpt (gpt-4o-mini) that uses credential my-llm-key",
    "3. ChatOpenAI.invoke -> 'echo: hello' (the server got sk-...",
    "4. rotated the key: the server now accepts only sk-...",
    "5. same model object, no rebuild -> 'echo: hello again'",
    "6. disabled my-llm-key -> the call fails with 401; 0 requests sent",
    "7. resources attached to my-llm-key: model:gpt",
    "8. delete refused while attached (409)",
    "9. audit trail: created -> attached -> used",
]
#: The demo's made-up keys are ``sk-demo-`` and 28 hex digits; only ``sk-...1234`` may show.
SECRET = re.compile(r"sk-demo-[0-9a-f]{4}")


def _run(tmp: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    tmp.mkdir()
    started = time.perf_counter()
    done = subprocess.run(
        [str(SCRIPT), "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TMPDIR": str(tmp), **env},
    )
    return done, time.perf_counter() - started


def test_the_demo_tells_the_quick_start(tmp_path: Path) -> None:
    done, elapsed = _run(tmp_path / "tmp")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    for step in STEPS:
        assert f"ok   {step}" in done.stdout, (step, out)
    assert "FAIL" not in out
    assert not SECRET.search(out)
    assert "\x1b[" not in out  # piped: plain text
    assert "removed" in done.stdout
    assert list((tmp_path / "tmp").iterdir()) == []  # the temporary store is gone
    print(f"agentrun-creds demo took {elapsed:.1f} s")
    assert elapsed < 60


def test_on_a_terminal_the_lines_are_coloured(tmp_path: Path) -> None:
    done, _ = _run(tmp_path / "tmp", FORCE_COLOR="1", TTY_COMPATIBLE="1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "\x1b[" in done.stdout and not SECRET.search(done.stdout)


def test_a_step_that_does_not_behave_fails_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: demo_story.Demo) -> str:
        raise demo_story.StepFailed("the credential was deleted while attached")

    monkeypatch.setattr(demo_story.Demo, "refuse_delete", broken)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = CliRunner().invoke(cli, ["demo"], obj={})
    assert result.exit_code == 1
    assert "FAIL 8. broken: the credential was deleted while attached" in result.output
    assert "9. audit" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_json_reports_every_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = CliRunner().invoke(cli, ["--json", "demo"], obj={})
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["ok"] and doc["cleaned_up"] and len(doc["steps"]) == len(STEPS)
    assert all(s["ok"] for s in doc["steps"]) and not SECRET.search(result.output)
    assert list(tmp_path.iterdir()) == []
