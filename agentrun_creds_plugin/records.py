"""Backend rows turned into what the store returns: metadata views that hold no secret."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from .audit import HOST
from .backends.base import AuditRow, ModelRow, Record
from .info import AuditEvent, CredentialInfo, ModelConfig, from_timestamp

__all__ = ["audit_row", "event_from_row", "info_from_record", "model_from_row"]


def info_from_record(rec: Record, attachments: Sequence[tuple[str, str]]) -> CredentialInfo:
    return CredentialInfo(
        name=rec.name,
        category=rec.category,
        kind=rec.kind,
        enabled=rec.enabled,
        description=rec.description,
        version=rec.version,
        created_at=from_timestamp(rec.created_at),
        updated_at=from_timestamp(rec.updated_at),
        attachments=tuple(attachments),
        preview=rec.preview,
        expires_at=from_timestamp(rec.expires_at) if rec.expires_at is not None else None,
    )


def model_from_row(row: ModelRow) -> ModelConfig:
    return ModelConfig(
        row.name,
        row.credential,
        row.model,
        row.base_url,
        dict(row.params),
        from_timestamp(row.created_at),
    )


def event_from_row(r: AuditRow) -> AuditEvent:
    return AuditEvent(from_timestamp(r.at), r.action, r.name, r.resource, r.reason, r.pid, r.host)


def audit_row(
    action: str, name: str | None, resource: str | None = None, reason: str | None = None
) -> AuditRow:
    """An audit event of this process, now."""
    return AuditRow(time.time(), action, name, resource, reason, os.getpid(), HOST)
