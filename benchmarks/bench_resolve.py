"""Benchmark: a fresh-checked ``resolve`` on SQLite, in stores of 10 and 10,000 credentials.

Prints medians per call and ratios against baselines measured in the same run:
- a bare SQLite primary-key SELECT of the same row on its own connection (what any
  "read it from the database every time" store pays at least), and
- the same resolve in a store of 10 (the size of the store must not matter).
Targets (issue 2): median <= 10 us in a store of 10,000, and within 1.5x of the store of 10.

Run: ``python benchmarks/bench_resolve.py`` (add ``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.backends.base import Record


def _fill(store: acp.CredentialStore, count: int) -> list[str]:
    """Insert ``count`` credentials in one transaction (creating them one by one would time
    fsyncs, not resolves)."""
    names = [f"cred-{i:05d}" for i in range(count)]
    now = time.time()
    with store.backend.transaction() as tx:
        for i, name in enumerate(names):
            cred = acp.ModelServiceCredential(provider="openai", api_key=f"sk-bench-{i:032d}")
            blob = store._encrypt(cred, name, 1)
            tx.insert(
                Record(
                    name,
                    "third_party",
                    "model_service",
                    True,
                    "",
                    1,
                    now,
                    now,
                    None,
                    cred.preview(),
                    blob,
                )
            )
    return names


def _per_call_median(fn: Callable[[], object], calls: int, rounds: int) -> float:
    """Median of per-call times in microseconds, best round of ``rounds``."""
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls")
    args = parser.parse_args()
    calls, rounds = (3000, 3) if args.quick else (20000, 5)
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        stores, targets = {}, {}
        for size in (10, 10_000):
            path = Path(tmp) / f"s{size}.db"
            stores[size] = acp.CredentialStore.open(
                f"sqlite:///{path}", master_key=acp.generate_master_key()
            )
            names = _fill(stores[size], size)
            targets[size] = names[len(names) // 2]
            stores[size].resolve(targets[size])
        conn = sqlite3.connect(Path(tmp) / "s10000.db")
        cases: dict[str, Callable[[], object]] = {
            "baseline: bare SQLite SELECT by name": lambda: conn.execute(
                "SELECT secret FROM credentials WHERE name=?", (targets[10_000],)
            ).fetchone(),
            "resolve, store of 10": lambda: stores[10].resolve(targets[10]),
            "resolve, store of 10,000": lambda: stores[10_000].resolve(targets[10_000]),
        }
        # Interleave the cases round by round so machine noise hits them alike.
        for _ in range(rounds):
            for label, fn in cases.items():
                value = _per_call_median(fn, calls, 1)
                results[label] = min(results.get(label, value), value)
        conn.close()
        for store in stores.values():
            store.close()
    small, large = results["resolve, store of 10"], results["resolve, store of 10,000"]
    bare = results["baseline: bare SQLite SELECT by name"]
    print("fresh-checked resolve on SQLite (median per call, best of rounds)")
    for label, value in results.items():
        print(f"  {label:40s} {value:7.2f} us")
    print(f"  {'ratio 10,000 / 10':40s} {large / small:7.2f}x   (target <= 1.5x)")
    print(f"  {'ratio resolve / bare SELECT':40s} {large / bare:7.2f}x")
    print(f"  {'target: median <= 10 us at 10,000':40s} {'met' if large <= 10 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
