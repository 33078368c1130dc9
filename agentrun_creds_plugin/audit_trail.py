"""The audit trail as the store reads it: filtered queries, newest first."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from ._threads import to_thread
from .errors import InvalidCredentialError
from .info import AuditEvent, Listing
from .records import event_from_row
from .store_base import StoreBase

__all__ = ["AUDIT_ACTIONS", "AuditTrail"]

AUDIT_ACTIONS = (
    "created",
    "updated",
    "enabled",
    "disabled",
    "deleted",
    "attached",
    "detached",
    "used",
    "use_failed",
)


class AuditTrail(StoreBase):
    """The store's audit queries."""

    @staticmethod
    def _audit_filter(
        name: str | None,
        limit: int,
        since: datetime | None,
        action: str | None,
        resource: str | None,
    ) -> dict[str, Any]:
        if action is not None and action not in AUDIT_ACTIONS:
            raise InvalidCredentialError(f"action: unknown; use one of {', '.join(AUDIT_ACTIONS)}")
        if since is not None and since.tzinfo is None:
            raise InvalidCredentialError("since: give an aware datetime (e.g. with timezone.utc)")
        ts = since.timestamp() if since else None
        return {
            "name": name,
            "limit": int(limit),
            "since": ts,
            "action": action,
            "resource": resource,
        }

    def audit(
        self,
        name: str | None = None,
        *,
        limit: int = 100,
        since: datetime | None = None,
        action: str | None = None,
        resource: str | None = None,
    ) -> builtins.list[AuditEvent]:
        """Audit events, newest first; writes this process's queued use events first."""
        query = self._audit_filter(name, limit, since, action, resource)
        self._audit.flush()
        return Listing(event_from_row(r) for r in self._backend.query_audit(**query))

    async def aaudit(
        self,
        name: str | None = None,
        *,
        limit: int = 100,
        since: datetime | None = None,
        action: str | None = None,
        resource: str | None = None,
    ) -> builtins.list[AuditEvent]:
        query = self._audit_filter(name, limit, since, action, resource)
        await to_thread(self._audit.flush)
        return Listing(event_from_row(r) for r in await self._backend.aquery_audit(**query))

    def flush_audit(self) -> None:
        """Write this process's queued use events now."""
        self._audit.flush()
