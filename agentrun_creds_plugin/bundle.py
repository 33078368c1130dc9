"""Encrypted bundles: a backup of a store, or a way to move credentials to another machine.

A store's ciphertext is bound to that store (its id and master key), so it cannot be copied to
another one. A bundle re-encrypts everything under a key derived from a passphrase the person
chooses, so the target needs only the file and the passphrase, not the source's master key.

File layout (every integer big-endian)::

    b"ACRB"            magic
    u8  format         1
    u8  log2(n)        scrypt cost, 14..20
    u8  r, u8 p        scrypt block size and parallelism
    16 bytes           salt (random per bundle)
    12 bytes           AES-GCM nonce (random per bundle)
    rest               AES-256-GCM of the JSON document, the 36-byte header as associated data

The header is authenticated, so a changed cost, salt or format byte fails like a changed
ciphertext byte: one :class:`BundleError` that does not say which (a wrong passphrase and a
tampered or truncated file look the same to an attacker and to the code).

What a bundle holds, and what it leaves out:

* every credential: kind, all values (secrets only inside the ciphertext), description,
  enabled state and expiry. Versions and timestamps are the target's own: an imported
  credential starts at version 1 (or the next version when it replaces one), so the audit
  trail of the target tells the truth about when it got the value.
* every model configuration (name, credential, model id, base URL, parameters).
* attachments of resources other than models (tools, agents): a model's attachment is
  recreated by creating the model.
* not the audit trail: it is the history of the source store, and is kept with that store's
  database backup. The import itself is audited in the target (created / updated, attached).
"""

from __future__ import annotations

import json
import os
import secrets
import struct
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from pydantic import SecretStr

from .errors import CredentialError, InvalidCredentialError
from .kinds import CredentialBase, credential_from_dict
from .store import CredentialStore

__all__ = [
    "BundleConflictError",
    "BundleError",
    "BundleFileExistsError",
    "ExportReport",
    "ImportReport",
    "export_bundle",
    "import_bundle",
]

MAGIC = b"ACRB"
FORMAT = 1
_HEADER = struct.Struct(">4sBBBB16s12s")
_LOG2_N, _R, _P = 15, 8, 1  # about 0.1 s and 32 MiB: cheap once, costly a billion times
MIN_PASSPHRASE = 8
OnConflict = Literal["skip", "replace", "fail"]


class BundleError(CredentialError):
    """The bundle cannot be opened; deliberately one message for every cause after the magic."""

    status_code = 422
    MESSAGE = (
        "cannot open the bundle: wrong passphrase, or the file was changed or cut short; "
        "check the passphrase, or export the bundle again from the source store"
    )

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.MESSAGE)


class BundleConflictError(CredentialError):
    """An import met names the store already has (and ``on_conflict`` is ``fail``)."""

    status_code = 409

    def __init__(self, conflicts: list[str]) -> None:
        super().__init__(
            f"already in the store: {', '.join(conflicts)}; nothing was imported; "
            "choose --on-conflict skip (keep the store's) or replace (take the bundle's)"
        )
        self.conflicts = conflicts


class BundleFileExistsError(CredentialError):
    """``export`` would overwrite a file."""

    status_code = 409

    def __init__(self, path: str) -> None:
        super().__init__(f"{path} already exists; pass --force (force=True) to replace it")


@dataclass
class ExportReport:
    """What :func:`export_bundle` wrote; names only."""

    path: str
    credentials: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    attachments: int = 0


@dataclass
class ImportReport:
    """What :func:`import_bundle` did; names only."""

    created: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    attachments: int = 0


def _check_passphrase(passphrase: str) -> bytes:
    if not isinstance(passphrase, str) or len(passphrase) < MIN_PASSPHRASE:
        raise InvalidCredentialError(
            f"passphrase: use at least {MIN_PASSPHRASE} characters (a few words are best)"
        )
    return passphrase.encode("utf-8")


def _derive(passphrase: bytes, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=1 << log2_n, r=r, p=p).derive(passphrase)


def seal(document: bytes, passphrase: str) -> bytes:
    """Encrypt ``document`` into bundle bytes under ``passphrase``."""
    secret = _check_passphrase(passphrase)
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    header = _HEADER.pack(MAGIC, FORMAT, _LOG2_N, _R, _P, salt, nonce)
    key = _derive(secret, salt, _LOG2_N, _R, _P)
    return header + AESGCM(key).encrypt(nonce, document, header)


def unseal(data: bytes, passphrase: str) -> bytes:
    """The document inside bundle bytes; :class:`BundleError` on any mismatch."""
    if not data.startswith(MAGIC):
        raise BundleError(
            "this file is not an agentrun-creds bundle (it does not start like one); "
            "give the file written by `agentrun-creds export`"
        )
    if len(data) < _HEADER.size + 16:
        raise BundleError()
    _, fmt, log2_n, r, p, salt, nonce = _HEADER.unpack_from(data)
    if fmt != FORMAT:
        if fmt > FORMAT:
            raise BundleError(
                f"this bundle has format {fmt}, newer than this version reads ({FORMAT}); "
                "upgrade agentrun-creds-plugin"
            )
        raise BundleError()
    if not (14 <= log2_n <= 20 and 1 <= r <= 16 and 1 <= p <= 4):
        raise BundleError()  # refuse absurd costs before spending memory on them
    key = _derive(passphrase.encode("utf-8"), salt, log2_n, r, p)
    try:
        return AESGCM(key).decrypt(nonce, data[_HEADER.size :], data[: _HEADER.size])
    except InvalidTag:
        raise BundleError() from None


