"""Settings, read by pydantic-settings with the prefix ``AGENTRUN_CREDS_``.

Sources, first found wins: arguments to ``CredentialStore.open``, environment variables, files
in a secrets directory (``AGENTRUN_CREDS_SECRETS_DIR``, default ``/run/secrets`` when it exists;
a file is named like the variable, e.g. ``AGENTRUN_CREDS_MASTER_KEYS``), then defaults.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

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


class Settings(BaseSettings):
    """Everything configurable, with the defaults the embedded store uses."""

    model_config = SettingsConfigDict(
        env_prefix="AGENTRUN_CREDS_", case_sensitive=False, extra="ignore"
    )

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


def load_settings() -> Settings:
    """Read settings now (env and secrets directory), so tests and processes see changes."""
    secrets_dir = os.environ.get("AGENTRUN_CREDS_SECRETS_DIR")
    if secrets_dir is None and Path("/run/secrets").is_dir():
        secrets_dir = "/run/secrets"
    if secrets_dir and Path(secrets_dir).is_dir():
        return Settings(_secrets_dir=secrets_dir)
    return Settings()
