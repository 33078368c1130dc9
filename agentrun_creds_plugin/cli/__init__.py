"""The ``agentrun-creds`` command: manage the store from a shell.

``main`` is the group and its options; each concern has a module (credentials, models, audit,
keys) and ``output`` prints tables or ``--json``. Exit codes: 0 ok, 1 a user error with a
one-line message saying what to do next, 2 a usage error.
"""

from __future__ import annotations

import sys

try:
    import click  # noqa: F401
    import rich  # noqa: F401
except ImportError:  # pragma: no cover - the [cli] extra is missing
    sys.exit("agentrun-creds needs the cli extra: pip install 'agentrun-creds-plugin[cli]'")

from .main import cli, main

__all__ = ["cli", "main"]
