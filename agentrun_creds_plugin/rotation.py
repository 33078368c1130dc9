"""Master-key rotation: re-encrypt every record under a new key, beside running writers.

The hazard a rotation must not create is a record committed under a key the key file is about
to drop: that credential would be unreadable once the rotation ends. A process learns of a new
key only when told, so the database tells it. The rotation's steps, in order:

1. the key file (when keys come from one) lists the new key first, the old ones after it;
2. one transaction records the new key's id as the store's (``set_master_key_id``);
3. every record not under the new key is re-encrypted, one transaction each;
4. a last look finds no record left under another key;
5. the key file lists only the new key.

Every write (``create``, ``update``, this module's re-encryptions) reads the store's key id
inside its own write transaction, which holds off step 2 until it commits (SQLite's writer lock;
PostgreSQL's ``FOR SHARE`` read against the rotation's table lock), and encrypts under that key
(reading it from the key file when this process has not got it yet), or is refused with a 503
naming the fix. So a write either commits before step 2, and step 3 re-encrypts it, or after,
already under the new key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from ._threads import to_thread
from .errors import StoreUnavailableError
from .flows import Flow, run
from .store_base import StoreBase

__all__ = ["KeyRotation", "Progress"]

Progress = Callable[[int, int], None]
_LAST_LOOKS = 3
log = logging.getLogger("agentrun_creds_plugin")


class KeyRotation(StoreBase):
    """The store's master-key rotation (a part of ``CredentialStore``)."""

    def _switch_flow(self, key_id: bytes) -> Flow[None]:
        yield "set_master_key_id", (key_id,)

    def _reencrypt_flow(self, name: str, key_id: bytes) -> Flow[bool]:
        current = yield "master_key_id", ()  # first, as every write: one lock order
        if current != key_id:
            raise StoreUnavailableError(
                "master key: another rotation switched the store to key "
                f"{current.hex() if current else '(none)'} while this one ran; run one rotation "
                "at a time, then run rotate-master-key again (every record stays readable)"
            )
        cur = yield "get", (name,)
        if cur is None or self._keys.blob_key_id(cur.blob) == key_id:
            return False
        ad = self._ad(cur.name, cur.version, cur.kind)
        blob = self._keys.encrypt_for(key_id, self._decrypt(cur), ad)
        yield "replace", (replace(cur, blob=blob),)
        return True

    def _left_under_old_keys(self, key_id: bytes) -> list[str]:
        records = self._backend.list_records()
        return [r.name for r in records if self._keys.blob_key_id(r.blob) != key_id]

    def rotate_master_key(self, new_key: str | bytes, *, progress: Progress | None = None) -> int:
        """Re-encrypt every secret under ``new_key``; returns how many records changed.

        Safe beside writers in other processes (see the module docstring): from the moment
        the rotation records the new key, every write anywhere encrypts under it. Records are
        re-encrypted one transaction at a time, so an interruption leaves every record
        readable (by the old or the new key; the key file keeps both) and a re-run finishes
        the job. Versions do not change. Run one rotation at a time. ``progress(done,
        total)`` is called after each record.
        """
        self._keys.begin_rotation(new_key)
        key_id = self._keys.write_id
        run(self._backend, self._switch_flow(key_id))
        records = self._backend.list_records()
        changed = 0
        for done, rec in enumerate(records, 1):
            if self._keys.blob_key_id(rec.blob) != key_id:
                changed += run(self._backend, self._reencrypt_flow(rec.name, key_id))
            if progress is not None:
                progress(done, len(records))
        for _ in range(_LAST_LOOKS):  # only a writer that does not check (an older version)
            left = self._left_under_old_keys(key_id)
            if not left:
                break
            for name in left:
                changed += run(self._backend, self._reencrypt_flow(name, key_id))
        else:
            raise StoreUnavailableError(
                "master key: records keep appearing under an old key (a process running an "
                "older version of agentrun-creds-plugin?); the key file keeps the old keys. "
                "Stop or upgrade that process, then run rotate-master-key again"
            )
        self._keys.finish_rotation()
        log.info("master key rotated: %d record(s) re-encrypted", changed)
        return changed

    async def arotate_master_key(
        self, new_key: str | bytes, *, progress: Progress | None = None
    ) -> int:
        """Async twin of :meth:`rotate_master_key` (runs it in a worker thread)."""
        return await to_thread(self.rotate_master_key, new_key, progress=progress)
