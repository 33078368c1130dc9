"""Master keys: where they come from, the key file of the embedded default, rotation.

Sources, first found wins: keys passed to ``CredentialStore.open(master_key=...)`` (one or a
list), ``AGENTRUN_CREDS_MASTER_KEYS`` (comma-separated, also as a file in the secrets
directory), the file named by ``AGENTRUN_CREDS_KEY_FILE``, and with none of those a key file
created beside the database (mode 0600). The first key encrypts; all of them decrypt.

A :class:`KeyRing` is what the store holds: the keys plus, when they came from a file, that
file, so that a key another process rotated in is picked up from the file on the next decrypt
that needs it instead of failing.

Which key encrypts is decided by the database, not by each process: a rotation records the new
key's id in the store (the ``master_key_id`` meta value) in a transaction of its own before it
re-encrypts anything, and every write checks that id inside its own write transaction
(:meth:`KeyRing.seal`). A process that has not heard of the rotation yet therefore re-encrypts
under the new key (read from the key file) before it commits, or is refused with a retryable
503 when it cannot have that key; it never commits a record under a key the rotation is about
to drop. See docs/reliability.md ("Master-key rotation beside writers").
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .crypto import MasterKeys, generate_master_key
from .errors import DecryptionError, InvalidCredentialError, StoreUnavailableError
from .settings import Settings

__all__ = ["KeyRing", "create_key_file", "read_key_file", "write_key_file"]

log = logging.getLogger("agentrun_creds_plugin")

KeyInput = str | bytes | Sequence[str | bytes]


def read_key_file(path: Path) -> list[str]:
    """Keys in a key file: one per line (or comma-separated), first encrypts."""
    text = path.read_text()
    return [k.strip() for k in text.replace(",", "\n").splitlines() if k.strip()]


def _write_new(path: Path, text: str) -> Path:
    """Write ``text`` to a fresh temporary file beside ``path`` (mode 0600, fsynced)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    return tmp


def write_key_file(path: Path, keys: Iterable[str]) -> None:
    """Replace a key file atomically (write, fsync, rename), mode 0600."""
    tmp = _write_new(path, "\n".join(keys) + "\n")
    try:
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def create_key_file(path: Path) -> tuple[list[str], bool]:
    """Create a key file with a fresh key unless one exists; returns (keys, created).

    The file is written under a temporary name and hard-linked into place, which fails when
    the name exists: of two processes racing on a fresh store, one wins and both read its key.
    """
    if path.exists():
        return read_key_file(path), False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_new(path, generate_master_key() + "\n")
    try:
        try:
            os.link(tmp, path)
            created = True
        except FileExistsError:
            created = False
    finally:
        tmp.unlink(missing_ok=True)
    return read_key_file(path), created


def _as_strings(keys: Sequence[str | bytes]) -> list[str]:
    return [k if isinstance(k, str) else k.decode() for k in keys]


