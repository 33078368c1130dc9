"""Benchmark: the PostgreSQL backend against SQLite, measured in the same run.

Prints:
- a warm ``resolve`` (cache trusted, no round trip) on PostgreSQL, and its ratio to the same
  resolve on SQLite (target: within 2x);
- propagation: the time from an update's commit in this process to the first resolve in
  another process that shows it, over 8 processes resolving while this one updates (target:
  p99 <= 50 ms on loopback), with errors and stale reads counted (target: none).

Server: ``AGENTRUN_CREDS_TEST_POSTGRES_URL`` if set, else a throwaway cluster made like the
tests make theirs (needs ``initdb``). Run: ``python benchmarks/bench_postgres.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from _figures import Figure

import agentrun_creds_plugin as acp
from tests.support import postgres as pg

_WATCH = """
import sys, time
import agentrun_creds_plugin as acp
s = acp.CredentialStore.open(sys.argv[1], master_key=sys.argv[2])
last, errors, stale = -1, 0, 0
print("ready", flush=True)
while True:
    try:
        v = int(s.resolve("k").api_key.get_secret_value().split("-")[1])
    except acp.CredentialError:
        errors += 1
        continue
    if v == 0:
        break
    if v < last:
        stale += 1
    if v > last:
        last = v
        print(v, time.time(), flush=True)
    time.sleep(0.001)
print("done", errors, stale, flush=True)
s.close()
"""


def _median_resolve(store: acp.CredentialStore, n: int) -> float:
    store.resolve("k")
    times = []
    for _ in range(n):
        t = time.perf_counter()
        store.resolve("k")
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _measure(quick: bool) -> dict[str, float] | str:
    """The figures of this benchmark, or why they could not be measured."""
    n_resolve, n_updates, n_procs = (2000, 20, 8) if quick else (20000, 100, 8)
    cluster = None
    server = os.environ.get("AGENTRUN_CREDS_TEST_POSTGRES_URL")
    if not server:
        if pg.find_bin_dir() is None:
            return "skipped: no PostgreSQL (initdb not found)"
        cluster, reason = pg.start_cluster()
        if cluster is None:
            return f"skipped: no PostgreSQL ({reason})"
        server = cluster.url
    db = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(server, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{db}"')
        url = f"{server.rpartition('/')[0]}/{db}"
        key = acp.generate_master_key()
        with tempfile.TemporaryDirectory() as tmp:
            lite = acp.CredentialStore.open(f"sqlite:///{Path(tmp) / 'c.db'}", master_key=key)
            lite.create("k", acp.ToolApiKeyCredential(api_key="v-1"))
            t_lite = _median_resolve(lite, n_resolve)
            lite.close()
        store = acp.CredentialStore.open(url, master_key=key)
        store.create("k", acp.ToolApiKeyCredential(api_key="v-1"))
        t_pg = _median_resolve(store, n_resolve)
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _WATCH, url, key], stdout=subprocess.PIPE, text=True
            )
            for _ in range(n_procs)
        ]
        for p in procs:
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "ready"
            assert p.stdout.readline().split()[0] == "1"
        delays: list[float] = []
        for i in range(2, n_updates + 2):
            store.update("k", acp.ToolApiKeyCredential(api_key=f"v-{i}"))
            committed = time.time()
            for p in procs:
                assert p.stdout is not None
                value, seen = p.stdout.readline().split()
                assert int(value) == i, (value, i)
                delays.append(max(0.0, float(seen) - committed))
        store.update("k", acp.ToolApiKeyCredential(api_key="v-0"))
        errors = stale = 0
        for p in procs:
            assert p.stdout is not None
            out = p.stdout.read().split()
            errors += int(out[-2])
            stale += int(out[-1])
            p.wait(timeout=30)
        store.close()
        delays.sort()
        return {
            "lite_us": t_lite * 1e6,
            "pg_us": t_pg * 1e6,
            "p50_ms": delays[len(delays) // 2] * 1e3,
            "p99_ms": delays[min(len(delays) - 1, int(len(delays) * 0.99))] * 1e3,
            "errors": errors,
            "stale": stale,
            "procs": n_procs,
            "updates": n_updates,
        }
    finally:
        with psycopg.connect(server, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        if cluster is not None:
            cluster.destroy()


def figures(quick: bool = False) -> list[Figure]:
    """PostgreSQL resolve against SQLite and propagation delay; one info row if no server."""
    got = _measure(quick)
    if isinstance(got, str):
        return [Figure(f"PostgreSQL: {got}", 0.0, "")]
    n = f"{got['procs']:.0f} processes, {got['updates']:.0f} updates"
    return [
        Figure(
            "PostgreSQL warm resolve vs SQLite",
            got["pg_us"],
            "us",
            got["lite_us"],
            "SQLite resolve",
            "ratio_max",
            2.0,
        ),
        Figure(f"PostgreSQL propagation p50 ({n})", got["p50_ms"], "ms"),
        Figure(
            f"PostgreSQL propagation p99 ({n})", got["p99_ms"], "ms", kind="value_max", limit=50.0
        ),
        Figure(
            "PostgreSQL stale reads + errors in watchers",
            got["stale"] + got["errors"],
            "calls",
            kind="value_max",
            limit=0.0,
        ),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    got = _measure(args.quick)
    if isinstance(got, str):
        sys.exit(got)
    print(f"warm resolve: SQLite {got['lite_us']:.1f} us, PostgreSQL {got['pg_us']:.1f} us, "
          f"ratio {got['pg_us'] / got['lite_us']:.2f}x (target <= 2x)")  # fmt: skip
    print(
        f"propagation to {got['procs']:.0f} processes, {got['updates']:.0f} updates: "
        f"p50 {got['p50_ms']:.1f} ms, p99 {got['p99_ms']:.1f} ms (target p99 <= 50 ms); "
        f"errors {got['errors']:.0f}, stale reads {got['stale']:.0f}"
    )


if __name__ == "__main__":
    main()
