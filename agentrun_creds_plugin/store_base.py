"""What every facet of the store shares: the backend, the key ring, the record envelope.

``CredentialStore`` is assembled from facets (``model_configs``, ``audit_trail`` and the
credential operations in ``store``), each a small module over this base, so no module mixes
every concern of the store.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from ._threads import to_thread
from .audit import AuditQueue
from .backends.base import Backend, Record
from .codec import credential_from_plaintext, credential_to_plaintext
from .crypto import associated_data
from .errors import CredentialNotFoundError, InvalidCredentialError
from .grace import GRACE_SEPARATOR, Grace, split_grace
from .keys import KeyRing
from .kinds import CredentialBase, credential_from_dict
from .settings import Settings

__all__ = ["StoreBase", "kind_of"]


def kind_of(credential: CredentialBase) -> str:
    kind: str = type(credential).model_fields["kind"].default
    return kind


class StoreBase:
    """The backend, the master keys and the audit queue, and how records are sealed."""

    def __init__(
        self, backend: Backend, keys: KeyRing, *, settings: Settings | None = None
    ) -> None:
        self._backend = backend
        self._keys = keys
        self._settings = settings or Settings()
        self._store_id = backend.store_id
        self._closed = False
        # record -> how to decrypt it (key, nonce, ciphertext, associated data): ciphertext and
        # metadata only, used by ``_use_plaintext`` (one entry per credential name)
        self._openers: dict[str, tuple[Record, Any, bytes, bytes, bytes]] = {}
        self._audit = AuditQueue(
            backend.append_use_events,
            interval=self._settings.audit_flush_interval,
            prune=self._prune_audit,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._backend.url!r})"

    @property
    def url(self) -> str:
        return self._backend.url

    @property
    def backend(self) -> Backend:
        return self._backend

    def close(self) -> None:
        """Write queued audit events and release connections. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._audit.close()
        finally:
            self._backend.close()

    async def aclose(self) -> None:
        await to_thread(self.close)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- internals -----------------------------------------------------------------------
    def _ad(self, name: str, version: int, kind: str) -> bytes:
        return associated_data(self._store_id, name, version, kind)

    def _encrypt(self, credential: CredentialBase, name: str, version: int) -> bytes:
        """A ciphertext under the key last seen as the store's (writes confirm it under their
        write lock: ``KeyRing.seal``); used by tools that build rows themselves."""
        plaintext = credential_to_plaintext(credential)
        return self._keys.encrypt(plaintext, self._ad(name, version, kind_of(credential)))

    def _decrypt(self, rec: Record) -> bytes:
        return self._keys.decrypt(
            rec.blob, self._ad(rec.name, rec.version, rec.kind), name=rec.name
        )

    def _load(self, rec: Record, *, validate: bool = False) -> CredentialBase:
        """The credential of ``rec``, decrypted now (the grace period, if any, left out).

        Every ``resolve`` (so every model request) runs this with the CPU caches cold after
        the SDK's work, where each extra call shows: one frame does what ``_load_with_grace``
        does through four. ``validate`` as in ``_load_with_grace``.
        """
        plaintext = self._keys.decrypt(
            rec.blob,
            associated_data(self._store_id, rec.name, rec.version, rec.kind),
            name=rec.name,
        )
        return credential_from_plaintext(
            rec.kind, plaintext.partition(GRACE_SEPARATOR)[0], validate=validate
        )

    def _load_with_grace(
        self, rec: Record, *, validate: bool = False
    ) -> tuple[CredentialBase, Grace | None]:
        """The credential and the previous secret of a rotation grace period (``grace``).

        ``validate`` runs every pydantic validator on the record (``check``); otherwise the
        record, validated when written and authenticated by its tag, is decoded directly.
        """
        plaintext, grace = split_grace(self._decrypt(rec))
        return credential_from_plaintext(rec.kind, plaintext, validate=validate), grace

    def _prune_audit(self) -> None:
        cutoff = time.time() - self._settings.audit_retention_days * 86400
        self._backend.prune_audit(cutoff)

    @staticmethod
    def _coerce(credential: CredentialBase | Mapping[str, Any]) -> CredentialBase:
        if isinstance(credential, CredentialBase):
            return credential
        if isinstance(credential, Mapping):
            return credential_from_dict(credential)
        raise InvalidCredentialError(
            "credential: expected a kind object such as ModelServiceCredential(...) or a dict "
            "with a 'kind' key"
        )

    @staticmethod
    def _description(description: object) -> str:
        if not isinstance(description, str) or len(description) > 1024:
            raise InvalidCredentialError("description: must be a string of at most 1024 characters")
        return description

    @staticmethod
    def _found(name: str, rec: Record | None) -> Record:
        if rec is None:
            raise CredentialNotFoundError(name)
        return rec
