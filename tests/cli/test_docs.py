"""Every ``$ agentrun-creds ...`` line of docs/cli.md runs, in order, as a shell would run it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
SKIP = ("pip install", "agentrun-creds demo")  # the demo has its own test


def commands() -> list[str]:
    blocks = re.findall(r"```console\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return [
        line[2:]
        for block in blocks
        for line in block.splitlines()
        if line.startswith("$ ") and not line[2:].startswith(SKIP)
    ]


def test_the_doc_covers_every_command() -> None:
    from agentrun_creds_plugin.cli import cli

    shown = " ".join(commands())
    for name in cli.list_commands(None):  # type: ignore[arg-type]
        assert f"agentrun-creds {name}" in shown or name == "demo" or name == "create", name


def test_every_example_runs(tmp_path: Path, canary: str) -> None:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "AGENTRUN_CREDS_URL": f"sqlite:///{tmp_path / 'creds.db'}",
        "OPENAI_API_KEY": canary,
        "BUNDLE_PASSPHRASE": "correct horse battery staple",
    }
    for folder in ("other", "copy"):
        (tmp_path / folder).mkdir()
    for line in commands():
        done = subprocess.run(
            ["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        out = done.stdout + done.stderr
        expected = 1 if "# exit 1" in line else 0
        assert done.returncode == expected, (line, out)
        if expected:
            assert "attached to model:gpt" in out, out
        if "reveal" not in line:
            assert canary not in out, line
        else:
            assert canary in done.stdout
