"""``run`` hands resolved secrets to a real child process and refuses a disabled credential."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .helpers import add_llm, run

CHILD = "import os,sys; sys.exit(0 if os.environ.get('OPENAI_API_KEY') == sys.argv[1] else 3)"


def test_run_passes_the_secret_without_printing_it(store_url: str, canary: str) -> None:
    add_llm(store_url, canary)
    argv = [sys.executable, "-m", "agentrun_creds_plugin", "--url", store_url, "run"]
    argv += ["--env", "OPENAI_API_KEY=llm", "--", sys.executable, "-c", CHILD, canary]
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert canary not in done.stdout + done.stderr


def test_disabled_credential_refuses_to_start(store_url: str, canary: str, tmp_path: Path) -> None:
    add_llm(store_url, canary)
    run(store_url, "disable", "llm")
    marker = tmp_path / "started"
    code, out = run(
        store_url,
        "run",
        "--env",
        "OPENAI_API_KEY=llm",
        "--",
        sys.executable,
        "-c",
        f"open({str(marker)!r}, 'w')",
    )
    assert code == 1 and "[401]" in out and "disabled" in out
    assert not marker.exists() and canary not in out


def test_several_values_need_a_field(store_url: str) -> None:
    run(
        store_url,
        "add",
        "cloud_ak_sk",
        "aws",
        "--provider",
        "aws",
        "--access-key-id",
        "AKIAEXAMPLE0000",
        "--stdin",
        input="secretvalue0000000000\n\n",
    )
    code, out = run(
        store_url, "run", "--env", "X=aws:access_key_id", "--", sys.executable, "-c", ""
    )
    assert code == 0, out
