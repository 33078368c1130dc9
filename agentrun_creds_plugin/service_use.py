"""What inbound verifiers need of the store beyond ``resolve``.

A verifier audits the *outcome* of a request (accepted, or refused with its reason), not the
mere decryption, so it reads the credential without the ``used`` event that ``resolve`` queues
and then records one event per request, on the same batched queue (written off the request
path). It also needs the previous secret of a rotation grace period, which ``resolve`` never
exposes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .backends.base import Record
from .errors import CredentialError, DecryptionError
from .grace import Grace
from .kinds import CredentialBase
from .store_base import StoreBase

__all__ = ["ServiceUse"]


class ServiceUse(StoreBase):
    """The store's side of inbound verification (see ``inbound.verifier``)."""

    # Provided by CredentialStore: the 401/404 for a missing, disabled or expired record,
    # audited as ``use_failed``.
    _refusal: Callable[[str, Record | None, str | None], CredentialError]

    def _gate(self, name: str, rec: Record | None, resource: str | None) -> Record:
        if (
            rec is None
            or not rec.enabled
            or (rec.expires_at is not None and rec.expires_at <= time.time())
        ):
            raise self._refusal(name, rec, resource)
        return rec

    def service_record(self, name: str, *, resource: str | None = None) -> Record:
        """The fresh record of a usable credential (still encrypted), or its 401/404.

        A verifier compares ``(version, blob)`` with what it derived last time (a JWT
        credential's parsed key set, which holds no secret) and decrypts only on a change.
        """
        return self._gate(name, self._backend.get(name), resource)

    def peek_record(self, name: str) -> Record | None:
        """The fresh record of a usable credential when the backend reads it without waiting
        (:attr:`Backend.inline_reads`), else ``None``; not audited. A verifier on an event
        loop answers the common request with it in one call, and takes the audited
        :meth:`aservice_record` path on ``None``."""
        backend = self._backend
        if not backend.inline_reads:
            return None
        rec = backend.get(name)
        if (
            rec is None
            or not rec.enabled
            or (rec.expires_at is not None and rec.expires_at <= time.time())
        ):
            return None
        return rec

    async def aservice_record(self, name: str, *, resource: str | None = None) -> Record:
        return self._gate(name, await self._backend.aget(name), resource)

    def load_service(
        self, rec: Record, *, resource: str | None = None
    ) -> tuple[CredentialBase, Grace | None]:
        """Decrypt a record from :meth:`service_record`: the credential and its grace period."""
        try:
            return self._load_with_grace(rec)
        except DecryptionError:
            self._audit.put("use_failed", rec.name, resource, "decryption failed")
            raise

    def resolve_service(
        self, name: str, *, resource: str | None = None
    ) -> tuple[CredentialBase, Grace | None]:
        """The credential and its grace period, not audited: the caller records the outcome
        with :meth:`record_service_use`."""
        return self.load_service(self.service_record(name, resource=resource), resource=resource)

    async def aresolve_service(
        self, name: str, *, resource: str | None = None
    ) -> tuple[CredentialBase, Grace | None]:
        rec = await self.aservice_record(name, resource=resource)
        return self.load_service(rec, resource=resource)

    def record_service_use(
        self, name: str, resource: str | None, *, accepted: bool, reason: str | None
    ) -> None:
        """Queue one audit event for a verified request (``used`` or ``use_failed``).

        ``reason`` must hold no secret: verifiers pass their refusal reasons, which never do.
        """
        self._audit.put("used" if accepted else "use_failed", name, resource, reason)
