"""What a failed SQLite statement tells the caller: a 503 that says which of the two it is.

The writer lock held too long, or an I/O failure: retry, or raise the busy timeout. A damaged
file (a page or the schema no longer what was written): restore from a backup. Messages hold
SQLite's own text, which never contains bound values, so never a secret.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import StoreUnavailableError

__all__ = ["store_error", "unavailable"]


def store_error(
    exc: sqlite3.Error | UnicodeDecodeError, path: Path, timeout: float
) -> StoreUnavailableError:
    """The 503 of a failed statement: the lock or I/O (:func:`unavailable`), or a damaged
    file (any other database error, or text that does not decode)."""
    if isinstance(exc, sqlite3.OperationalError) and not _looks_damaged(exc):
        return unavailable(exc, timeout)
    return StoreUnavailableError(
        f"store: {path} is damaged ({exc}); restore it from a backup "
        "(the database and its master key)"
    )


def _looks_damaged(exc: sqlite3.OperationalError) -> bool:
    """An OperationalError that comes from the file's content, not from the lock or I/O:
    a schema that no longer has the table or column it was created with."""
    text = str(exc)
    return "no such table" in text or "no column named" in text or "no such column" in text


def unavailable(exc: sqlite3.Error, timeout: float) -> StoreUnavailableError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreUnavailableError(
            f"store: the SQLite writer lock was held for more than {timeout:g} s; another "
            "process is writing for long (raise AGENTRUN_CREDS_BUSY_TIMEOUT or retry)"
        )
    return StoreUnavailableError(f"store: SQLite error: {text}")
