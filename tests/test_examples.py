"""The stand-alone examples run as a user runs them (a subprocess) and print what they promise.

``examples/weather_tool.py`` and ``examples/agent_with_tools.py`` need loopback LLM and weather
servers and are run by ``tests/integrations/test_examples.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(name: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_cloud_signing_is_accepted_only_when_signed() -> None:
    out = _run("cloud_signing.py")
    assert 'signed request -> 200 {"instances": 3}' in out
    assert "unsigned request -> 403 SignatureDoesNotMatch" in out
    assert "wJalrXUtnFEMI" not in out


def test_shared_store_worker_sees_the_rotated_key_on_its_next_call() -> None:
    lines = _run("shared_store.py").splitlines()
    assert len(lines) == 3, lines
    assert lines[0].endswith("uses key ...0001")
    assert "rotated my-llm-key to version 2" in lines[1]
    assert lines[2].endswith("uses key ...0002")
    assert lines[0].split()[1] == lines[2].split()[1]  # the same worker process, not restarted
    assert lines[0].split()[1] != lines[1].split()[1]  # and not the process that rotated
    assert "sk-example-000" not in "\n".join(lines)


def test_tenants_agent_each_run_sends_its_own_tenants_key() -> None:
    out = _run("tenants_agent.py")
    assert "run for acme -> tool answered: sunny, billed to acme" in out
    assert "run for globex -> tool answered: sunny, billed to globex" in out
    assert "run for globex, disabled -> tool answered: credential 'globex' is disabled (401)" in out
    assert "requests the API received: ['acme', 'globex']" in out  # nothing sent while disabled
    assert "wk-acme-0001" not in out and "wk-globex-0001" not in out


def test_quickstart_example_runs() -> None:
    out = _run("quickstart.py")
    assert "3. disabled -> CredentialDisabledError (status 401)" in out
