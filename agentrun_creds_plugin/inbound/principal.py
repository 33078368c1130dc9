"""Who called: the result of a successful verification, never holding a secret."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

__all__ = ["Principal"]

InboundKind = Literal["api_key", "jwt", "basic"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The credential that matched and what it says about the caller.

    ``claims`` are the verified JWT claims (empty for other kinds), ``username`` the Basic user,
    ``matched`` whether the current or the previous (grace period) secret matched. The token,
    key or password itself is never kept, so logging a Principal is safe.
    """

    credential: str
    kind: InboundKind
    claims: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    username: str | None = None
    matched: Literal["current", "previous"] = "current"

    @property
    def subject(self) -> str | None:
        """The caller's identity: the JWT ``sub``, the Basic user, or None for an API key."""
        if self.kind == "jwt":
            sub = self.claims.get("sub")
            return str(sub) if sub is not None else None
        return self.username

    @property
    def scopes(self) -> tuple[str, ...]:
        """Scopes granted by a JWT (the ``scope`` string and the ``scp`` list)."""
        return token_scopes(self.claims)

    def __repr__(self) -> str:
        return (
            f"Principal(credential={self.credential!r}, kind={self.kind!r}, "
            f"subject={self.subject!r}, matched={self.matched!r})"
        )


def token_scopes(claims: Mapping[str, Any]) -> tuple[str, ...]:
    """Scopes from ``scope`` (space separated, RFC 8693) and ``scp`` (list or string)."""
    found: list[str] = []
    scope = claims.get("scope")
    if isinstance(scope, str):
        found.extend(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, str):
        found.extend(scp.split())
    elif isinstance(scp, list):
        found.extend(s for s in scp if isinstance(s, str))
    return tuple(found)
