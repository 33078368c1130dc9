"""Benchmark: rotation propagation on a shared SQLite store, across processes.

``workers`` processes resolve one name in a loop (0.2 ms apart), recording when each call
started and which version it returned, while this process updates the key ``updates`` times.
A call is *stale* when it started after an update had committed (``update()`` had returned)
and still returned an older key: the target is none. The delay from a commit to each worker's
first call that returns the new key is reported as p50/p99 (info: it is bounded by the loop's pace).

The clock is ``time.monotonic`` (system-wide on Linux, so comparable across processes).
Run: ``python benchmarks/bench_propagation.py [--quick]``.
"""

from __future__ import annotations

import argparse
import bisect
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _figures import Figure

import agentrun_creds_plugin as acp

# A worker: resolve "k" until it returns the stop version, then print its calls as JSON
# ([start, version] pairs, version parsed from the key "v-<n>").
_WORKER = """
import json, sys, time
import agentrun_creds_plugin as acp
s = acp.CredentialStore.open(sys.argv[1], master_key=sys.argv[2])
stop = int(sys.argv[3])
clock = time.monotonic
starts, versions = [], []
s.resolve("k")
print("ready", flush=True)
while True:
    t = clock()
    v = int(s.resolve("k").api_key.get_secret_value().split("-")[1])
    starts.append(t)
    versions.append(v)
    if v >= stop:
        break
    time.sleep(0.0002)  # leave the updater a core: busy loops on every core would time the OS
s.close()
print(json.dumps([starts, versions]), flush=True)
"""


@dataclass(frozen=True)
class Propagation:
    """What the workers saw: stale calls, delays (seconds) and how many calls in all."""

    stale: int
    delays: list[float]
    calls: int

    def percentile(self, q: float) -> float:
        ordered = sorted(self.delays)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else 0.0


def run(workers: int, updates: int, gap: float = 0.02) -> Propagation:
    """Start ``workers`` resolvers, update ``updates`` times ``gap`` seconds apart, and judge
    every call against the commit times."""
    key = acp.generate_master_key()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'p.db'}"
        store = acp.CredentialStore.open(url, master_key=key)
        store.create("k", acp.ToolApiKeyCredential(api_key="v-1"))
        stop = updates + 2
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _WORKER, url, key, str(stop)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(workers)
        ]
        try:
            for p in procs:
                assert p.stdout is not None
                line = p.stdout.readline().strip()
                if line != "ready":
                    raise RuntimeError(f"a propagation worker failed to start (said {line!r})")
            committed: dict[int, float] = {}
            for version in range(2, stop + 1):
                time.sleep(gap)
                store.update("k", acp.ToolApiKeyCredential(api_key=f"v-{version}"))
                committed[version] = time.monotonic()
            results = []
            for p in procs:
                out, _ = p.communicate(timeout=120)
                results.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
            store.close()
    stale, calls, delays = 0, 0, []
    versions_by_commit = sorted(committed.items())
    times = [at for _, at in versions_by_commit]
    for starts, versions in results:
        calls += len(starts)
        for t, v in zip(starts, versions, strict=True):
            # The newest version committed before this call started is the least it may return.
            done = bisect.bisect_right(times, t)
            due = versions_by_commit[done - 1][0] if done else 1
            if v < due:
                stale += 1
        for version, at in versions_by_commit[:-1]:  # the last one is the stop signal
            first = next((t for t, v in zip(starts, versions, strict=True) if v >= version), None)
            if first is not None:
                delays.append(max(0.0, first - at))
    return Propagation(stale, delays, calls)


def figures(quick: bool = False) -> list[Figure]:
    workers, updates = (4, 20) if quick else (4, 100)
    got = run(workers, updates)
    n = f"{workers} processes, {updates} updates, {got.calls:,} calls"
    return [
        Figure(
            f"SQLite stale reads after commit ({n})", got.stale, "calls", kind="value_max", limit=0
        ),
        Figure("SQLite propagation delay p50", got.percentile(0.5) * 1e3, "ms"),
        Figure("SQLite propagation delay p99", got.percentile(0.99) * 1e3, "ms"),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20 updates instead of 100")
    args = ap.parse_args()
    for fig in figures(args.quick):
        print(f"{fig.name:70s} {fig.project:10.3f} {fig.unit}  {fig.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
