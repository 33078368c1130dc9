"""Copy a whole store into another one (typically an embedded SQLite store into PostgreSQL).

Everything a user sees moves: credentials with their versions, enabled states, descriptions
and timestamps, attachments, model configurations and the audit trail. Ciphertext cannot be
copied as it is, because each one is bound to its store's id, so every secret is decrypted in
memory and encrypted again for the target under the same master keys; nothing is written in
plain text and the report names credentials, never secrets.

A re-run is safe: credentials already in the target at the same version are skipped, a
different version there is reported as a conflict and left alone, and the audit trail is
copied only into a target whose trail holds nothing older than the migration. At the end every
credential is read back from the target and compared with the source (same decrypted payload,
version, kind and enabled state).
"""

from __future__ import annotations

import dataclasses
import hmac
import time
from dataclasses import dataclass, field

from .backends import open_backend
from .backends.base import Record
from .store import CredentialStore

__all__ = ["MigrationReport", "migrate_store"]

_AUDIT_PAGE = 1_000_000


@dataclass
class MigrationReport:
    """What :func:`migrate_store` did; names only."""

    target: str
    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    attachments: int = 0
    models: int = 0
    audit_events: int = 0
    verified: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.conflicts and not self.mismatched


def migrate_store(source: CredentialStore, target_url: str) -> MigrationReport:
    """Copy ``source`` into the store at ``target_url`` (created when needed) and verify it.

    The target is encrypted with the source's master keys, so whoever opens it needs the same
    key (or key file) as for the source.
    """
    src = source.backend
    started = time.time()
    source.audit(limit=1)  # flush this process's queued use events first
    target = CredentialStore(open_backend(target_url, source._settings), source._keys)
    report = MigrationReport(target=target.url)
    try:
        dst = target.backend
        for rec in src.list_records():
            plaintext = source._decrypt(rec)
            ad = target._ad(rec.name, rec.version, rec.kind)
            with dst.transaction() as tx:
                blob = target._keys.encrypt_for(tx.master_key_id(), plaintext, ad)
                moved = dataclasses.replace(rec, blob=blob)
                found = tx.get(rec.name)
                if found is None:
                    tx.insert(moved)
                    report.copied.append(rec.name)
                elif found.version == rec.version and found.kind == rec.kind:
                    report.skipped.append(rec.name)
                else:
                    report.conflicts.append(rec.name)
                    continue
                for resource_type, resource_name in src.attachments(rec.name):
                    report.attachments += tx.attach(rec.name, resource_type, resource_name, started)
        with dst.transaction() as tx:
            for row in src.list_models():
                report.models += tx.insert_model(row)
        older = dst.query_audit(name=None, limit=1, since=None, action=None, resource=None)
        if not older or older[0].at >= started:
            events = src.query_audit(
                name=None, limit=_AUDIT_PAGE, since=None, action=None, resource=None
            )
            dst.append_audit(list(reversed(events)))
            report.audit_events = len(events)
        for rec in src.list_records():
            if rec.name in report.conflicts:
                continue
            got = dst.get(rec.name)
            if got is not None and _same(source, rec, target, got):
                report.verified.append(rec.name)
            else:
                report.mismatched.append(rec.name)
    finally:
        target.close()
    return report


def _same(source: CredentialStore, a: Record, target: CredentialStore, b: Record) -> bool:
    meta = ("name", "kind", "category", "enabled", "version", "description", "created_at")
    if any(getattr(a, f) != getattr(b, f) for f in meta):
        return False
    return hmac.compare_digest(source._decrypt(a), target._decrypt(b))
