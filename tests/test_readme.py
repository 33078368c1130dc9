"""Every command and Python block the README shows is run here, as a new user would run them.

```console blocks: each ``$ `` line runs in a shell against a temporary store (the store and the
master key come from ``AGENTRUN_CREDS_URL`` / ``AGENTRUN_CREDS_MASTER_KEYS``). ``make demo`` and
``make test`` are not run here (``.ci/run`` runs both on a fresh clone; running ``make test``
inside the tests would recurse); instead the test pins that they are exactly the quickstart.
```python blocks run in order in one namespace with the same temporary store.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agentrun_creds_plugin.crypto import generate_master_key

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
NOT_RUN_HERE = {"make demo", "make test"}  # run by .ci/run on a fresh clone
DEMO_KEY = "sk-readme-canary-0001"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", README, flags=re.S | re.M)


def _commands() -> list[str]:
    return [
        line[2:].strip()
        for block in _blocks("console")
        for line in block.splitlines()
        if line.startswith("$ ")
    ]


@pytest.fixture()
def store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    key = generate_master_key()
    env = {
        "AGENTRUN_CREDS_URL": f"sqlite:///{tmp_path / 'readme.db'}",
        "AGENTRUN_CREDS_MASTER_KEYS": key if isinstance(key, str) else key.decode(),
        "AGENTRUN_CREDS_SECRETS_DIR": str(tmp_path / "no-secrets"),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def test_quickstart_is_exactly_the_two_make_commands() -> None:
    quick = README[README.index("## Quickstart") :]
    quick = quick[: quick.index("\n## ", 1)]
    cmds = [
        line[2:]
        for b in re.findall(r"```console\n(.*?)```", quick, re.S)
        for line in b.splitlines()
    ]
    assert cmds == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


def test_every_console_command_runs(store_env: dict[str, str]) -> None:
    commands = _commands()
    assert len(commands) >= 5, commands
    bindir = Path(sys.executable).parent
    exe = shutil.which("agentrun-creds", path=str(bindir))
    assert exe, "the agentrun-creds console script is not installed in this environment"
    env = {
        **os.environ,
        **store_env,
        "DEMO_KEY": DEMO_KEY,
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("NO_COLOR", None)
    outputs: dict[str, str] = {}
    for cmd in commands:
        if cmd in NOT_RUN_HERE:
            continue
        done = subprocess.run(shlex.split(cmd), env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{cmd!r} failed: {done.stdout}{done.stderr}"
        assert DEMO_KEY not in done.stdout + done.stderr, f"{cmd!r} printed the secret"
        outputs[cmd] = done.stdout
    # what a reader checks: the key printed, the credential listed, the disable audited
    assert len(outputs["agentrun-creds generate-key"].strip()) >= 40
    listed = next(out for cmd, out in outputs.items() if cmd.startswith("agentrun-creds list"))
    assert "cli-llm-key" in listed
    audited = next(out for cmd, out in outputs.items() if cmd.startswith("agentrun-creds audit"))
    assert "disable" in audited


def test_python_blocks_run_in_order(
    store_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = _blocks("python")
    assert len(blocks) >= 5
    namespace: dict[str, object] = {"__name__": "readme"}
    try:
        for i, block in enumerate(blocks):
            code = compile(block, f"README.md python block {i + 1}", "exec")
            exec(code, namespace)  # noqa: S102 - running the README's own code is the point
    finally:
        store = namespace.get("store")
        close = getattr(store, "close", None)
        if callable(close):
            close()
    out = capsys.readouterr().out
    assert "my-llm-key" in out  # the printed CredentialInfo
    for secret in ("sk-demo-0001", "sk-demo-0002", "wk-demo-0001", "demo-secret"):
        assert secret not in out
