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

    ``paired_ratio``: where the two sides were measured in rounds (each round a window of
    each side, close together), the median of the rounds' ratios. It is the ratio judged and
    printed, because a neighbour's slow spell then changes both sides of a round alike, where
    the ratio of the two medians can still pick them from different spells.
    """

    name: str
    project: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    kind: str = "info"
    limit: float | None = None
    paired_ratio: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.paired_ratio is not None:
            return self.paired_ratio
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
    """Median per-call times in microseconds of two functions called in turn (first, second,
    then second, first, ...), each side's figure the median of its ``rounds`` round medians.

    Alternating single calls puts both sides in the same state of a shared machine: on the
    2-vCPU VM these figures come from, a bare ``jwt.decode`` timed in whole rounds moved from
    98 to 144 µs within a minute, and rounds of 1,000 calls alternated one by one gave ratios
    of 0.86-1.20x for the same code; called in turn, 0.81-0.86x.
    """
    clock = time.perf_counter_ns
    medians: list[list[float]] = [[], []]
    for _ in range(rounds):
        times: list[list[int]] = [[], []]
        for i in range(calls):
            order = (0, 1) if i % 2 == 0 else (1, 0)
            for side in order:
                fn = first if side == 0 else second
                start = clock()
                fn()
                times[side].append(clock() - start)
        for side in (0, 1):
            medians[side].append(statistics.median(times[side]) / 1000)
    return statistics.median(medians[0]), statistics.median(medians[1])
