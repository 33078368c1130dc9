"""Load: threads and async tasks resolving while processes update (docs/reliability.md, "Load").

For a bounded time, threads and asyncio tasks in this process resolve credentials while other
processes compare-and-swap a counter and rewrite a key. No error other than a documented one,
no lost update (every CAS win is counted once), and memory stays flat: RSS and the number of
live Python objects before and after a full round of load, after a warm-up round.

Why a warm-up round, and what the growth used to be: RSS grew 104 -> 166 MiB during the first
round. Two causes, both fixed, not warm-up: the audit queue had no bound (resolvers outpaced
its writer thread, which gets a small share of the GIL: 800,000 queued events in 10 s), and
every new thread's SQLite read connection stayed open after the thread ended (the rounds start
new threads). What the warm-up still fills is bounded: the audit queue up to ``MAX_QUEUED``
events (written before each measurement here), one read connection and row cache per live
thread, the default executor's threads, and the allocator's arenas at their high-water mark.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import multiprocessing
import resource
import sys
import threading
import time
from pathlib import Path

import pytest

import agentrun_creds_plugin as acp

CTX = multiprocessing.get_context("spawn")
SECONDS = 12.0  # how long the updater processes run: a warm-up round and two measured ones


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _trim() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _updater(url: str, key: str, seconds: float, out: multiprocessing.Queue[int]) -> None:
    store = acp.CredentialStore.open(url, master_key=key)
    wins = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        info = store.get("counter")
        try:
            store.update(
                "counter", description=str(int(info.description) + 1), expected_version=info.version
            )
            wins += 1
        except acp.VersionConflictError:
            pass
        store.update("hot", acp.ToolApiKeyCredential(api_key=f"hot-{time.time_ns()}"))
    store.close()
    out.put(wins)


@pytest.mark.slow
def test_resolvers_and_updaters_under_load(
    store: acp.CredentialStore, store_url: str, master_key: str
) -> None:
    store.create("counter", acp.ToolApiKeyCredential(api_key="c"), description="0")
    store.create("hot", acp.ToolApiKeyCredential(api_key="hot-0"))
    for i in range(20):
        store.create(f"k{i}", acp.ToolApiKeyCredential(api_key=f"value-{i}"))
    for _ in range(2000):  # warm up: caches, pools, lazy imports
        store.resolve("k1")
    out: multiprocessing.Queue[int] = CTX.Queue()
    procs = [
        CTX.Process(target=_updater, args=(store_url, master_key, SECONDS, out)) for _ in range(3)
    ]
    for p in procs:
        p.start()
    errors: list[BaseException] = []
    counts = [0] * 8
    stop = 0.0

    def resolver(slot: int) -> None:
        while time.monotonic() < stop:
            try:
                name = f"k{counts[slot] % 20}"
                assert store.resolve(name).api_key.get_secret_value() == f"value-{name[1:]}"  # type: ignore[attr-defined]
                assert store.resolve("hot").api_key.get_secret_value().startswith("hot-")  # type: ignore[attr-defined]
                counts[slot] += 2
            except acp.CredentialError as exc:  # documented; must not happen here
                errors.append(exc)
            except BaseException as exc:
                errors.append(exc)
                return

    async def tasks() -> int:
        done = 0

        async def one() -> None:
            nonlocal done
            while time.monotonic() < stop:
                cred = await store.aresolve("hot")
                assert cred.api_key.get_secret_value().startswith("hot-")  # type: ignore[attr-defined]
                done += 1

        await asyncio.gather(*(one() for _ in range(20)))
        return done

    def load_round() -> int:
        threads = [threading.Thread(target=resolver, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        done = asyncio.run(tasks())
        for t in threads:
            t.join()
        return done

    def settled() -> tuple[int, int]:
        """RSS (KiB) and live Python memory blocks, with the audit queue written out and the
        C allocator's free memory handed back (``malloc_trim``), so RSS counts memory in use
        rather than what glibc keeps after frees (which varies with everything else the
        process ran: about 10 MiB a round after the full suite)."""
        store.flush_audit()
        gc.collect()
        _trim()
        return _rss_kib(), sys.getallocatedblocks()

    stop = time.monotonic() + 3.0
    load_round()  # warm-up: threads, executors, connections, imports
    rss_0, blocks_0 = settled()
    counts[:] = [0] * 8
    started = time.monotonic()
    stop = started + 5.0
    async_done = load_round()
    elapsed = time.monotonic() - started
    resolves = sum(counts) + async_done
    rss_1, blocks_1 = settled()
    stop = time.monotonic() + 3.0
    load_round()  # an extra round: what grows now grows with time, a leak
    rss_2, blocks_2 = settled()
    wins = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert not errors, errors[:3]
    assert int(store.get("counter").description) == sum(wins)  # no lost update
    assert store.audit(action="used", limit=1)  # the uses were written, not dropped
    # Flat: a leak of one object per resolve would be 100,000s of blocks and 10s of MiB.
    blocks = (blocks_0, blocks_1, blocks_2)
    assert max(blocks) - min(blocks) < 20_000, blocks
    rss = (rss_0, rss_1, rss_2)
    # The first full round may still raise the allocator's high-water mark (the audit queue
    # reaching its bound of about 10 MiB of events under this load). RSS on this shared
    # 2-core machine moves by 0-9 MiB a round with the live blocks flat (native allocator
    # and thread-stack noise); a leak of 50 bytes per resolve would add 15 MiB a round.
    assert rss_1 - rss_0 < 32 * 1024 and rss_2 - rss_1 < 16 * 1024, rss
    print(
        f"\nload: {resolves / elapsed:,.0f} resolves/s ({resolves - async_done} thread, "
        f"{async_done} async) for {elapsed:.1f} s beside {sum(wins)} CAS wins in 3 processes; "
        f"RSS {' -> '.join(f'{r / 1024:.1f}' for r in rss)} MiB, "
        f"live blocks {' -> '.join(f'{b:,}' for b in blocks)}"
    )
