"""What the store shows about credentials, models and events: metadata, never a secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from .html_tables import html_table

__all__ = [
    "AuditEvent",
    "CheckReport",
    "CredentialInfo",
    "Listing",
    "ModelConfig",
    "from_timestamp",
]

T = TypeVar("T")

_CRED_COLS = (
    "name",
    "category",
    "kind",
    "status",
    "version",
    "attachments",
    "updated_at",
    "preview",
)
_MODEL_COLS = ("name", "model", "credential", "base_url", "created_at")
_AUDIT_COLS = ("at", "action", "name", "resource", "reason", "pid", "host")


def from_timestamp(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@dataclass(frozen=True)
class CredentialInfo:
    """A credential as ``get``/``list`` show it: a masked preview and no secret."""

    name: str
    category: str
    kind: str
    enabled: bool
    description: str
    version: int
    created_at: datetime
    updated_at: datetime
    attachments: tuple[tuple[str, str], ...]
    preview: str
    expires_at: datetime | None = None

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= datetime.now(UTC)

    @property
    def status(self) -> str:
        """``enabled``, ``disabled`` or ``expired``, as a console would show it."""
        if not self.enabled:
            return "disabled"
        return "expired" if self.expired else "enabled"

    def _repr_html_(self) -> str:
        """A notebook table of the metadata (masked preview, never a secret)."""
        return html_table(("field", "value"), [(c, getattr(self, c)) for c in _CRED_COLS])


@dataclass(frozen=True)
class ModelConfig:
    """A model configuration that uses an existing credential ("Use Existing Credential")."""

    name: str
    credential: str
    model: str
    base_url: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None

    def _repr_html_(self) -> str:
        return html_table(_MODEL_COLS, [[getattr(self, c) for c in _MODEL_COLS]], "model")


@dataclass(frozen=True)
class AuditEvent:
    """One audited action. ``reason`` explains failures and forced deletes; never a secret."""

    at: datetime
    action: str
    name: str | None
    resource: str | None
    reason: str | None
    pid: int
    host: str

    def _repr_html_(self) -> str:
        return html_table(_AUDIT_COLS, [[getattr(self, c) for c in _AUDIT_COLS]], "audit event")


@dataclass(frozen=True)
class CheckReport:
    """What ``check`` found: ``problems`` stop use, ``warnings`` will soon, ``details`` say
    what was seen (how callers present a service credential, the keys a JWKS holds)."""

    name: str
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    details: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        if self.ok and not self.warnings and not self.details:
            return f"{self.name}: ok"
        lines = [f"{self.name}: {'ok' if self.ok else 'problems found'}"]
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [f"  warning: {w}" for w in self.warnings]
        lines += [f"  {d}" for d in self.details]
        return "\n".join(lines)


class Listing(list[T]):
    """A plain list that renders as an HTML table in a notebook (credentials, models, events,
    attachments): what ``list``, ``list_models``, ``audit`` and ``attachments`` return."""

    def _repr_html_(self) -> str:
        if not self:
            return "<p>(none)</p>"
        first = self[0]
        if isinstance(first, CredentialInfo):
            cols: tuple[str, ...] = _CRED_COLS
        elif isinstance(first, ModelConfig):
            cols = _MODEL_COLS
        elif isinstance(first, AuditEvent):
            cols = _AUDIT_COLS
        else:
            return html_table(
                ("type", "name"), [cast("tuple[str, str]", x) for x in self], "attachments"
            )
        return html_table(cols, [[getattr(x, c) for c in cols] for x in self])
