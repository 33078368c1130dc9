"""Run every benchmark of the project and print one table (``make bench``).

Each ``bench_*.py`` next to this file is imported by path and its ``figures(quick)`` called; a
module without ``figures`` or one that raises becomes an error row (the run goes on, and the
exit status is non-zero), so one broken benchmark never hides the others. A figure that is
short of its target is reported, not fatal: the exit status is 0 unless a row is an error.

Run: ``python benchmarks/run.py [--quick] [--only NAME] [--json PATH] [--markdown PATH]
[--dir DIR]``; ``--markdown`` writes the table as the README's Benchmarks section shows it.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _figures import Figure  # noqa: E402

COLUMNS = ["benchmark", "figure", "this project", "baseline", "ratio", "target", "result"]


@dataclass(frozen=True)
class Row:
    """A figure with the benchmark it came from, or an error in its place."""

    bench: str
    figure: Figure | None = None
    error: str = ""

    @property
    def result(self) -> str:
        if self.figure is None:
            return "ERROR"
        if self.skipped:
            return "skipped"
        passed = self.figure.passed
        return "info" if passed is None else ("pass" if passed else "short")

    @property
    def skipped(self) -> bool:
        """A benchmark that could not measure (no server) says so in an info row with no unit;
        its placeholder 0 is never shown as a figure."""
        fig = self.figure
        return fig is not None and fig.kind == "info" and not fig.unit and "skipped" in fig.name

    def cells(self) -> list[str]:
        fig = self.figure
        if fig is None:
            return [self.bench, self.error, "", "", "", "", self.result]
        baseline = (
            "" if fig.baseline is None else f"{_num(fig.baseline)} {fig.unit} ({fig.baseline_name})"
        )
        ratio = "" if fig.ratio is None else f"{fig.ratio:.2f}x"
        return [
            self.bench,
            fig.name,
            "" if self.skipped else f"{_num(fig.project)} {fig.unit}",
            baseline,
            ratio,
            fig.target,
            self.result,
        ]

    def as_dict(self) -> dict[str, Any]:
        if self.figure is None:
            return {"benchmark": self.bench, "error": self.error, "result": "ERROR"}
        doc = {"benchmark": self.bench, **self.figure.as_dict(), "result": self.result}
        if self.skipped:
            doc["project"] = None
        return doc


def _num(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"


def machine() -> dict[str, Any]:
    """CPU model, cores, Python and OS: the numbers mean little without them."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "os": platform.platform(),
    }


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look the module up by name
    spec.loader.exec_module(module)
    return module


def run_one(path: Path, quick: bool) -> list[Row]:
    """All rows of one benchmark module; any failure is one error row naming it."""
    bench = path.stem.removeprefix("bench_")
    try:
        module = _load(path)
        fn = getattr(module, "figures", None)
        if fn is None:
            return [Row(bench, error=f"{path.name} has no figures(quick) function")]
        figs = list(fn(quick))
        bad = [f for f in figs if not isinstance(f, Figure)]
        if bad:
            return [Row(bench, error=f"figures() returned a {type(bad[0]).__name__}, not a Figure")]
        return [Row(bench, f) for f in figs]
    except BaseException as exc:  # a crash in one benchmark must not stop the others
        if isinstance(exc, KeyboardInterrupt):
            raise
        traceback.print_exc(file=sys.stderr)
        return [Row(bench, error=f"{type(exc).__name__}: {exc}"[:200])]


def print_table(rows: list[Row], info: dict[str, Any]) -> None:
    line = f"machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, {info['os']}"
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # rich is in the cli extra; plain text without it
        print(line)
        print(" | ".join(COLUMNS))
        for row in rows:
            print(" | ".join(row.cells()))
        return
    console = Console(width=max(160, Console().width))
    console.print(line)
    table = Table(*COLUMNS)
    styles = {
        "pass": "green",
        "short": "yellow",
        "ERROR": "bold red",
        "info": "dim",
        "skipped": "dim",
    }
    for row in rows:
        table.add_row(*row.cells(), style=styles.get(row.result))
    console.print(table)


def markdown_table(rows: list[Row], info: dict[str, Any], when: datetime.datetime) -> str:
    """The table as Markdown, headed by when and where it ran (the README's Benchmarks block)."""
    head = (
        f"Last run ({when:%Y-%m-%d, %H:%M} UTC) on {info['cpu']}, {info['cores']} cores, "
        f"Python {info['python']}, {info['os']}. Each ratio is against the baseline measured "
        "in the same run; absolute times swing with the host, so several runs of one figure "
        'can differ by a third. A ratio below 1 with a target of "faster" means this project '
        "takes that fraction of the baseline's time."
    )
    lines = [head, "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = [c.replace("|", "\\|") for c in row.cells()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer calls, smaller sizes")
    ap.add_argument(
        "--only", action="append", default=[], help="run benchmarks whose name contains NAME"
    )
    ap.add_argument("--json", type=Path, help="also write table and machine as JSON here")
    ap.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    ap.add_argument(
        "--dir", type=Path, default=HERE, help="folder of bench_*.py (default: this one)"
    )
    args = ap.parse_args(argv)
    paths = sorted(args.dir.glob("bench_*.py"))
    if args.only:
        paths = [p for p in paths if any(o in p.stem for o in args.only)]
    if not paths:
        print(f"no benchmark matches {args.only} in {args.dir}", file=sys.stderr)
        return 2
    sys.path.insert(0, str(args.dir.resolve()))
    rows: list[Row] = []
    for path in paths:
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        rows.extend(run_one(path, args.quick))
    info = machine()
    print_table(rows, info)
    if args.json:
        doc = {
            "machine": info,
            "quick": args.quick,
            "columns": COLUMNS,
            "rows": [r.as_dict() for r in rows],
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    if args.markdown:
        now = datetime.datetime.now(datetime.UTC)
        args.markdown.write_text(markdown_table(rows, info, now))
    return 1 if any(r.figure is None for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