class KeyRing:
    """The store's master keys, and the key file they live in (if any)."""

    __slots__ = ("_file", "_keys", "_strings", "_write_id")

    def __init__(self, keys: Sequence[str | bytes], *, key_file: Path | None = None) -> None:
        self._keys = MasterKeys(keys)
        self._strings = _as_strings(keys)
        self._file = key_file
        # The key new ciphertexts are made with: the primary until the store says otherwise.
        self._write_id = self._keys.primary_id

    def __repr__(self) -> str:
        return f"KeyRing({self._keys!r}, key_file={self._file})"

    @classmethod
    def load(
        cls, master_key: KeyInput | None, settings: Settings, default_key_file: str | None
    ) -> KeyRing:
        """Find the keys (see the module docstring); 503 when there are none to be had."""
        if master_key is not None:
            keys = [master_key] if isinstance(master_key, str | bytes) else list(master_key)
            return cls(keys)
        if settings.master_keys is not None:
            parts = settings.master_keys.get_secret_value().split(",")
            return cls([k.strip() for k in parts if k.strip()])
        if settings.key_file is not None:
            path = settings.key_file.expanduser()
            try:
                return cls(read_key_file(path), key_file=path)
            except OSError as exc:
                raise StoreUnavailableError(
                    f"key file {path}: cannot read it ({exc.strerror}); check "
                    "AGENTRUN_CREDS_KEY_FILE"
                ) from None
        if default_key_file is None:
            raise StoreUnavailableError(
                "master key: none configured; set AGENTRUN_CREDS_MASTER_KEYS or "
                "AGENTRUN_CREDS_KEY_FILE (a shared store has no default key file)"
            )
        path = Path(default_key_file)
        try:
            created_keys, created = create_key_file(path)
        except OSError as exc:
            raise StoreUnavailableError(
                f"key file {path}: cannot create it ({exc.strerror}); choose a writable "
                "folder or set AGENTRUN_CREDS_KEY_FILE"
            ) from None
        if created:
            log.warning(
                "created a new master key file at %s (mode 0600); back it up: without it "
                "the store cannot be decrypted",
                path,
            )
        return cls(created_keys, key_file=path)

    @property
    def key_file(self) -> Path | None:
        return self._file

    @property
    def primary_id(self) -> bytes:
        return self._keys.primary_id

    blob_key_id = staticmethod(MasterKeys.blob_key_id)

    @property
    def write_id(self) -> bytes:
        """The id of the key new ciphertexts are made with (last seen as the store's key)."""
        return self._write_id

    def encrypt(self, plaintext: bytes, ad: bytes) -> bytes:
        """Encrypt under the key last seen as the store's; :meth:`seal` confirms it."""
        return self._keys.encrypt(plaintext, ad, kid=self._write_id)

    def seal(self, current: bytes | None, blob: bytes, plaintext: bytes, ad: bytes) -> bytes:
        """``blob`` if it is under the store's key ``current``, else ``plaintext`` re-encrypted.

        Called inside the write transaction with ``current`` just read there (see
        :meth:`encrypt_for`), so an optimistic ciphertext made before the lock is kept when
        no rotation intervened.
        """
        if current is None or MasterKeys.blob_key_id(blob) == current:
            return blob
        return self.encrypt_for(current, plaintext, ad)

    def encrypt_for(self, current: bytes | None, plaintext: bytes, ad: bytes) -> bytes:
        """Encrypt under the store's key ``current`` (None: never rotated, the ring's own).

        A key this ring lacks is looked for in the key file (another process rotated it in);
        without it the write is refused (503, nothing committed) rather than made under a key
        that the rotation is about to drop.
        """
        if current is not None and current != self._write_id:
            if current not in self._keys.ids and not self._reload(current):
                where = f"the key file {self._file}" if self._file is not None else "its keys"
                raise StoreUnavailableError(
                    f"master key: the store is now encrypted with key {current.hex()}, which "
                    f"this process does not have in {where}; nothing was written. Give this "
                    "process the new master key (AGENTRUN_CREDS_MASTER_KEYS, "
                    "AGENTRUN_CREDS_KEY_FILE or master_key=) and retry"
                )
            self._write_id = current
        return self._keys.encrypt(plaintext, ad, kid=self._write_id)

    def decrypt(self, blob: bytes, ad: bytes, *, name: str | None = None) -> bytes:
        """Decrypt; a key id this ring lacks is looked for once in the key file."""
        try:
            return self._keys.decrypt(blob, ad, name=name)
        except DecryptionError:
            if not self._reload(MasterKeys.blob_key_id(blob)):
                raise
            return self._keys.decrypt(blob, ad, name=name)

    def opener(self, blob: bytes) -> tuple[Any, bytes, bytes] | None:
        """:meth:`MasterKeys.opener` of the current keys (after a :meth:`decrypt` of ``blob``
        succeeded, so a key picked up from the key file is already in)."""
        return self._keys.opener(blob)

    def _reload(self, wanted: bytes) -> bool:
        """Another process rotated the master key: pick the new key up from the key file."""
        if self._file is None or wanted in self._keys.ids:
            return False
        try:
            strings = read_key_file(self._file)
            fresh = MasterKeys(strings)
        except (OSError, InvalidCredentialError):
            return False
        if wanted not in fresh.ids:
            return False
        # Keys this process held stay readable: a record read just before a rotation
        # re-encrypted it may still be under one of them.
        self._keys, self._strings = fresh.then(self._keys), strings
        if self._write_id not in fresh.ids:
            self._write_id = fresh.primary_id
        return True

    def begin_rotation(self, new_key: str | bytes) -> None:
        """Make ``new_key`` the primary, keeping the old keys readable (also in the file)."""
        new_keys = self._keys.with_primary(new_key)
        new_string = _as_strings([new_key])[0]
        strings = [new_string, *(k for k in self._strings if k != new_string)]
        if self._file is not None:
            write_key_file(self._file, strings)
        self._keys, self._strings = new_keys, strings
        self._write_id = new_keys.primary_id

    def finish_rotation(self) -> None:
        """Every record is under the primary key: the key file lists only that key.

        The old keys stay usable in this process's memory (harmless: no write commits under
        them any more, :meth:`seal` sees to that).
        """
        primary = self._strings[:1]
        if self._file is not None:
            write_key_file(self._file, primary)
        self._strings = primary
