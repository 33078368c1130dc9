"""Rotation reaches other processes at once: after ``update()`` returns, no call in another
process that starts later gets the old key (real SQLite file, real processes)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_propagation.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_bench_propagation_for_test", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_no_stale_read_after_an_update_commits() -> None:
    got = _bench().run(workers=2, updates=5, gap=0.05)
    assert got.calls > 100, "the workers barely ran; the check would prove nothing"
    assert got.stale == 0
    assert len(got.delays) == 2 * 5, "every worker saw every update"
