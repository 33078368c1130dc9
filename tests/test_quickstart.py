"""examples/quickstart.py (the library quick start as a script) must keep working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_demo_runs() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "1. invoke -> echo: hi" in out
    assert "2. after store.update, the same model -> echo: hi again" in out
    assert "3. disabled -> CredentialDisabledError (status 401)" in out
    assert "requests sent while disabled: 0" in out
    assert "4. enabled again -> echo: back" in out
    assert "sk-demo-key-0001" not in out and "sk-demo-key-0002" not in out
