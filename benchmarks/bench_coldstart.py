"""Cold start: a new process imports the package, opens the embedded store and resolves once.

Run: ``.venv/bin/python benchmarks/bench_coldstart.py [--quick]``

Baseline, measured side by side in the same run: a bare interpreter (``python -c pass``, the
same interpreter and environment). The two commands alternate, so load from other processes
hits both alike; the figure is the median wall time of each. Serverless agents (function
compute) pay this on every cold start. Target: at most 4x the bare interpreter.

The package's bytecode is compiled first, as ``pip install`` does: otherwise, under
``PYTHONDONTWRITEBYTECODE`` or in a fresh editable checkout, every run would also time the
compiler. A third row times ``from pydantic import BaseModel, SecretStr`` alone: ``resolve``
returns pydantic models, so that import is a floor no change inside this project can lower.
"""

from __future__ import annotations

import compileall
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _figures import Figure  # noqa: E402  # the module run.py imports

SETUP = """
import sys
import agentrun_creds_plugin as acp
folder = sys.argv[1]
key = acp.generate_master_key()
with acp.CredentialStore.open(f"sqlite:///{folder}/cold.db", master_key=key) as store:
    store.create("llm", acp.ModelServiceCredential(provider="openai", api_key="sk-" + "a" * 40))
open(f"{folder}/key", "w").write(key)
"""

COLD = """
import sys
import agentrun_creds_plugin as acp
folder = sys.argv[1]
key = open(f"{folder}/key").read()
store = acp.CredentialStore.open(f"sqlite:///{folder}/cold.db", master_key=key)
store.resolve("llm")
store.close()
"""

IMPORT_ONLY = "import agentrun_creds_plugin"
PYDANTIC_ONLY = "from pydantic import BaseModel, SecretStr"


def _compile_package() -> None:
    """Write the package's bytecode beside it, as an install does (idempotent)."""
    spec = importlib.util.find_spec("agentrun_creds_plugin")
    if spec is not None and spec.origin is not None:
        compileall.compile_dir(Path(spec.origin).parent, quiet=2)


def _wall(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(runs: int) -> tuple[float, float, float, float]:
    """Median wall seconds of (bare, import only, import + open + resolve, pydantic only)."""
    _compile_package()
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.executable, "-c", SETUP, folder], check=True, cwd=ROOT)
        bare: list[float] = []
        imported: list[float] = []
        cold: list[float] = []
        floor: list[float] = []
        for _ in range(runs):
            bare.append(_wall([sys.executable, "-c", "pass"]))
            imported.append(_wall([sys.executable, "-c", IMPORT_ONLY]))
            cold.append(_wall([sys.executable, "-c", COLD, folder]))
            floor.append(_wall([sys.executable, "-c", PYDANTIC_ONLY]))
        return (
            statistics.median(bare),
            statistics.median(imported),
            statistics.median(cold),
            statistics.median(floor),
        )


def figures(quick: bool = False) -> list[Figure]:
    bare, imported, cold, floor = measure(7 if quick else 21)
    return [
        Figure(
            "cold start: import + open + first resolve",
            cold * 1000,
            "ms",
            baseline=bare * 1000,
            baseline_name="bare interpreter (python -c pass)",
            kind="ratio_max",
            limit=4.0,
        ),
        Figure(
            "cold start: import agentrun_creds_plugin",
            imported * 1000,
            "ms",
            baseline=bare * 1000,
            baseline_name="bare interpreter (python -c pass)",
        ),
        Figure(
            "cold start floor: import pydantic alone",
            floor * 1000,
            "ms",
            baseline=bare * 1000,
            baseline_name="bare interpreter (python -c pass)",
        ),
    ]


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    failed = False
    for fig in figures(quick):
        verdict = {True: "pass", False: "SHORT", None: ""}[fig.passed]
        ratio = f"{fig.ratio:.2f}x" if fig.ratio is not None else ""
        print(
            f"{fig.name:44} {fig.project:8.1f} {fig.unit}  vs {fig.baseline_name} "
            f"{fig.baseline or 0:.1f} {fig.unit}  {ratio:>7} {fig.target:>8} {verdict}"
        )
        failed = failed or fig.passed is False
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
