"""Diagnostic: the model clients' per-request key path against the generic ``resolve`` path.

Run: ``.venv/bin/python benchmarks/ab_model_key_path.py [--rounds N]``

Not a ``bench_*`` module (``make bench`` does not run it): on a shared, loaded machine the
absolute figures of ``bench_models.py`` move by tens of µs from one run to the next, so this
times both per-request paths *in one process*, interleaved in random order, against the same
plain client and loopback server:

- ``resolve``: what every model request did before the fast path (and what a resolver without
  ``_use_plaintext`` still does): ``store.resolve`` (read, decrypt, rebuild the kind object),
  the endpoint check, the header rule;
- ``fast``: ``KeyBinding.authorize``: read, decrypt, the key cut out of the plaintext, the
  header set under the spelling learnt once.

Each row is the median per-round difference against a plain client (the added time of a call).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import openai  # noqa: E402
from bench_models import KEY, MESSAGES, start_server  # noqa: E402
from langchain_openai import ChatOpenAI  # noqa: E402

import agentrun_creds_plugin as acp  # noqa: E402
from agentrun_creds_plugin.integrations import _common  # noqa: E402
from agentrun_creds_plugin.integrations.langchain import chat_model  # noqa: E402
from agentrun_creds_plugin.integrations.openai import openai_client  # noqa: E402

FAST = _common.ModelKeyAuth.sync_auth_flow


def _resolve_path(self: Any, request: Any) -> Generator[Any, Any, None]:
    _common.KeyBinding.apply(self.binding.resolve(), request, self._spellings)
    yield request


PATHS: dict[str, Any] = {"resolve": _resolve_path, "fast": FAST}


def _added(plain: Callable[[], object], plugin: Callable[[], object]) -> float:
    if random.random() < 0.5:
        t0 = time.perf_counter()
        plain()
        t1 = time.perf_counter()
        plugin()
        return (time.perf_counter() - t1) - (t1 - t0)
    t0 = time.perf_counter()
    plugin()
    t1 = time.perf_counter()
    plain()
    return (t1 - t0) - (time.perf_counter() - t1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1500)
    args = parser.parse_args()
    random.seed(7)
    proc, origin = start_server()
    tmp = tempfile.TemporaryDirectory()
    try:
        store = acp.CredentialStore.open(
            f"sqlite:///{tmp.name}/ab.db", master_key=acp.generate_master_key()
        )
        base_url = origin + "/v1"
        store.create(
            "bench", acp.ModelServiceCredential(provider="openai", api_key=KEY, base_url=base_url)
        )
        plain_client = openai.OpenAI(api_key=KEY, base_url=base_url)
        client = openai_client(store, "bench")
        plain_llm = ChatOpenAI(model="gpt-4o-mini", api_key=KEY, base_url=base_url)  # type: ignore[arg-type]
        llm = chat_model(store, "bench", model="gpt-4o-mini")
        pairs: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
            "openai_client": (
                lambda: plain_client.chat.completions.create(
                    model="gpt-4o-mini", messages=MESSAGES
                ),
                lambda: client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES),
            ),
            "chat_model": (lambda: plain_llm.invoke("hi"), lambda: llm.invoke("hi")),
        }
        for plain, plugin in pairs.values():  # warm up connections and code paths
            for _ in range(100):
                plain()
                plugin()
        diffs: dict[tuple[str, str], list[float]] = {(p, k): [] for p in pairs for k in PATHS}
        for _ in range(args.rounds):
            for pair, (plain, plugin) in pairs.items():
                for path in random.sample(list(PATHS), len(PATHS)):
                    _common.ModelKeyAuth.sync_auth_flow = PATHS[path]  # type: ignore[method-assign]
                    diffs[pair, path].append(_added(plain, plugin))
        _common.ModelKeyAuth.sync_auth_flow = FAST  # type: ignore[method-assign]
        for (pair, path), values in diffs.items():
            print(f"{pair:14} {path:8} added {statistics.median(values) * 1e6:+7.1f} us")
        store.close()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
