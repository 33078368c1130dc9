"""Cost of a per-request key on model calls, against the project's loopback LLM server.

Run: ``.venv/bin/python benchmarks/bench_models.py [--rounds N]``

Pairs, each timed call against call, interleaved in random order within every round so that
drift (CPU frequency, the server, the page cache) hits both sides alike:

- ``openai``: ``client.chat.completions.create`` through ``openai_client(store, name)`` vs a
  plain ``openai.OpenAI(api_key=...)``;
- ``ChatOpenAI``: ``chat_model(store, name).invoke`` vs a plain ``ChatOpenAI(api_key=...)``;
- ``anthropic`` (informational): ``anthropic_client`` vs a plain ``anthropic.Anthropic``;
- ``A/A`` (informational): two identical plain ``openai.OpenAI`` clients, each on its own
  connection as the pairs above are; its median difference is the noise floor of the
  figures (a few µs on a quiet machine), so a figure within that of its target is a tie.

The server runs in a subprocess (its threads would otherwise share our GIL) and accepts a
fixed key, so the server's own work is identical for both sides. The store is a real SQLite
store in a temporary folder; every plugin call resolves (decrypts) the key. Prints the median
of each side, the ratio plugin/plain and the median per-round difference, then the figures:
the added time of a call (target <= 30 µs at the median) and the cost of building a
``chat_model`` against a plain ``ChatOpenAI`` / ``ChatAnthropic`` (target within 2x).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import anthropic  # noqa: E402
import openai  # noqa: E402
from _figures import Figure, median_us  # noqa: E402  # the module run.py imports
from langchain_anthropic import ChatAnthropic  # noqa: E402
from langchain_openai import ChatOpenAI  # noqa: E402

import agentrun_creds_plugin as acp  # noqa: E402
from agentrun_creds_plugin.integrations.anthropic import anthropic_client  # noqa: E402
from agentrun_creds_plugin.integrations.langchain import chat_model  # noqa: E402
from agentrun_creds_plugin.integrations.openai import openai_client  # noqa: E402

OVERHEAD_LIMIT_US = 30.0
BUILD_LIMIT = 2.0

KEY = "sk-bench-0123456789abcdef0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-bench-0123456789abcdef0123456789"
MESSAGES: Any = [{"role": "user", "content": "hi"}]

SERVER = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from tests.support.llm_server import LLMServer
with LLMServer(accepted_keys={{{KEY!r}, {ANTHROPIC_KEY!r}}}, default_text="ok") as server:
    print(server.origin, flush=True)
    sys.stdin.read()
"""


