"""A writer process for the crash-safety test (tests/test_crash_safety.py), run as a script.

``python crash_worker.py URL LOG WORKER MODE``: opens the store (keys from the key file named
by ``AGENTRUN_CREDS_KEY_FILE``) and loops until killed. Before each write it appends
``begin <op> <name> <stamp>`` to LOG, and ``done <op> <name> <stamp>`` once the call returned,
so the test knows what was committed and what may have been in flight when SIGKILL landed.

Modes: ``write`` creates, updates, deletes its own names (``w<WORKER>-<j>``) and writes audit
batches (uses, then ``flush_audit``); ``rotate`` rotates the master key again and again;
``read`` resolves every credential and flushes audit batches (runs beside ``rotate``).
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import sys
import time

import agentrun_creds_plugin as acp


def value_for(name: str, stamp: int, pad: int) -> str:
    """A self-checking value: a torn or mixed-up value fails :func:`check_value`."""
    digest = hashlib.sha256(f"{name}|{stamp}|{pad}".encode()).hexdigest()
    return f"{name}|{stamp}|{pad}|{digest}|" + "x" * pad


def check_value(name: str, value: str) -> int:
    """The stamp of a complete value of ``name``; ValueError when it is not one."""
    got_name, stamp, pad, digest, tail = value.split("|")
    want = hashlib.sha256(f"{got_name}|{stamp}|{pad}".encode()).hexdigest()
    if got_name != name or digest != want or tail != "x" * int(pad):
        raise ValueError(f"{name}: incomplete or foreign value")
    return int(stamp)


def main() -> None:
    url, log_path, worker, mode = sys.argv[1:5]
    rng = random.Random()
    with open(log_path, "a", buffering=1) as log:
        store = acp.CredentialStore.open(url)
        log.write(f"ready {mode} {worker} 0\n")
        names = [f"w{worker}-{j}" for j in range(6)]
        while True:
            if mode == "rotate":
                stamp = time.time_ns()
                log.write(f"begin rotate - {stamp}\n")
                store.rotate_master_key(acp.generate_master_key())
                log.write(f"done rotate - {stamp}\n")
                continue
            if mode == "read":
                for info in store.list():
                    with contextlib.suppress(acp.CredentialNotFoundError):
                        store.resolve(info.name, resource="crash-reader")
                store.flush_audit()
                continue
            name = rng.choice(names)
            try:
                exists = store.get(name) is not None
            except acp.CredentialNotFoundError:
                exists = False
            stamp = time.time_ns()
            cred = acp.ToolApiKeyCredential(api_key=value_for(name, stamp, rng.randrange(6000)))
            roll = rng.random()
            if not exists:
                log.write(f"begin set {name} {stamp}\n")
                store.create(name, cred, description=str(stamp))
                log.write(f"done set {name} {stamp}\n")
            elif roll < 0.15:
                log.write(f"begin del {name} {stamp}\n")
                store.delete(name, force=True)
                log.write(f"done del {name} {stamp}\n")
            elif roll < 0.35:
                for _ in range(rng.randrange(1, 20)):
                    store.resolve(name, resource=f"crash-{worker}")
                store.flush_audit()  # one audit batch
            else:
                log.write(f"begin set {name} {stamp}\n")
                store.update(name, cred, description=str(stamp))
                log.write(f"done set {name} {stamp}\n")


if __name__ == "__main__":
    main()
