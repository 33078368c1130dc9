"""Two processes share one store; a key rotated by one is used by the other on its next call.

The parent creates ``my-llm-key`` and starts a worker process on the same database file (the
store URL and master key travel as environment variables, as they would in production). The
worker resolves the key on every request it handles; the parent rotates the key between two
requests, and the worker's second request already uses the new key, with no restart.

    python examples/shared_store.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.crypto import generate_master_key


def worker() -> None:
    """Handle one request per stdin line, resolving the key each time (prints its last 4 only)."""
    store = acp.CredentialStore.open()  # AGENTRUN_CREDS_URL and AGENTRUN_CREDS_MASTER_KEYS
    for _ in sys.stdin:
        cred = store.resolve("my-llm-key", resource="worker")
        key = cred.api_key.get_secret_value()  # type: ignore[attr-defined]
        print(f"worker {os.getpid()} uses key ...{key[-4:]}", flush=True)
    store.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        master = generate_master_key()
        env = {**os.environ, "AGENTRUN_CREDS_URL": f"sqlite:///{Path(tmp) / 'creds.db'}"}
        env["AGENTRUN_CREDS_MASTER_KEYS"] = master if isinstance(master, str) else master.decode()
        store = acp.CredentialStore.open(env["AGENTRUN_CREDS_URL"], master_key=master)
        store.create(
            "my-llm-key", acp.ModelServiceCredential(provider="openai", api_key="sk-example-0001")
        )
        child = subprocess.Popen(
            [sys.executable, __file__, "worker"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdin and child.stdout
        child.stdin.write("request 1\n")
        child.stdin.flush()
        print(child.stdout.readline().rstrip())
        store.update(
            "my-llm-key", acp.ModelServiceCredential(provider="openai", api_key="sk-example-0002")
        )
        print(
            f"parent {os.getpid()} rotated my-llm-key to version {store.get('my-llm-key').version}"
        )
        child.stdin.write("request 2\n")
        child.stdin.flush()
        print(child.stdout.readline().rstrip())
        child.stdin.close()
        child.wait(timeout=30)
        store.close()


if __name__ == "__main__":
    worker() if sys.argv[1:] == ["worker"] else main()