def _reveal(value: Any) -> Any:
    """A JSON-ready copy of a credential's dump, secrets in the clear (for the ciphertext)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _reveal(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_reveal(v) for v in value]
    return value


def _document(store: CredentialStore, report: ExportReport) -> dict[str, Any]:
    backend = store.backend
    creds = []
    for rec in backend.list_records():
        cred = store._load(rec)
        links = [
            [rtype, rname] for rtype, rname in backend.attachments(rec.name) if rtype != "model"
        ]
        creds.append(
            {
                "name": rec.name,
                "enabled": rec.enabled,
                "description": rec.description,
                "credential": _reveal(cred.model_dump()),
                "attachments": links,
            }
        )
        report.credentials.append(rec.name)
        report.attachments += len(links)
    models = []
    for row in backend.list_models():
        models.append(
            {
                "name": row.name,
                "credential": row.credential,
                "model": row.model,
                "base_url": row.base_url,
                "params": row.params,
            }
        )
        report.models.append(row.name)
    return {
        "format": "agentrun-creds-bundle",
        "version": FORMAT,
        "exported_at": time.time(),
        "credentials": creds,
        "models": models,
    }


def export_bundle(
    store: CredentialStore, path: str | os.PathLike[str], passphrase: str, *, force: bool = False
) -> ExportReport:
    """Write every credential and model of ``store`` to ``path``, encrypted under ``passphrase``.

    The file is created with mode 0600 and written whole before it takes the name, so an
    interrupted export never leaves half a bundle. An existing file is replaced only with
    ``force``.
    """
    _check_passphrase(passphrase)
    target = Path(path)
    if target.exists() and not force:
        raise BundleFileExistsError(str(target))
    report = ExportReport(path=str(target))
    data = seal(json.dumps(_document(store, report)).encode("utf-8"), passphrase)
    fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return report


def read_bundle(path: str | os.PathLike[str], passphrase: str) -> dict[str, Any]:
    """The decrypted document of a bundle file (checks it is one)."""
    raw = unseal(Path(path).read_bytes(), passphrase)
    try:
        doc = json.loads(raw)
    except ValueError:
        raise BundleError() from None
    if not isinstance(doc, dict) or doc.get("format") != "agentrun-creds-bundle":
        raise BundleError()
    return doc


def _conflicts(store: CredentialStore, doc: dict[str, Any]) -> list[str]:
    names = [f"credential {c['name']}" for c in doc["credentials"] if store.backend.get(c["name"])]
    names += [f"model {m['name']}" for m in doc["models"] if store.backend.get_model(m["name"])]
    return names


def import_bundle(
    store: CredentialStore,
    path: str | os.PathLike[str],
    passphrase: str,
    *,
    on_conflict: OnConflict = "fail",
) -> ImportReport:
    """Add the bundle's credentials, models and attachments to ``store``.

    A name already in ``store``: ``fail`` (the default) changes nothing and raises a 409 that
    lists every conflicting name; ``skip`` keeps the store's own; ``replace`` updates the
    credential with the bundle's values and state (a new version) and recreates the model.
    A model new to the store is created even when its credential was skipped: it then uses the
    store's own credential of that name.
    Every credential is validated before anything is written.
    """
    if on_conflict not in ("skip", "replace", "fail"):
        raise InvalidCredentialError("on_conflict: use one of skip, replace, fail")
    doc = read_bundle(path, passphrase)
    creds: list[tuple[dict[str, Any], CredentialBase]] = [
        (c, credential_from_dict(c["credential"])) for c in doc["credentials"]
    ]
    conflicts = _conflicts(store, doc)
    if conflicts and on_conflict == "fail":
        raise BundleConflictError(conflicts)
    report = ImportReport()
    for entry, cred in creds:
        name = entry["name"]
        if store.backend.get(name) is None:
            store.create(name, cred, description=entry["description"])
            report.created.append(name)
        elif on_conflict == "skip":
            report.skipped.append(name)
            continue
        else:
            store.update(name, cred, description=entry["description"])
            report.replaced.append(name)
        if not entry["enabled"]:
            store.disable(name)
        elif name in report.replaced:
            store.enable(name)
        for rtype, rname in entry["attachments"]:
            store.attach(name, rtype, rname)
            report.attachments += 1
    skipped = set(report.skipped)
    for m in doc["models"]:
        exists = store.backend.get_model(m["name"]) is not None
        if exists and (on_conflict == "skip" or m["credential"] in skipped):
            continue
        if exists:
            store.delete_model(m["name"])
        store.create_model(
            m["name"],
            credential=m["credential"],
            model=m["model"],
            base_url=m["base_url"],
            **m["params"],
        )
        report.models.append(m["name"])
    return report
