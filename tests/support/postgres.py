"""A throwaway PostgreSQL cluster for the tests, or the server a URL names.

``AGENTRUN_CREDS_TEST_POSTGRES_URL`` points the tests at an existing server. Otherwise the
cluster is made here: ``initdb`` into a temporary folder, started on a free loopback port and
stopped at the end. PostgreSQL refuses to run as root, so as root the cluster belongs to an
unprivileged user (``nobody``) and its commands run through ``runuser``.

Where no server can be had, :func:`unavailable_reason` says why in one line; the tests skip with
it, unless ``AGENTRUN_CREDS_REQUIRE_POSTGRES=1`` (set by ``.ci/run``), which makes it a failure.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PostgresCluster", "find_bin_dir", "free_port"]

# Read at import: the tests' autouse fixture clears AGENTRUN_CREDS_* per test.
EXTERNAL_URL = os.environ.get("AGENTRUN_CREDS_TEST_POSTGRES_URL") or None
REQUIRED = os.environ.get("AGENTRUN_CREDS_REQUIRE_POSTGRES") == "1"
_RUN_AS = "nobody"


def find_bin_dir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: PATH first, then Debian's layout."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    candidates += ["/usr/local/bin", "/usr/local/pgsql/bin"]
    for d in candidates:
        if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists():
            return Path(d)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresCluster:
    """One cluster in ``datadir``; :meth:`stop` / :meth:`start` let fault tests cut it off."""

    bin_dir: Path
    base: Path
    port: int
    user: str = "postgres"
    _as_root: bool = field(default=False, init=False)

    @property
    def datadir(self) -> Path:
        return self.base / "data"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", _RUN_AS, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=timeout, cwd=self.base)

    @classmethod
    def create(cls, bin_dir: Path) -> PostgresCluster:
        base = Path(tempfile.mkdtemp(prefix="agentrun-pg-"))
        cluster = cls(bin_dir, base, free_port())
        if os.geteuid() == 0:
            cluster._as_root = True
            os.chmod(base, 0o755)  # noqa: S103 (the cluster's owner must reach its folder)
            shutil.chown(base, user=_RUN_AS)
        cluster._run(
            "initdb", "-D", str(cluster.datadir), "-U", cluster.user, "-A", "trust",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        with open(cluster.datadir / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {cluster.port}\n"
                f"unix_socket_directories = '{base}'\nfsync = off\n"
                "max_connections = 200\n"
            )
        cluster.start()
        return cluster

    def start(self) -> None:
        self._run(
            "pg_ctl", "-D", str(self.datadir), "-l", str(self.base / "log"), "-w", "-t", "60",
            "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


def start_cluster() -> tuple[PostgresCluster | None, str | None]:
    """A running cluster, or None and the reason none could be had."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        return None, "PostgreSQL tests skipped: no initdb/pg_ctl found (install postgresql)"
    try:
        return PostgresCluster.create(bin_dir), None
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        text = detail.decode(errors="replace").strip().splitlines()[-1:] if detail else []
        return None, f"PostgreSQL tests skipped: cannot start a cluster ({exc}; {' '.join(text)})"


def wait_ready(url: str, timeout: float = 30) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
