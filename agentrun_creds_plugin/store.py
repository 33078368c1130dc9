"""``CredentialStore``: the one front door.

Every secret is encrypted at rest and decrypted on the call that needs it (``resolve``), so an
edit, a rotation or a disable committed by any process is what the next call of every process
sees. The store validates input, versions and encrypts records, audits changes in the same
transaction as the change, and queues use events to a background writer so ``resolve`` stays
in the microseconds. Storage and freshness are the backend's job (``backends/``).

Decisions where the design is silent:
- ``update`` with neither a credential nor a description is refused (422): a version bump
  without a change would only confuse CAS callers.
- ``attach`` and ``detach`` are idempotent and audit only actual changes.
- Async twins of methods that write run the sync method in a worker thread
  (``asyncio.to_thread``, which keeps context variables); ``aresolve`` runs inline because a
  resolve is a cached, microsecond read that never waits for the writer lock (SQLite WAL).
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import json
import logging
import os
import ssl
import time
import urllib.request
import warnings
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from .audit import HOST, AuditQueue
from .backends import open_backend
from .backends.base import AuditRow, Backend, ModelRow, Record
from .codec import credential_from_plaintext, credential_to_plaintext
from .crypto import MasterKeys, associated_data
from .errors import (
    CredentialDisabledError,
    CredentialError,
    CredentialExistsError,
    CredentialExpiredError,
    CredentialInUseError,
    CredentialNotFoundError,
    DecryptionError,
    InvalidCredentialError,
    StoreUnavailableError,
    VersionConflictError,
)
from .info import AuditEvent, CheckReport, CredentialInfo, ModelConfig, from_timestamp
from .keys import create_key_file, read_key_file, write_key_file
from .kinds import (
    BasicAuthCredential,
    CredentialBase,
    JwtCredential,
    check_name,
    credential_from_dict,
)
from .settings import Settings, default_db_path, load_settings

if TYPE_CHECKING:
    from .auth import CredentialAuth

__all__ = ["AUDIT_ACTIONS", "BasicAuthWarning", "CredentialStore"]

log = logging.getLogger("agentrun_creds_plugin")

AUDIT_ACTIONS = (
    "created",
    "updated",
    "enabled",
    "disabled",
    "deleted",
    "attached",
    "detached",
    "used",
    "use_failed",
)
_EXPIRY_WARNING = timedelta(days=7)

P = ParamSpec("P")
R = TypeVar("R")


class BasicAuthWarning(UserWarning):
    """Basic auth sends the password base64-encoded only: use it behind HTTPS."""


def _in_thread(
    fn: Callable[Concatenate[CredentialStore, P], R],
) -> Callable[Concatenate[CredentialStore, P], Coroutine[Any, Any, R]]:
    @functools.wraps(fn)
    async def twin(self: CredentialStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(fn, self, *args, **kwargs)

    twin.__doc__ = f"Async twin of :meth:`{fn.__name__}` (runs it in a worker thread)."
    return twin


class CredentialStore:
    """Encrypted credentials, used by name. Open it with :meth:`CredentialStore.open`."""

    def __init__(
        self,
        backend: Backend,
        keys: MasterKeys,
        *,
        settings: Settings | None = None,
        key_file: Path | None = None,
        key_strings: Sequence[str] = (),
    ) -> None:
        self._backend = backend
        self._keys = keys
        self._settings = settings or Settings()
        self._key_file = key_file
        self._key_strings = list(key_strings)
        self._store_id = backend.store_id
        self._closed = False
        self._audit = AuditQueue(
            backend.append_audit,
            interval=self._settings.audit_flush_interval,
            prune=self._prune_audit,
        )

    # -- opening and closing -------------------------------------------------------------
    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        master_key: str | bytes | Sequence[str | bytes] | None = None,
    ) -> CredentialStore:
        """Open (creating when needed) the store at ``url``.

        With no ``url``: ``AGENTRUN_CREDS_URL``, then a per-user default SQLite file. Master
        keys, first found wins: ``master_key``, ``AGENTRUN_CREDS_MASTER_KEYS`` (also as a file
        in the secrets directory), ``AGENTRUN_CREDS_KEY_FILE``, else a key file created beside
        the database with mode 0600.
        """
        settings = load_settings()
        url = url or settings.url or f"sqlite:///{default_db_path()}"
        backend = open_backend(url, settings)
        key_file: Path | None = None
        keys: list[str | bytes]
        if master_key is not None:
            keys = [master_key] if isinstance(master_key, str | bytes) else list(master_key)
        elif settings.master_keys is not None:
            keys = [k.strip() for k in settings.master_keys.get_secret_value().split(",")]
            keys = [k for k in keys if k]
        elif settings.key_file is not None:
            key_file = settings.key_file.expanduser()
            try:
                keys = list(read_key_file(key_file))
            except OSError as exc:
                backend.close()
                raise StoreUnavailableError(
                    f"key file {key_file}: cannot read it ({exc.strerror}); check "
                    "AGENTRUN_CREDS_KEY_FILE"
                ) from None
        else:
            default = backend.default_key_file
            if default is None:
                backend.close()
                raise StoreUnavailableError(
                    "master key: none configured; set AGENTRUN_CREDS_MASTER_KEYS or "
                    "AGENTRUN_CREDS_KEY_FILE (a shared store has no default key file)"
                )
            key_file = Path(default)
            created_keys, created = create_key_file(key_file)
            keys = list(created_keys)
            if created:
                log.warning(
                    "created a new master key file at %s (mode 0600); back it up: without "
                    "it the store cannot be decrypted",
                    key_file,
                )
        try:
            master = MasterKeys(keys)
        except InvalidCredentialError:
            backend.close()
            raise
        strings = [k if isinstance(k, str) else k.decode() for k in keys]
        log.debug("opened credential store %s", backend.url)
        return cls(backend, master, settings=settings, key_file=key_file, key_strings=strings)

    def __repr__(self) -> str:
        return f"CredentialStore({self._backend.url!r})"

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
        await asyncio.to_thread(self.close)

    def __enter__(self) -> CredentialStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> CredentialStore:
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
        kind = type(credential).model_fields["kind"].default
        plaintext = credential_to_plaintext(credential)
        return self._keys.encrypt(plaintext, self._ad(name, version, kind))

    def _decrypt(self, rec: Record) -> bytes:
        ad = self._ad(rec.name, rec.version, rec.kind)
        try:
            return self._keys.decrypt(rec.blob, ad, name=rec.name)
        except DecryptionError:
            if not self._reload_key_file(MasterKeys.blob_key_id(rec.blob)):
                raise
            return self._keys.decrypt(rec.blob, ad, name=rec.name)

    def _reload_key_file(self, wanted: bytes) -> bool:
        """Another process rotated the master key: pick the new key up from the key file."""
        if self._key_file is None or wanted in self._keys.ids:
            return False
        try:
            keys = read_key_file(self._key_file)
            fresh = MasterKeys(keys)
        except (OSError, InvalidCredentialError):
            return False
        if wanted not in fresh.ids:
            return False
        self._keys, self._key_strings = fresh, keys
        return True

    def _info(self, rec: Record, attachments: Sequence[tuple[str, str]]) -> CredentialInfo:
        return CredentialInfo(
            name=rec.name,
            category=rec.category,
            kind=rec.kind,
            enabled=rec.enabled,
            description=rec.description,
            version=rec.version,
            created_at=from_timestamp(rec.created_at),
            updated_at=from_timestamp(rec.updated_at),
            attachments=tuple(attachments),
            preview=rec.preview,
            expires_at=from_timestamp(rec.expires_at) if rec.expires_at is not None else None,
        )

    @staticmethod
    def _event(
        action: str, name: str | None, resource: str | None = None, reason: str | None = None
    ) -> AuditRow:
        return AuditRow(time.time(), action, name, resource, reason, os.getpid(), HOST)

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

    def _get_record(self, name: str) -> Record:
        rec = self._backend.get(name)
        if rec is None:
            raise CredentialNotFoundError(name)
        return rec

    # -- credentials -----------------------------------------------------------------------
    def create(
        self,
        name: str,
        credential: CredentialBase | Mapping[str, Any],
        *,
        description: str = "",
    ) -> CredentialInfo:
        """Store a new credential, encrypted, at version 1 and enabled."""
        check_name(name)
        cred = self._coerce(credential)
        description = self._description(description)
        if isinstance(cred, BasicAuthCredential):
            warnings.warn(
                f"credential {name!r}: Basic auth only base64-encodes the password; do not use "
                "it in production without HTTPS",
                BasicAuthWarning,
                stacklevel=2,
            )
        now = time.time()
        kind = type(cred).model_fields["kind"].default
        rec = Record(
            name=name,
            category=cred.category,
            kind=kind,
            enabled=True,
            description=description,
            version=1,
            created_at=now,
            updated_at=now,
            expires_at=cred.expires_at.timestamp() if cred.expires_at else None,
            preview=cred.preview(),
            blob=self._encrypt(cred, name, 1),
        )
        with self._backend.transaction() as tx:
            if not tx.insert(rec):
                raise CredentialExistsError(name)
            tx.audit(self._event("created", name))
        log.debug("created credential %r (%s)", name, kind)
        return self._info(rec, ())

    acreate = _in_thread(create)

    def get(self, name: str) -> CredentialInfo:
        """Metadata of one credential: never a secret."""
        rec = self._get_record(name)
        return self._info(rec, self._backend.attachments(name))

    aget = _in_thread(get)

    def list(self, *, category: str | None = None, kind: str | None = None) -> list[CredentialInfo]:
        """Every credential's metadata, by name; filter by ``category`` and/or ``kind``."""
        return [
            self._info(r, self._backend.attachments(r.name))
            for r in self._backend.list_records(category=category, kind=kind)
        ]

    alist = _in_thread(list)

    def update(
        self,
        name: str,
        credential: CredentialBase | Mapping[str, Any] | None = None,
        *,
        description: str | None = None,
        expected_version: int | None = None,
    ) -> CredentialInfo:
        """Replace the secret (same kind) and/or the description; bumps the version.

        With ``expected_version`` it is a compare-and-swap: ``VersionConflictError`` (409)
        when another writer got there first.
        """
        if credential is None and description is None:
            raise InvalidCredentialError(
                "update: give a new credential and/or a description; nothing to change"
            )
        cred = self._coerce(credential) if credential is not None else None
        if description is not None:
            description = self._description(description)
        with self._backend.transaction() as tx:
            rec = tx.get(name)
            if rec is None:
                raise CredentialNotFoundError(name)
            if expected_version is not None and rec.version != expected_version:
                raise VersionConflictError(name, expected_version, rec.version)
            version = rec.version + 1
            if cred is not None:
                kind = type(cred).model_fields["kind"].default
                if kind != rec.kind:
                    raise InvalidCredentialError(
                        f"credential: {name!r} is a {rec.kind} credential and cannot become "
                        f"{kind}; delete it and create a new one"
                    )
                blob = self._encrypt(cred, name, version)
                preview = cred.preview()
                expires = cred.expires_at.timestamp() if cred.expires_at else None
            else:
                plaintext = self._decrypt(rec)
                blob = self._keys.encrypt(plaintext, self._ad(name, version, rec.kind))
                preview, expires = rec.preview, rec.expires_at
            new = Record(
                name=name,
                category=rec.category,
                kind=rec.kind,
                enabled=rec.enabled,
                description=rec.description if description is None else description,
                version=version,
                created_at=rec.created_at,
                updated_at=time.time(),
                expires_at=expires,
                preview=preview,
                blob=blob,
            )
            tx.replace(new)
            tx.audit(self._event("updated", name))
            attachments = tx.attachments(name)
        log.debug("updated credential %r to version %d", name, version)
        return self._info(new, attachments)

    aupdate = _in_thread(update)

    def _set_enabled(self, name: str, enabled: bool) -> CredentialInfo:
        with self._backend.transaction() as tx:
            rec = tx.get(name)
            if rec is None:
                raise CredentialNotFoundError(name)
            new = Record(
                rec.name,
                rec.category,
                rec.kind,
                enabled,
                rec.description,
                rec.version,
                rec.created_at,
                time.time(),
                rec.expires_at,
                rec.preview,
                rec.blob,
            )
            tx.replace(new)
            tx.audit(self._event("enabled" if enabled else "disabled", name))
            attachments = tx.attachments(name)
        log.debug("%s credential %r", "enabled" if enabled else "disabled", name)
        return self._info(new, attachments)

    def enable(self, name: str) -> CredentialInfo:
        """Allow use again; takes effect on the next resolve everywhere."""
        return self._set_enabled(name, True)

    def disable(self, name: str) -> CredentialInfo:
        """Refuse every use (401) from the next resolve on, in every process."""
        return self._set_enabled(name, False)

    aenable = _in_thread(enable)
    adisable = _in_thread(disable)

    def delete(self, name: str, *, force: bool = False) -> None:
        """Delete irreversibly; refused while resources are attached unless ``force``."""
        with self._backend.transaction() as tx:
            if tx.get(name) is None:
                raise CredentialNotFoundError(name)
            attached = tx.attachments(name)
            if attached and not force:
                raise CredentialInUseError(name, attached)
            tx.delete(name)
            reason = f"forced; {len(attached)} attachment(s) dropped" if attached else None
            tx.audit(self._event("deleted", name, reason=reason))
        log.debug("deleted credential %r", name)

    adelete = _in_thread(delete)

    # -- attachments ---------------------------------------------------------------------
    @staticmethod
    def _check_resource(resource_type: str, resource_name: str) -> None:
        for field, value in (("resource_type", resource_type), ("resource_name", resource_name)):
            if not isinstance(value, str) or not value or len(value) > 256:
                raise InvalidCredentialError(f"{field}: must be a non-empty string (max 256)")

    def attach(self, name: str, resource_type: str, resource_name: str) -> None:
        """Record that a resource uses the credential (idempotent)."""
        self._check_resource(resource_type, resource_name)
        with self._backend.transaction() as tx:
            if tx.get(name) is None:
                raise CredentialNotFoundError(name)
            if tx.attach(name, resource_type, resource_name, time.time()):
                tx.audit(self._event("attached", name, f"{resource_type}:{resource_name}"))

    def detach(self, name: str, resource_type: str, resource_name: str) -> None:
        """Forget an attachment (idempotent)."""
        with self._backend.transaction() as tx:
            if tx.get(name) is None:
                raise CredentialNotFoundError(name)
            if tx.detach(name, resource_type, resource_name):
                tx.audit(self._event("detached", name, f"{resource_type}:{resource_name}"))

    def attachments(self, name: str) -> builtins.list[tuple[str, str]]:
        """The attached resources as ``(resource_type, resource_name)`` pairs."""
        self._get_record(name)
        return self._backend.attachments(name)

    aattach = _in_thread(attach)
    adetach = _in_thread(detach)
    aattachments = _in_thread(attachments)

    # -- model configurations -------------------------------------------------------------
    @staticmethod
    def _model(row: ModelRow) -> ModelConfig:
        return ModelConfig(
            row.name,
            row.credential,
            row.model,
            row.base_url,
            dict(row.params),
            from_timestamp(row.created_at),
        )

    def create_model(
        self,
        /,
        name: str,
        *,
        credential: str,
        model: str,
        base_url: str | None = None,
        **params: Any,
    ) -> ModelConfig:
        """A model configuration that uses an existing credential (and attaches it)."""
        check_name(name)
        if not isinstance(model, str) or not model:
            raise InvalidCredentialError("model: give the provider's model id, e.g. gpt-4o-mini")
        try:
            json.dumps(params)
        except (TypeError, ValueError):
            raise InvalidCredentialError("params: must be JSON-serialisable") from None
        row = ModelRow(name, credential, model, base_url, params, time.time())
        with self._backend.transaction() as tx:
            if tx.get(credential) is None:
                raise CredentialNotFoundError(credential)
            if not tx.insert_model(row):
                raise CredentialExistsError(name, what="model")
            if tx.attach(credential, "model", name, row.created_at):
                tx.audit(self._event("attached", credential, f"model:{name}"))
        return self._model(row)

    def get_model(self, name: str) -> ModelConfig:
        row = self._backend.get_model(name)
        if row is None:
            raise CredentialNotFoundError(name, what="model")
        return self._model(row)

    def list_models(self) -> builtins.list[ModelConfig]:
        return [self._model(r) for r in self._backend.list_models()]

    def delete_model(self, name: str) -> None:
        """Delete a model configuration and detach its credential."""
        with self._backend.transaction() as tx:
            row = tx.get_model(name)
            if row is None:
                raise CredentialNotFoundError(name, what="model")
            tx.delete_model(name)
            if tx.detach(row.credential, "model", name):
                tx.audit(self._event("detached", row.credential, f"model:{name}"))

    acreate_model = _in_thread(create_model)
    aget_model = _in_thread(get_model)
    alist_models = _in_thread(list_models)
    adelete_model = _in_thread(delete_model)

    # -- use -----------------------------------------------------------------------------
    def resolve(self, name: str, *, resource: str | None = None) -> CredentialBase:
        """Decrypt now and return the credential (secret fields are ``SecretStr``).

        Reads the committed state on every call: a change made by any process is seen by the
        next call. Audited as a use (queued, written off the hot path).
        """
        rec = self._backend.get(name)
        if (
            rec is None
            or not rec.enabled
            or (rec.expires_at is not None and rec.expires_at <= time.time())
        ):
            raise self._refusal(name, rec, resource)
        try:
            cred = credential_from_plaintext(rec.kind, self._decrypt(rec))
        except DecryptionError:
            self._audit.put("use_failed", name, resource, "decryption failed")
            raise
        self._audit.put("used", name, resource, None)
        return cred

    def _refusal(self, name: str, rec: Record | None, resource: str | None) -> CredentialError:
        error: CredentialError
        if rec is None:
            reason, error = "not found", CredentialNotFoundError(name)
        elif not rec.enabled:
            reason, error = "disabled", CredentialDisabledError(name)
        else:
            assert rec.expires_at is not None
            expired = from_timestamp(rec.expires_at).isoformat()
            reason, error = "expired", CredentialExpiredError(name, expired)
        self._audit.put("use_failed", name, resource, reason)
        return error

    async def aresolve(self, name: str, *, resource: str | None = None) -> CredentialBase:
        """Async twin of :meth:`resolve`, run inline: it never waits for a lock."""
        return self.resolve(name, resource=resource)

    def resolve_model(self, name: str) -> tuple[ModelConfig | None, str]:
        """A model configuration (or None) and the credential name it uses."""
        row = self._backend.get_model(name)
        if row is not None:
            return self._model(row), row.credential
        return None, name

    # -- audit ---------------------------------------------------------------------------
    def audit(
        self,
        name: str | None = None,
        *,
        limit: int = 100,
        since: datetime | None = None,
        action: str | None = None,
        resource: str | None = None,
    ) -> builtins.list[AuditEvent]:
        """Audit events, newest first; writes this process's queued use events first."""
        if action is not None and action not in AUDIT_ACTIONS:
            raise InvalidCredentialError(f"action: unknown; use one of {', '.join(AUDIT_ACTIONS)}")
        if since is not None and since.tzinfo is None:
            raise InvalidCredentialError("since: give an aware datetime (e.g. with timezone.utc)")
        self._audit.flush()
        rows = self._backend.query_audit(
            name=name,
            limit=int(limit),
            since=since.timestamp() if since else None,
            action=action,
            resource=resource,
        )
        return [
            AuditEvent(from_timestamp(r.at), r.action, r.name, r.resource, r.reason, r.pid, r.host)
            for r in rows
        ]

    aaudit = _in_thread(audit)

    def flush_audit(self) -> None:
        """Write this process's queued use events now."""
        self._audit.flush()

    # -- checks --------------------------------------------------------------------------
    def check(self, name: str) -> CheckReport:
        """Validate a credential without using it, and say what to fix."""
        rec = self._get_record(name)
        problems: list[str] = []
        notes: list[str] = []
        if not rec.enabled:
            problems.append(f"disabled: enable it with store.enable({name!r})")
        if rec.expires_at is not None:
            left = rec.expires_at - time.time()
            if left <= 0:
                problems.append("expired: store a new secret with a later expires_at")
            elif left < _EXPIRY_WARNING.total_seconds():
                notes.append(f"expires in {timedelta(seconds=int(left))}: plan a rotation")
        try:
            cred = credential_from_plaintext(rec.kind, self._decrypt(rec))
        except DecryptionError:
            problems.append("cannot be decrypted: wrong master key or an altered record")
            return CheckReport(name, tuple(problems), tuple(notes))
        except InvalidCredentialError as exc:
            problems.append(f"stored value no longer valid: {exc}")
            return CheckReport(name, tuple(problems), tuple(notes))
        if isinstance(cred, JwtCredential) and cred.jwks_url:
            problem = self._check_jwks_url(cred.jwks_url)
            if problem:
                problems.append(problem)
        return CheckReport(name, tuple(problems), tuple(notes))

    acheck = _in_thread(check)

    def ssl_context(self) -> ssl.SSLContext:
        """The trust used for https fetches: system store, ``SSL_CERT_FILE``, ``ca_file``."""
        ctx = ssl.create_default_context()
        if self._settings.ca_file is not None:
            ctx.load_verify_locations(cafile=str(self._settings.ca_file))
        return ctx

    def _check_jwks_url(self, url: str) -> str | None:
        try:
            with urllib.request.urlopen(url, timeout=10, context=self.ssl_context()) as resp:  # noqa: S310 - https enforced by JwtCredential
                body = json.loads(resp.read(1 << 20))
        except (OSError, ValueError) as exc:
            return (
                f"jwks_url unreachable or not JSON ({type(exc).__name__}): check the URL "
                "and the TLS trust (SSL_CERT_FILE, AGENTRUN_CREDS_CA_FILE)"
            )
        try:
            JwtCredential(jwks=body)
        except InvalidCredentialError as exc:
            return f"jwks_url serves an unusable key set: {exc}"
        return None

    # -- master keys ---------------------------------------------------------------------
    def rotate_master_key(self, new_key: str | bytes) -> int:
        """Re-encrypt every secret under ``new_key``; returns how many records changed.

        Records are re-encrypted one transaction at a time, so an interruption leaves every
        record readable (by the old or the new key) and a re-run finishes the job. Versions do
        not change. When keys come from a key file, the file lists the new key first and the
        old ones after it until the end, then only the new key.
        """
        new_keys = self._keys.with_primary(new_key)
        new_string = new_key if isinstance(new_key, str) else new_key.decode()
        old_strings = [k for k in self._key_strings if k != new_string]
        if self._key_file is not None:
            write_key_file(self._key_file, [new_string, *old_strings])
        self._keys = new_keys
        self._key_strings = [new_string, *old_strings]
        changed = 0
        for rec in self._backend.list_records():
            if MasterKeys.blob_key_id(rec.blob) == new_keys.primary_id:
                continue
            with self._backend.transaction() as tx:
                cur = tx.get(rec.name)
                if cur is None or MasterKeys.blob_key_id(cur.blob) == new_keys.primary_id:
                    continue
                plaintext = self._decrypt(cur)
                blob = new_keys.encrypt(plaintext, self._ad(cur.name, cur.version, cur.kind))
                tx.replace(
                    Record(
                        cur.name,
                        cur.category,
                        cur.kind,
                        cur.enabled,
                        cur.description,
                        cur.version,
                        cur.created_at,
                        cur.updated_at,
                        cur.expires_at,
                        cur.preview,
                        blob,
                    )
                )
                changed += 1
        if self._key_file is not None:
            write_key_file(self._key_file, [new_string])
        self._key_strings = [new_string]
        log.info("master key rotated: %d record(s) re-encrypted", changed)
        return changed

    arotate_master_key = _in_thread(rotate_master_key)

    # -- integrations reached by local import (DESIGN section 8) ---------------------------
    def http_auth(
        self,
        name: str,
        *,
        resource: str | None = None,
        service: str | None = None,
        region: str | None = None,
        action: str | None = None,
        version: str | None = None,
        unsigned_payload: bool = False,
    ) -> CredentialAuth:
        """A per-request auth object for httpx2, httpx and requests (outbound).

        Nothing is decrypted here: the credential is resolved on every request and retry.
        ``resource`` names the user in audit events (e.g. ``tool:weather``). For cloud
        AK/SK credentials, ``service``, ``region``, ``action`` and ``version`` override what
        is derived from the URL and headers; ``unsigned_payload`` (AWS S3) signs
        ``UNSIGNED-PAYLOAD`` so streaming uploads need not be buffered.
        """
        from .auth import SigningOptions, make_auth

        signing = SigningOptions(service, region, action, version, unsigned_payload)
        return make_auth(self, name, resource=resource, signing=signing)
