"""Benchmark: how cost grows with the number of credentials (10, 1,000 and 100,000).

For each size: the median of a fresh-checked ``resolve``, the time of one ``list()``, and the
peak memory (RSS) of a new process that opens the store, lists it and resolves one name. The
one target: resolve in a store of 100,000 within 1.5x of a store of 10 (an index lookup must
not get slower as the table grows); every store stays open and each size's resolve is timed in
turn with the smallest store's, one call each. ``--quick`` stops at 10,000 and says so in the names.

Run: ``python benchmarks/bench_scaling.py [--quick]``.
"""

from __future__ import annotations

import argparse
import functools
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _figures import Figure, paired_median_us
from bench_resolve import _fill

import agentrun_creds_plugin as acp

# A new process: open + list + resolve, then its peak RSS in KiB. VmHWM first: ru_maxrss
# survives exec on Linux, so it would report the (large) benchmark parent's peak instead.
_RSS = """
import resource, sys
import agentrun_creds_plugin as acp
s = acp.CredentialStore.open(sys.argv[1], master_key=sys.argv[2])
s.list()
s.resolve(sys.argv[3])
s.close()
try:
    with open("/proc/self/status") as f:
        print(next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")))
except (OSError, StopIteration):
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _sizes(quick: bool) -> tuple[int, ...]:
    return (10, 1_000, 10_000) if quick else (10, 1_000, 100_000)


def _label(size: int) -> str:
    return f"{size:,}"


def measure(quick: bool) -> dict[int, dict[str, float]]:
    """Per size: resolve median (us), list (ms), fill (s), RSS of a store process (MiB)."""
    out: dict[int, dict[str, float]] = {}
    calls, rounds = (2000, 3) if quick else (10000, 5)
    sizes = _sizes(quick)
    resolvers: dict[int, Callable[[], object]] = {}
    stores: list[acp.CredentialStore] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            key = acp.generate_master_key()
            url = f"sqlite:///{Path(tmp) / f's{size}.db'}"
            store = acp.CredentialStore.open(url, master_key=key)
            t0 = time.perf_counter()
            names = _fill(store, size)
            fill_s = time.perf_counter() - t0
            target = names[len(names) // 2]
            store.resolve(target)
            resolvers[size] = functools.partial(store.resolve, target)
            stores.append(store)
            list_runs = 3 if size >= 10_000 else 20
            best = float("inf")
            for _ in range(list_runs):
                t0 = time.perf_counter()
                store.list()
                best = min(best, time.perf_counter() - t0)
            rss = subprocess.run(
                [sys.executable, "-c", _RSS, url, key, target],
                capture_output=True,
                text=True,
                check=True,
                timeout=300,
            ).stdout.split()[-1]
            out[size] = {"list_ms": best * 1e3, "fill_s": fill_s, "rss_mib": int(rss) / 1024}
        # Every store stays open and each size's resolve is timed in turn with the smallest
        # store's: timed one after the other, 20 s apart, the same resolve measured 6 µs in
        # one and 10 µs in the next on this shared VM, whichever size came first.
        small = sizes[0]
        for size in sizes[1:]:
            ours, base = paired_median_us(resolvers[size], resolvers[small], calls, rounds)
            out[size]["resolve_us"] = ours
            out[size]["resolve_small_us"] = base
        out[small]["resolve_us"] = out[sizes[-1]]["resolve_small_us"]
        for store in stores:
            store.close()
    return out


def figures(quick: bool = False) -> list[Figure]:
    got = measure(quick)
    sizes = _sizes(quick)
    small, top = sizes[0], sizes[-1]
    note = " (--quick: top size 10,000)" if quick else ""
    figs: list[Figure] = []
    for size in sizes:
        figs.append(
            Figure(f"resolve median, store of {_label(size)}", got[size]["resolve_us"], "us")
        )
    for size in sizes:
        figs.append(Figure(f"list(), store of {_label(size)}", got[size]["list_ms"], "ms"))
    for size in sizes:
        figs.append(
            Figure(
                f"RSS of a store process (open+list+resolve), {_label(size)}",
                got[size]["rss_mib"],
                "MiB",
            )
        )
    figs.append(Figure(f"fill {_label(top)} rows in one transaction", got[top]["fill_s"], "s"))
    figs.append(
        Figure(
            f"resolve at {_label(top)} vs at {_label(small)}{note}",
            got[top]["resolve_us"],
            "us",
            got[top]["resolve_small_us"],
            f"resolve, store of {_label(small)}",
            "ratio_max",
            1.5,
        )
    )
    return figs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="top size 10,000, fewer calls")
    args = ap.parse_args()
    for fig in figures(args.quick):
        extra = f"  ratio {fig.ratio:.2f}x, target {fig.target}" if fig.ratio is not None else ""
        print(f"{fig.name:60s} {fig.project:10.2f} {fig.unit}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
