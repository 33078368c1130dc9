"""Attachments: which resources (models, tools, agents, services) rely on a credential.

A delete is refused while anything is attached, so the store can say who would break. Each
attach or detach that changes something is audited as ``attached`` / ``detached``.
"""

from __future__ import annotations

import builtins
import time

from .errors import InvalidCredentialError
from .flows import Flow, arun, run
from .info import Listing
from .records import audit_row
from .store_base import StoreBase

__all__ = ["Attachments"]


class Attachments(StoreBase):
    """The store's attachment methods (a part of ``CredentialStore``)."""

    def _link(self, name: str, resource_type: str, resource_name: str, on: bool) -> Flow[None]:
        """Attach (``on``) or detach; validated before the flow starts."""
        if on:
            for field, value in (
                ("resource_type", resource_type),
                ("resource_name", resource_name),
            ):
                if not isinstance(value, str) or not value or len(value) > 256:
                    raise InvalidCredentialError(f"{field}: must be a non-empty string (max 256)")
        return self._link_flow(name, resource_type, resource_name, on)

    def _link_flow(self, name: str, resource_type: str, resource_name: str, on: bool) -> Flow[None]:
        self._found(name, (yield "get", (name,)))
        if on:
            changed = yield "attach", (name, resource_type, resource_name, time.time())
        else:
            changed = yield "detach", (name, resource_type, resource_name)
        if changed:
            action = "attached" if on else "detached"
            yield "audit", (audit_row(action, name, f"{resource_type}:{resource_name}"),)

    def attach(self, name: str, resource_type: str, resource_name: str) -> None:
        """Record that a resource uses the credential (idempotent)."""
        run(self._backend, self._link(name, resource_type, resource_name, True))

    def detach(self, name: str, resource_type: str, resource_name: str) -> None:
        """Forget an attachment (idempotent)."""
        run(self._backend, self._link(name, resource_type, resource_name, False))

    async def aattach(self, name: str, resource_type: str, resource_name: str) -> None:
        await arun(self._backend, self._link(name, resource_type, resource_name, True))

    async def adetach(self, name: str, resource_type: str, resource_name: str) -> None:
        await arun(self._backend, self._link(name, resource_type, resource_name, False))

    def attachments(self, name: str) -> builtins.list[tuple[str, str]]:
        """The attached resources as ``(resource_type, resource_name)`` pairs."""
        self._found(name, self._backend.get(name))
        return Listing(self._backend.attachments(name))

    async def aattachments(self, name: str) -> builtins.list[tuple[str, str]]:
        self._found(name, await self._backend.aget(name))
        return Listing(await self._backend.aattachments(name))
