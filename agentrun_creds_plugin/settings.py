"""Settings, read from variables with the prefix ``AGENTRUN_CREDS_`` (case-insensitive).

Sources, first found wins: arguments to ``CredentialStore.open``, environment variables, files
in a secrets directory (``AGENTRUN_CREDS_SECRETS_DIR``, default ``/run/secrets`` when it exists;
a file is named like the variable, e.g. ``AGENTRUN_CREDS_MASTER_KEYS``), then defaults.

The rules are pydantic-settings' (``env_prefix``, ``case_sensitive=False``, ``extra="ignore"``,
``secrets_dir``), read here by a few lines over a plain pydantic model: importing
pydantic-settings took longer than the rest of a cold start (open the store, first resolve),
which serverless agents pay on every start.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr

_PREFIX = "agentrun_creds_"

__all__ = ["Settings", "default_db_path", "load_settings"]


def default_db_path() -> Path:
    """The per-user default database: the platform's data folder, like other CLI tools."""
    if sys.platform == "win32":  # pragma: no cover - not exercised on the CI machine
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":  # pragma: no cover
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "agentrun-creds" / "credentials.db"


def _from_environment(names: frozenset[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in os.environ.items():
        lowered = key.lower()
        if lowered.startswith(_PREFIX) and lowered[len(_PREFIX) :] in names:
            found[lowered[len(_PREFIX) :]] = value
    return found


def _from_secrets_dir(folder: str | Path | None, names: frozenset[str]) -> dict[str, str]:
    if folder is None:
        return {}
    found: dict[str, str] = {}
    for path in Path(folder).iterdir():
        lowered = path.name.lower()
        if lowered.startswith(_PREFIX) and lowered[len(_PREFIX) :] in names and path.is_file():
            found[lowered[len(_PREFIX) :]] = path.read_text().strip()
    return found


class Settings(BaseModel):
    """Everything configurable, with the defaults the embedded store uses.

    ``Settings()`` reads the environment (and ``_secrets_dir``, a folder of files named like
    the variables); keyword arguments win over both.
    """

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True, defer_build=True)

    def __init__(self, /, _secrets_dir: str | Path | None = None, **values: Any) -> None:
        names = frozenset(type(self).model_fields)
        merged: dict[str, Any] = _from_secrets_dir(_secrets_dir, names)
        merged.update(_from_environment(names))
        merged.update(values)
        super().__init__(**merged)

    url: str | None = None
    """``sqlite:///relative.db``, ``sqlite:////absolute.db`` or ``postgresql://...``."""
    master_keys: SecretStr | None = None
    """Comma-separated url-safe base64 keys: the first encrypts, all decrypt."""
    key_file: Path | None = None
    """A file holding the master key(s), one per line."""
    busy_timeout: float = 10.0
    """Seconds a writer waits for the SQLite lock before ``StoreUnavailableError``."""
    audit_retention_days: float = 90.0
    """Audit events older than this are pruned."""
    audit_flush_interval: float = 0.5
    """Seconds between background writes of queued use events (at most one second)."""
    ca_file: Path | None = None
    """Extra CA bundle for https fetches (JWKS URLs), on top of the system trust store."""


#: Fields whose value is the text as given (wrapped in ``SecretStr`` or ``Path``): reading
#: them needs no validator, so opening a store need not build ``Settings``' schema.
_TEXT_FIELDS: dict[str, Callable[[str], Any]] = {
    "url": str,
    "master_keys": SecretStr,
    "key_file": Path,
    "ca_file": Path,
}


def _settings_of(found: dict[str, str]) -> Settings:
    """``Settings`` holding ``found``, validated by pydantic only when it needs validating.

    Building a pydantic schema on first use costs milliseconds (and pydantic's plugin scan of
    every installed package's metadata), which a cold start pays on every ``open``. The common
    case, only text fields (URL, keys, key file) or none, is converted here exactly as pydantic
    would (``tests/test_settings.py`` compares both); a number still goes through validation,
    so a bad ``AGENTRUN_CREDS_BUSY_TIMEOUT`` is still refused the same way.
    """
    if not found.keys() <= _TEXT_FIELDS.keys():
        return Settings(**found)
    return Settings.model_construct(**{k: _TEXT_FIELDS[k](v) for k, v in found.items()})


def load_settings() -> Settings:
    """Read settings now (env and secrets directory), so tests and processes see changes."""
    secrets_dir = os.environ.get("AGENTRUN_CREDS_SECRETS_DIR")
    if secrets_dir is None and Path("/run/secrets").is_dir():
        secrets_dir = "/run/secrets"
    names = frozenset(Settings.model_fields)
    found: dict[str, str] = {}
    if secrets_dir and Path(secrets_dir).is_dir():
        found.update(_from_secrets_dir(secrets_dir, names))
    found.update(_from_environment(names))
    return _settings_of(found)