def start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    origin = proc.stdout.readline().strip()
    if not origin.startswith("http"):
        proc.kill()
        raise RuntimeError("the loopback server did not start")
    return proc, origin


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(
    label: str, plain: Callable[[], object], plugin: Callable[[], object], rounds: int
) -> tuple[float, float, float]:
    """(plain median s, plugin median s, median per-round difference s); prints a line."""
    for _ in range(max(20, rounds // 20)):  # warm up connections, caches, code paths
        plain()
        plugin()
    a: list[float] = []
    b: list[float] = []
    diffs: list[float] = []
    for _ in range(rounds):
        if random.random() < 0.5:  # order only
            ta = timed(plain)
            tb = timed(plugin)
        else:
            tb = timed(plugin)
            ta = timed(plain)
        a.append(ta)
        b.append(tb)
        diffs.append(tb - ta)
    ma, mb = statistics.median(a), statistics.median(b)
    ratio = mb / ma
    print(
        f"{label:<11} plain {ma * 1e6:8.1f} us   plugin {mb * 1e6:8.1f} us   "
        f"ratio {ratio:6.4f}   median diff {statistics.median(diffs) * 1e6:+7.1f} us   "
        f"(n={rounds})"
    )
    return ma, mb, statistics.median(diffs)


def build_cost(fn: Callable[[], object], calls: int) -> float:
    """Median µs to build one client, best of 5 rounds."""
    fn()
    return median_us(fn, calls=calls, rounds=5)


def resolve_cost(
    store: acp.CredentialStore, plain_call: Callable[[], object], rounds: int
) -> tuple[float, float]:
    """Median cost of one ``store.resolve`` right after a plain call, and immediately after."""
    cold: list[float] = []
    warm: list[float] = []
    for _ in range(rounds):
        plain_call()
        cold.append(timed(lambda: store.resolve("bench")))
        warm.append(timed(lambda: store.resolve("bench")))
    return statistics.median(cold), statistics.median(warm)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1500)
    args = parser.parse_args()
    figs = run(args.rounds)
    for fig in figs:
        verdict = {True: "pass", False: "SHORT", None: ""}[fig.passed]
        print(
            f"{fig.name:48} {fig.project:9.1f} {fig.unit} vs {fig.baseline_name} "
            f"{fig.baseline if fig.baseline is not None else float('nan'):9.1f}  "
            f"{fig.target:>10} {verdict}"
        )
    return 1 if any(f.passed is False for f in figs) else 0


def figures(quick: bool = False) -> list[Figure]:
    """The figures of this benchmark (see ``benchmarks/_figures.py``)."""
    return run(300 if quick else 1500)


def run(rounds: int) -> list[Figure]:
    random.seed(7)

    proc, origin = start_server()
    tmp = tempfile.TemporaryDirectory()
    try:
        store = acp.CredentialStore.open(
            f"sqlite:///{tmp.name}/bench.db", master_key=acp.generate_master_key()
        )
        base_url = origin + "/v1"
        store.create(
            "bench", acp.ModelServiceCredential(provider="openai", api_key=KEY, base_url=base_url)
        )
        store.create(
            "bench-claude",
            acp.ModelServiceCredential(
                provider="anthropic", api_key=ANTHROPIC_KEY, base_url=origin
            ),
        )

        plain_client = openai.OpenAI(api_key=KEY, base_url=base_url)
        plugin_client = openai_client(store, "bench")
        plain_llm = ChatOpenAI(model="gpt-4o-mini", api_key=KEY, base_url=base_url)  # type: ignore[arg-type]
        plugin_llm = chat_model(store, "bench", model="gpt-4o-mini")
        plain_claude = anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=origin)
        plugin_claude = anthropic_client(store, "bench-claude")

        def create(client: openai.OpenAI) -> Callable[[], object]:
            return lambda: client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

        def invoke(llm: Any) -> Callable[[], object]:
            return lambda: llm.invoke("hi")

        def message(client: anthropic.Anthropic) -> Callable[[], object]:
            return lambda: client.messages.create(
                model="claude-haiku-4-5", max_tokens=16, messages=MESSAGES
            )

        started = time.perf_counter()
        print(f"python {sys.version.split()[0]}, openai {openai.__version__}, loopback {origin}")
        o_plain, _, o_diff = compare("openai", create(plain_client), create(plugin_client), rounds)
        l_plain, _, l_diff = compare("ChatOpenAI", invoke(plain_llm), invoke(plugin_llm), rounds)
        compare("anthropic", message(plain_claude), message(plugin_claude), rounds // 2)
        twin = openai.OpenAI(api_key=KEY, base_url=base_url)
        _, _, aa_diff = compare("A/A", create(plain_client), create(twin), rounds // 2)
        cold, warm = resolve_cost(store, create(plain_client), rounds // 3)
        print(
            f"store.resolve alone: {cold * 1e6:.1f} us right after a plain call (cold, what each "
            f"plugin request pays), {warm * 1e6:.1f} us back-to-back (warm)"
        )
        calls = 50 if rounds < 1000 else 200
        b_plain = build_cost(
            lambda: ChatOpenAI(model="gpt-4o-mini", api_key=KEY, base_url=base_url),  # type: ignore[arg-type]
            calls,
        )
        b_plugin = build_cost(lambda: chat_model(store, "bench", model="gpt-4o-mini"), calls)
        a_plain = build_cost(
            lambda: ChatAnthropic(model="claude-haiku-4-5", api_key=ANTHROPIC_KEY, base_url=origin),  # type: ignore[call-arg,arg-type]
            calls,
        )
        a_plugin = build_cost(
            lambda: chat_model(store, "bench-claude", model="claude-haiku-4-5"), calls
        )
        c_plain = build_cost(lambda: openai.OpenAI(api_key=KEY, base_url=base_url), calls)
        c_plugin = build_cost(lambda: openai_client(store, "bench"), calls)
        print(f"total {time.perf_counter() - started:.1f} s")
        store.close()
        return [
            Figure(
                "model call added time: openai_client (median)",
                o_diff * 1e6,
                "us",
                baseline=o_plain * 1e6,
                baseline_name="plain openai.OpenAI call",
                kind="value_max",
                limit=OVERHEAD_LIMIT_US,
            ),
            Figure(
                "model call added time: chat_model ChatOpenAI (median)",
                l_diff * 1e6,
                "us",
                baseline=l_plain * 1e6,
                baseline_name="plain ChatOpenAI.invoke",
                kind="value_max",
                limit=OVERHEAD_LIMIT_US,
            ),
            Figure(
                "model call A/A noise: plain vs plain (median)",
                aa_diff * 1e6,
                "us",
                baseline=o_plain * 1e6,
                baseline_name="plain openai.OpenAI call",
            ),
            Figure(
                "build chat_model (openai)",
                b_plugin,
                "us",
                baseline=b_plain,
                baseline_name="plain ChatOpenAI(...)",
                kind="ratio_max",
                limit=BUILD_LIMIT,
            ),
            Figure(
                "build chat_model (anthropic)",
                a_plugin,
                "us",
                baseline=a_plain,
                baseline_name="plain ChatAnthropic(...)",
                kind="ratio_max",
                limit=BUILD_LIMIT,
            ),
            Figure(
                "build openai_client",
                c_plugin,
                "us",
                baseline=c_plain,
                baseline_name="plain openai.OpenAI(...)",
            ),
        ]
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)
        tmp.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
