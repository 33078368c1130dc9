"""``benchmarks/run.py`` (``make bench``): one table from every benchmark, errors as rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"

GOOD = """
from _figures import Figure

def figures(quick=False):
    return [
        Figure("fast thing", 2.0, "us", 4.0, "slow thing", "ratio_max", 1.0),
        Figure("slow thing", 8.0, "us", 4.0, "fast thing", "ratio_max", 1.0),
        Figure("size", 3.0, "MiB"),
        Figure("PostgreSQL: skipped: no PostgreSQL (initdb not found)", 0.0, ""),
    ]
"""


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUN), *args], capture_output=True, text=True, timeout=60
    )


def _fake_dir(tmp_path: Path) -> Path:
    (tmp_path / "bench_good.py").write_text(GOOD)
    (tmp_path / "bench_nofigures.py").write_text("def main():\n    pass\n")
    (tmp_path / "bench_raises.py").write_text(
        "def figures(quick=False):\n    raise ValueError('boom')\n"
    )
    return tmp_path


def test_table_and_json_for_a_passing_run(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    got = _run("--quick", "--dir", str(_fake_dir(tmp_path)), "--only", "good", "--json", str(out))
    assert got.returncode == 0, got.stderr  # a short figure is reported, not fatal
    assert got.stdout.startswith("machine: ")
    for column in ("figure", "this project", "baseline", "ratio", "target", "result"):
        assert column in got.stdout
    assert "pass" in got.stdout and "short" in got.stdout
    doc = json.loads(out.read_text())
    assert set(doc["machine"]) == {"cpu", "cores", "python", "os"}
    assert doc["quick"] is True
    rows = {r["figure"]: r for r in doc["rows"]}
    assert rows["fast thing"]["result"] == "pass" and rows["fast thing"]["ratio"] == 0.5
    assert rows["slow thing"]["result"] == "short" and rows["slow thing"]["target"] == "<= 1x"
    assert rows["size"]["result"] == "info" and rows["size"]["baseline"] is None
    assert rows["fast thing"]["baseline_name"] == "slow thing"
    skipped = rows["PostgreSQL: skipped: no PostgreSQL (initdb not found)"]
    assert skipped["result"] == "skipped" and skipped["project"] is None  # never a made-up 0


def test_a_broken_benchmark_is_an_error_row_and_the_others_still_run(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    got = _run("--quick", "--dir", str(_fake_dir(tmp_path)), "--json", str(out))
    assert got.returncode == 1
    rows = json.loads(out.read_text())["rows"]
    errors = {r["benchmark"]: r["error"] for r in rows if r["result"] == "ERROR"}
    assert "has no figures" in errors["nofigures"]
    assert "ValueError: boom" in errors["raises"]
    assert sum(1 for r in rows if r["benchmark"] == "good") == 4


def test_the_real_resolve_benchmark_reports_its_baselines(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    got = _run("--quick", "--only", "resolve", "--json", str(out))
    assert got.returncode == 0, got.stderr
    rows = json.loads(out.read_text())["rows"]
    names = {r["baseline_name"] for r in rows}
    assert "os.environ[...]" in names and "pydantic-settings .env read" in names
    assert all(r["project"] > 0 for r in rows)


def test_no_match_is_a_clear_error(tmp_path: Path) -> None:
    got = _run("--only", "no-such-bench", "--dir", str(tmp_path))
    assert got.returncode == 2
    assert "no benchmark matches" in got.stderr


def test_every_benchmark_uses_the_figure_class_the_runner_checks() -> None:
    """A module importing ``benchmarks._figures`` gets a second ``Figure`` class, and the
    runner reports its whole benchmark as an ERROR row (it happened to bench_coldstart)."""
    offenders = [
        p.name
        for p in sorted(RUN.parent.glob("bench_*.py"))
        if "from benchmarks._figures import" in p.read_text()
        or "import benchmarks._figures" in p.read_text()
    ]
    assert offenders == [], f"import Figure with `from _figures import Figure`: {offenders}"


def test_markdown_table_is_the_readme_block(tmp_path: Path) -> None:
    out = tmp_path / "table.md"
    got = _run(
        "--quick", "--dir", str(_fake_dir(tmp_path)), "--only", "good", "--markdown", str(out)
    )
    assert got.returncode == 0, got.stderr
    lines = out.read_text().splitlines()
    assert lines[0].startswith("Last run (") and " UTC) on " in lines[0]
    assert (
        lines[2]
        == "| "
        + " | ".join(
            ["benchmark", "figure", "this project", "baseline", "ratio", "target", "result"]
        )
        + " |"
    )
    assert lines[3] == "|---|---|---|---|---|---|---|"
    fast = next(line for line in lines if "| fast thing |" in line)
    assert fast == "| good | fast thing | 2 us | 4 us (slow thing) | 0.50x | <= 1x | pass |"
    assert len(lines) == 4 + 4  # one line per figure


def test_a_paired_ratio_is_the_ratio_judged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(RUN.parent))
    from _figures import Figure

    # Medians alone would say 1.2x (short); the pairs' own ratios say 1.05x (pass).
    fig = Figure("mw", 12.0, "us", 10.0, "bare", "ratio_max", 1.11, paired_ratio=1.05)
    assert fig.ratio == 1.05 and fig.passed is True
    assert Figure("mw", 12.0, "us", 10.0, "bare", "ratio_max", 1.11).passed is False
