"""Benchmark: inbound verification (API key, JWT, JWKS URL) and the ASGI middleware's cost.

Figures, each against a baseline measured in the same run:
- API-key ``verify`` (resolve from SQLite + constant-time check + audit event queued) at the
  median, target <= 10 µs; baseline: a bare ``hmac.compare_digest`` plus a header lookup.
- JWT ``verify`` with a cached key set (static JWKS), within 1.2x of a bare ``jwt.decode`` with
  the key preloaded (same token, same claims checks).
- JWKS fetches per request in steady state (JWKS URL served over HTTPS on loopback), target 0.
- The middleware on a minimal Starlette app served by uvicorn on loopback: time per request
  at saturation (1 / RPS), with the middleware vs. without, target <= 1.11x (the middleware
  costs at most ~10% of the bare app's requests per second). Four child processes each serve
  the bare app, the protected app and a second bare app (the A/A check) on three ports, kept
  up for the whole run; 6 rounds give every app of every child a 0.3 s load window in turn.
  A round's ratio is the mean over the children of the protected windows over the mean of the
  bare ones; the figure is the median round. Whole runs one after the other (the earliest
  method) put a neighbour's burst on one side only (on this 2-vCPU VM the bare app alone
  moved by 15% between runs), and two processes of one bare app differed by 4-9% within a
  run (where each lands in memory and on the CPUs): sharing a process, both sides have the
  same luck.
- The same comparison in the server's CPU time per request (every thread of the uvicorn
  process, read from ``/proc`` over the measured window, Linux only): at saturation a
  one-process server's requests per second are the inverse of it, and unlike wall time it
  does not move when a neighbour on a shared machine takes the CPU for a while.

Run: ``python benchmarks/bench_inbound.py`` (``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _figures import Figure, paired_median_us

import agentrun_creds_plugin as acp

KEY = "k" * 43


@functools.cache
def _private() -> rsa.RSAPrivateKey:
    """Made on first use: the uvicorn server children never need it."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwk() -> dict[str, Any]:
    nums = _private().public_key().public_numbers()
    n = nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")
    return {"kty": "RSA", "kid": "k1", "alg": "RS256", "n": _b64(n), "e": _b64(b"\x01\x00\x01")}


def _token() -> str:
    now = int(time.time())
    claims = {"iss": "https://idp", "aud": "svc", "sub": "u", "exp": now + 3600, "iat": now}
    return pyjwt.encode(claims, _private(), algorithm="RS256", headers={"kid": "k1"})


def _headers(name: bytes, value: bytes) -> list[tuple[bytes, bytes]]:
    """What uvicorn hands an app: a few usual headers and the credential."""
    return [
        (b"host", b"127.0.0.1:8000"),
        (b"user-agent", b"bench/1.0"),
        (b"accept", b"*/*"),
        (name, value),
    ]


def _store(folder: str) -> acp.CredentialStore:
    return acp.CredentialStore.open(
        f"sqlite:///{folder}/bench.db", master_key=acp.generate_master_key()
    )


# -- verification ---------------------------------------------------------------------------
def bench_api_key(calls: int, rounds: int) -> Figure:
    import hmac

    with tempfile.TemporaryDirectory() as folder, _store(folder) as store:
        store.create("svc", acp.ApiKeyCredential(api_key=KEY, header_name="X-Api-Key"))
        verifier = store.verifier("svc")
        raw = _headers(b"x-api-key", KEY.encode())
        expected = KEY.encode()

        def bare() -> bool:
            for name, value in raw:
                if name == b"x-api-key":
                    return hmac.compare_digest(value, expected)
            return False

        def ours() -> object:
            return verifier.verify(raw, resource="route:GET /bench")

        ours()
        project, baseline = paired_median_us(ours, bare, calls, rounds)
    return Figure(
        "API-key verify (resolve + check + audit)",
        project,
        "µs",
        baseline,
        "bare hmac.compare_digest + header lookup",
        "value_max",
        10.0,
    )


def bench_jwt(calls: int, rounds: int) -> Figure:
    with tempfile.TemporaryDirectory() as folder, _store(folder) as store:
        store.create(
            "jwt",
            acp.JwtCredential(jwks={"keys": [_jwk()]}, issuer="https://idp", audience="svc"),
        )
        verifier = store.verifier("jwt")
        token = _token()
        raw = _headers(b"authorization", f"Bearer {token}".encode())
        key = pyjwt.PyJWK(_jwk()).key

        def bare() -> object:
            return pyjwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience="svc",
                issuer="https://idp",
                leeway=30,
                options={"require": ["exp"]},
            )

        def ours() -> object:
            return verifier.verify(raw, resource="route:GET /bench")

        ours()
        project, baseline = paired_median_us(ours, bare, calls, rounds)
    return Figure(
        "JWT verify, cached key set (RS256)",
        project,
        "µs",
        baseline,
        "bare jwt.decode, key preloaded",
        "ratio_max",
        1.2,
    )


