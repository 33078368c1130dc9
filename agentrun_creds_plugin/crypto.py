"""The AES-256-GCM envelope and the master keys.

One recipe, as Fernet has one: AES-256-GCM with a fresh random 96-bit nonce per write, and
associated data that binds a ciphertext to its row (store id, credential name, version, kind),
so a record copied onto another row, or replayed at another version, does not decrypt.

Envelope layout (bytes)::

    0x01 | key id (8) | nonce (12) | ciphertext + tag

The key id is derived from the key (a truncated SHA-256 under a fixed label), so records say
which master key made them and a list of keys can decrypt a store mid-rotation. Every failure
(unknown key id, wrong key, a flipped byte, a moved record) raises the one ``DecryptionError``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag

try:
    # The primitive itself, without the cipher modules the public path imports first (about
    # 4 ms of every cold start); ``cryptography.hazmat.primitives.ciphers.aead.AESGCM`` is this
    # very class (tests/test_import_light.py checks), and the fallback covers a relayout.
    from cryptography.hazmat.bindings._rust import openssl as _openssl

    AESGCM = _openssl.aead.AESGCM
except (ImportError, AttributeError):  # pragma: no cover - another cryptography layout
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import DecryptionError, InvalidCredentialError

__all__ = [
    "MasterKeys",
    "associated_data",
    "generate_master_key",
    "key_id",
    "parse_master_key",
]

_VERSION = b"\x01"
_KID_LEN = 8
_NONCE_LEN = 12
_HEADER_LEN = 1 + _KID_LEN + _NONCE_LEN


def generate_master_key() -> str:
    """A new random 32-byte master key, url-safe base64 encoded (44 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def parse_master_key(key: str | bytes) -> bytes:
    """Decode a url-safe base64 master key into its 32 raw bytes (422 when malformed)."""
    text = key.decode() if isinstance(key, bytes) else key
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise InvalidCredentialError(
            "master key: not a url-safe base64 encoding of 32 bytes; make one with "
            "agentrun_creds_plugin.generate_master_key()"
        )
    return raw


def key_id(raw_key: bytes) -> bytes:
    """The 8-byte id of a raw master key (public: it reveals nothing useful about the key)."""
    return hashlib.sha256(b"agentrun-creds key id\x00" + raw_key).digest()[:_KID_LEN]


def associated_data(store_id: str, name: str, version: int, kind: str) -> bytes:
    """What a ciphertext is bound to: moving it to another row or version breaks the tag."""
    return f"agentrun-creds/v1\x00{store_id}\x00{name}\x00{version}\x00{kind}".encode()


class MasterKeys:
    """An ordered list of master keys: the first encrypts, all decrypt (itsdangerous-style)."""

    __slots__ = ("_aead", "_primary")

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise InvalidCredentialError("master keys: at least one key is needed")
        self._aead: dict[bytes, AESGCM] = {}
        primary: bytes | None = None
        for key in keys:
            raw = key if isinstance(key, bytes) and len(key) == 32 else parse_master_key(key)
            kid = key_id(raw)
            self._aead.setdefault(kid, AESGCM(raw))
            if primary is None:
                primary = kid
        assert primary is not None
        self._primary = primary

    def __repr__(self) -> str:
        return f"MasterKeys(primary={self._primary.hex()}, count={len(self._aead)})"

    @property
    def primary_id(self) -> bytes:
        return self._primary

    @property
    def ids(self) -> list[bytes]:
        return list(self._aead)

    def encrypt(self, plaintext: bytes, ad: bytes, *, kid: bytes | None = None) -> bytes:
        """Encrypt under the primary key, or under the key ``kid`` (one of :attr:`ids`)."""
        kid = self._primary if kid is None else kid
        nonce = os.urandom(_NONCE_LEN)
        ct = self._aead[kid].encrypt(nonce, plaintext, ad)
        return _VERSION + kid + nonce + ct

    def decrypt(self, blob: bytes, ad: bytes, *, name: str | None = None) -> bytes:
        if len(blob) < _HEADER_LEN + 16 or blob[:1] != _VERSION:
            raise DecryptionError(name=name)
        aead = self._aead.get(blob[1 : 1 + _KID_LEN])
        if aead is None:
            raise DecryptionError(name=name)
        try:
            return aead.decrypt(blob[1 + _KID_LEN : _HEADER_LEN], blob[_HEADER_LEN:], ad)
        except InvalidTag:
            raise DecryptionError(name=name) from None

    def opener(self, blob: bytes) -> tuple[AESGCM, bytes, bytes] | None:
        """(key, nonce, ciphertext) of a well-formed ``blob`` whose key this list has, else None.

        What :meth:`decrypt` works out from the envelope before decrypting, for a caller that
        decrypts the same record on every use (a model client, once per request): it keeps
        this, the ciphertext and its parts (never the plaintext) and decrypts with
        ``key.decrypt(nonce, ciphertext, ad)``, each call a fresh decryption.
        """
        if len(blob) < _HEADER_LEN + 16 or blob[:1] != _VERSION:
            return None
        aead = self._aead.get(blob[1 : 1 + _KID_LEN])
        if aead is None:
            return None
        return aead, blob[1 + _KID_LEN : _HEADER_LEN], blob[_HEADER_LEN:]

    @staticmethod
    def blob_key_id(blob: bytes) -> bytes:
        return blob[1 : 1 + _KID_LEN]

    def with_primary(self, key: str | bytes) -> MasterKeys:
        """A new list with ``key`` first and the current keys after it."""
        new = MasterKeys([key])
        for kid, aead in self._aead.items():
            new._aead.setdefault(kid, aead)
        return new

    def then(self, older: MasterKeys) -> MasterKeys:
        """These keys, then ``older``'s (which keep decrypting but never encrypt)."""
        new = MasterKeys.__new__(MasterKeys)
        new._aead = dict(self._aead)
        for kid, aead in older._aead.items():
            new._aead.setdefault(kid, aead)
        new._primary = self._primary
        return new
