"""The one shape every benchmark reports in, so ``make bench`` can print one table.

Each ``benchmarks/bench_*.py`` module exposes ``figures(quick: bool = False) -> list[Figure]``
(and keeps its own ``main`` for running alone). A figure is this project's number, the baseline
measured in the same run, and the target it must meet; ``passed`` is decided here, once, so
every benchmark judges its target the same way.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One row of the benchmark table.

    ``kind`` says how ``limit`` is read:
    - ``"ratio_max"``: project / baseline must be at most ``limit`` (e.g. build within 2x);
    - ``"ratio_min"``: baseline / project must be at least ``limit`` (e.g. 3x faster than);
    - ``"value_max"``: the project's value itself must be at most ``limit`` (e.g. <= 30 us);
    - ``"info"``: no target, printed for context (growth with size, memory).
    """

    name: str
    project: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    kind: str = "info"
    limit: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.project / self.baseline

    @property
    def target(self) -> str:
        if self.kind == "ratio_max":
            return f"<= {self.limit:g}x"
        if self.kind == "ratio_min":
            return f">= {self.limit:g}x faster"
        if self.kind == "value_max":
            return f"<= {self.limit:g} {self.unit}"
        return ""

    @property
    def passed(self) -> bool | None:
        if self.kind == "info" or self.limit is None:
            return None
        if self.kind == "value_max":
            return self.project <= self.limit
        ratio = self.ratio
        if ratio is None:
            return None
        if self.kind == "ratio_max":
            return ratio <= self.limit
        return (1 / ratio) >= self.limit if ratio else True

    def as_dict(self) -> dict[str, object]:
        return {
            "figure": self.name,
            "project": self.project,
            "unit": self.unit,
            "baseline": self.baseline,
            "baseline_name": self.baseline_name,
            "ratio": self.ratio,
            "target": self.target,
            "passed": self.passed,
        }


def median_us(fn: Callable[[], object], calls: int = 2000, rounds: int = 5) -> float:
    """Median per-call time in microseconds, best of ``rounds`` rounds (noise only adds)."""
    clock = time.perf_counter_ns
    best = float("inf")
    for _ in range(rounds):
        samples = []
        for _ in range(calls):
            start = clock()
            fn()
            samples.append(clock() - start)
        best = min(best, statistics.median(samples) / 1000)
    return best


def paired_median_us(
    first: Callable[[], object],
    second: Callable[[], object],
    calls: int = 2000,
    rounds: int = 5,
) -> tuple[float, float]:
    """:func:`median_us` of two functions whose rounds alternate (first, second, second,
    first, ...), so a slow spell of a shared machine lands on both sides, not on one."""
    best = [float("inf"), float("inf")]
    sides = [first, second]
    for i in range(rounds):
        for side in (0, 1) if i % 2 == 0 else (1, 0):
            best[side] = min(best[side], median_us(sides[side], calls, 1))
    return best[0], best[1]