def bench_jwks_fetches(requests: int) -> Figure:
    from tests.support.certs import make_test_pki

    body = json.dumps({"keys": [_jwk()]}).encode()
    hits = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits[0] += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with tempfile.TemporaryDirectory() as folder:
        pki = make_test_pki(Path(folder) / "pki")
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.socket = pki.server_ssl_context().wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        old = os.environ.get("SSL_CERT_FILE")
        os.environ["SSL_CERT_FILE"] = str(pki.ca_pem_path)
        try:
            with _store(folder) as store:
                url = f"https://127.0.0.1:{server.server_address[1]}/jwks"
                store.create("jwt", acp.JwtCredential(jwks_url=url, audience="svc"))
                verifier = store.verifier("jwt")
                raw = _headers(b"authorization", f"Bearer {_token()}".encode())
                verifier.verify(raw)  # the first request fetches the set
                before = hits[0]
                for _ in range(requests):
                    verifier.verify(raw)
                per_request = (hits[0] - before) / requests
        finally:
            if old is None:
                os.environ.pop("SSL_CERT_FILE", None)
            else:
                os.environ["SSL_CERT_FILE"] = old
            server.shutdown()
            server.server_close()
    return Figure(
        f"JWKS fetches per request, steady state ({requests} requests)",
        per_request,
        "fetches",
        kind="value_max",
        limit=0.0,
    )


