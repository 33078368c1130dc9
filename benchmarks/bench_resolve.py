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
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.backends.base import Record

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _figures import Figure, median_us


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


def figures(quick: bool = False) -> list[Figure]:
    """Resolve against what a user would do without the store, measured in the same run:
    an ``os.environ`` lookup, and a fresh read of a ``.env`` file with pydantic-settings (a
    ``BaseSettings`` with ``env_file``, constructed per call, as code that re-reads its
    configuration to pick up a rotated key does)."""
    from pydantic import SecretStr
    from pydantic_settings import BaseSettings, SettingsConfigDict

    calls, rounds = (2000, 3) if quick else (10000, 5)
    with tempfile.TemporaryDirectory() as tmp:
        envfile = Path(tmp) / ".env"
        envfile.write_text("BENCH_API_KEY=sk-bench-" + "0" * 32 + "\n")

        class Settings(BaseSettings):
            model_config = SettingsConfigDict(env_file=str(envfile), extra="ignore")
            bench_api_key: SecretStr

        os.environ["AGENTRUN_BENCH_API_KEY"] = "sk-bench-" + "0" * 32
        store = acp.CredentialStore.open(
            f"sqlite:///{Path(tmp) / 's.db'}", master_key=acp.generate_master_key()
        )
        names = _fill(store, 1000)
        target = names[len(names) // 2]
        store.resolve(target)
        cases: dict[str, Callable[[], object]] = {
            "environ": lambda: os.environ["AGENTRUN_BENCH_API_KEY"],
            "dotenv": lambda: Settings().bench_api_key,
            "resolve": lambda: store.resolve(target),
        }
        results: dict[str, float] = {}
        for _ in range(rounds):
            for label, fn in cases.items():
                n = calls // 10 if label == "dotenv" else calls
                value = median_us(fn, n, 1)
                results[label] = min(results.get(label, value), value)
        store.close()
        del os.environ["AGENTRUN_BENCH_API_KEY"]
    res = results["resolve"]
    return [
        Figure(
            "resolve (store of 1,000) vs os.environ lookup",
            res,
            "us",
            results["environ"],
            "os.environ[...]",
        ),
        Figure(
            "resolve (store of 1,000) vs fresh .env read",
            res,
            "us",
            results["dotenv"],
            "pydantic-settings .env read",
            "ratio_min",
            1.0,
        ),
        Figure("resolve median (store of 1,000)", res, "us", kind="value_max", limit=10.0),
    ]


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
                value = median_us(fn, calls, 1)
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