# -- the middleware under uvicorn -------------------------------------------------------------
def build_app(mode: str) -> Any:
    """A minimal Starlette app; ``protected`` wraps it in the middleware (one API key)."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from agentrun_creds_plugin.integrations.asgi import CredentialAuthMiddleware

    async def hello(request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    middleware = []
    if mode == "protected":
        store = acp.CredentialStore.open()
        middleware = [
            Middleware(
                CredentialAuthMiddleware,  # type: ignore[arg-type]
                store=store,
                credentials=["svc"],
                name="bench",
            )
        ]
    return Starlette(routes=[Route("/", hello)], middleware=middleware)


def _serve(modes: list[str]) -> None:
    """Child process: serve one app per mode, each by its own uvicorn server on a free port
    of one event loop, and print the ports once all listen."""
    import uvicorn

    servers = [
        uvicorn.Server(
            uvicorn.Config(
                build_app(mode),
                host="127.0.0.1",
                port=0,
                log_level="error",
                access_log=False,
                lifespan="off",
            )
        )
        for mode in modes
    ]

    async def main() -> None:
        tasks = [asyncio.create_task(server.serve()) for server in servers]
        while not all(server.started for server in servers):
            await asyncio.sleep(0.01)
        ports = [server.servers[0].sockets[0].getsockname()[1] for server in servers]
        print(" ".join(map(str, ports)), flush=True)
        await asyncio.gather(*tasks)

    asyncio.run(main())


async def _load(port: int, seconds: float, connections: int, header: bytes) -> float:
    """Requests per second from ``connections`` keep-alive connections for ``seconds``."""
    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + header + b"\r\n"
    done = [0]
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < stop:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                done[0] += 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return done[0] / (time.perf_counter() - start)


def _cpu_ns(pid: int) -> int | None:
    """CPU time used so far by every thread of ``pid`` (Linux ``schedstat``), or ``None``."""
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total


class _Process:
    """One child process serving the bare app, a second bare app and the protected app, each
    on its own port, kept up for the whole run.

    The sides share the process: two processes of the very same bare app differed by 4-9% in
    one run (where each lands in memory and on the CPUs), as much as the effect measured; in
    one process that luck is the same for both sides. The second bare app is the A/A check.
    """

    MODES = ("bare", "protected", "bare")

    def __init__(self, env: dict[str, str], header: bytes) -> None:
        self.header = header
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", ",".join(self.MODES)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.ports: list[int] = []

    def wait_ready(self) -> None:
        """Read the ports the child listens on, then wait until each answers."""
        assert self.proc.stdout is not None
        self.ports = [int(p) for p in self.proc.stdout.readline().split()]
        for port in self.ports:
            for _ in range(100):
                try:
                    asyncio.run(_load(port, 0.05, 1, self.header))
                    break
                except OSError:
                    time.sleep(0.05)

    def window(self, which: int, seconds: float) -> tuple[float, float | None]:
        """Wall µs per request at saturation on app ``which`` over one window, and the
        process's CPU µs per request (the other apps are idle meanwhile).

        The CPU is read after a pause longer than the audit writer's interval (0.5 s by
        default), so the rows a window queued are written, and counted, within it, not in
        the next window (the bare app's, half the time)."""
        before = _cpu_ns(self.proc.pid)
        start = time.perf_counter()
        rps = asyncio.run(_load(self.ports[which], seconds, 8, self.header))
        elapsed = time.perf_counter() - start
        time.sleep(SETTLE)
        after = _cpu_ns(self.proc.pid)
        cpu = None
        if before is not None and after is not None and rps > 0:
            cpu = (after - before) / 1000 / (rps * elapsed)
        return 1e6 / rps, cpu

    def stop(self) -> None:
        self.proc.kill()  # two uvicorn servers in one process share the signal handlers
        self.proc.wait(timeout=10)


#: Child processes, each serving both sides (and the A/A app).
PROCESSES = 4
#: Seconds after each load window before its CPU time is read: past the audit interval.
SETTLE = 0.6
BARE, PROTECTED, BARE_AGAIN = 0, 1, 2
#: One round: per (child, app), the (wall µs, CPU µs) of its window.
Round = dict[tuple[_Process, int], tuple[float, float | None]]


def bench_middleware(seconds: float, rounds: int, processes: int = PROCESSES) -> list[Figure]:
    """``processes`` children, each serving the bare app, the protected app and a second
    bare app, stay up for the whole run; each round gives every app of every child one short
    load window, in turn (the order reversed every other round), so a neighbour's burst on a
    shared machine lands on all sides alike. A round's ratio is the mean over the children
    of one side's windows over the mean of the bare app's; the figure is the median round."""
    header = f"X-Api-Key: {KEY}\r\n".encode()
    with tempfile.TemporaryDirectory() as folder:
        key = acp.generate_master_key()
        url = f"sqlite:///{folder}/bench.db"
        with acp.CredentialStore.open(url, master_key=key) as store:
            store.create("svc", acp.ApiKeyCredential(api_key=KEY, header_name="X-Api-Key"))
        env = {**os.environ, "AGENTRUN_CREDS_URL": url, "AGENTRUN_CREDS_MASTER_KEYS": key}
        children = [_Process(env, header) for _ in range(processes)]
        apps = [(c, which) for c in children for which in range(len(_Process.MODES))]
        runs: list[Round] = []
        try:
            for child in children:
                child.wait_ready()
                for which in range(len(_Process.MODES)):
                    child.window(which, min(0.5, seconds))  # warm-up
            for i in range(rounds):
                order = apps if i % 2 == 0 else apps[::-1]
                runs.append({app: app[0].window(app[1], seconds) for app in order})
        finally:
            for child in children:
                child.stop()

    def side(r: Round, which: int, field: int) -> float | None:
        """The mean over the children of app ``which``'s ``field``, if all were measured."""
        values = [r[(c, which)][field] for c in children]
        known = [v for v in values if v is not None]
        return statistics.fmean(known) if len(known) == len(values) else None

    def figure(name: str, which: int, field: int, base: str, limit: float | None) -> Figure:
        """App ``which`` against the bare app in ``field`` (0 wall, 1 CPU) of each round."""
        sides = [(side(r, which, field), side(r, BARE, field)) for r in runs]
        known = [(x, y) for x, y in sides if x is not None and y is not None]
        return Figure(
            name,
            statistics.median(x for x, _ in known),
            "µs",
            statistics.median(y for _, y in known),
            base,
            "info" if limit is None else "ratio_max",
            limit,
            paired_ratio=statistics.median(x / y for x, y in known),
        )

    same = "same Starlette app without middleware"
    figures = [figure("middleware: µs per request at saturation (1/RPS)", PROTECTED, 0, same, 1.11)]
    if all(c is not None for r in runs for _, c in r.values()):
        cpu = "middleware: server CPU µs per request at saturation"
        figures.append(figure(cpu, PROTECTED, 1, same, 1.11))
    figures.append(
        figure(
            "A/A: a second bare app against the bare app, µs per request",
            BARE_AGAIN,
            0,
            "the bare app (noise of the comparison)",
            None,
        )
    )
    return figures


def figures(quick: bool = False) -> list[Figure]:
    calls, rounds = (500, 3) if quick else (2000, 5)
    middleware = bench_middleware(0.3, 2 if quick else 6)
    return [
        bench_api_key(calls, rounds),
        bench_jwt(calls // 2, rounds),
        bench_jwks_fetches(200 if quick else 2000),
        *middleware,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # comma-separated modes
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve.split(","))
        return
    rows = figures(args.quick)
    print(f"{'figure':58} {'ours':>10} {'baseline':>10} {'ratio':>7} {'target':>12}  result")
    for f in rows:
        ratio = f"{f.ratio:.2f}x" if f.ratio is not None else ""
        base = f"{f.baseline:.2f}" if f.baseline is not None else ""
        verdict = {True: "ok", False: "MISSED", None: ""}[f.passed]
        print(
            f"{f.name:58} {f.project:10.2f} {base:>10} {ratio:>7} {f.target:>12}  {verdict}"
            f"  ({f.unit}; baseline: {f.baseline_name})"
        )
    wall = next(f for f in rows if f.name.startswith("middleware: µs"))
    assert wall.baseline is not None and wall.ratio is not None
    print(
        f"uvicorn on loopback, 8 keep-alive connections: bare {1e6 / wall.baseline:.0f} req/s, "
        f"with middleware {1e6 / wall.project:.0f} req/s "
        f"({100 * (1 - 1 / wall.ratio):.1f}% fewer, paired)"
    )


if __name__ == "__main__":
    main()
