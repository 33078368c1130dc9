"""``CredentialStore``: the one front door.

Every secret is encrypted at rest and decrypted on the call that needs it (``resolve``), so an
edit, a rotation or a disable committed by any process is what the next call of every process
sees. The store validates input, versions and encrypts records, audits changes in the same
transaction as the change, and queues use events to a background writer so ``resolve`` stays
in the microseconds. Storage and freshness are the backend's job (``backends/``), master keys
the key ring's (``keys``), the record format the codec's (``codec``).

Each write is stated once, as a flow (``flows``): the sync method drives it in a transaction,
the async twin in a native async transaction (PostgreSQL) or a worker thread, so no async
method blocks the event loop. Async reads use the backend's async reads.

Decisions where the contract is silent:
- ``update`` with neither a credential nor a description is refused (422): a version bump
  without a change would only confuse compare-and-swap callers.
- ``attach`` and ``detach`` are idempotent and audit only actual changes.
"""

from __future__ import annotations

import builtins
import functools
import logging
import time
import warnings
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from ._threads import to_thread
from .attachments import Attachments
from .audit_trail import AUDIT_ACTIONS, AuditTrail
from .backends import open_backend
from .backends.base import Record
from .checks import check_record
from .codec import credential_to_plaintext
from .errors import (
    CredentialDisabledError,
    CredentialError,
    CredentialExistsError,
    CredentialExpiredError,
    CredentialInUseError,
    CredentialNotFoundError,
    DecryptionError,
    InvalidCredentialError,
    VersionConflictError,
)
from .flows import Flow, arun, run
from .grace import check_grace_seconds, grace_secret, seal_grace
from .info import CheckReport, CredentialInfo, Listing, from_timestamp
from .keys import KeyInput, KeyRing
from .kinds import BasicAuthCredential, CredentialBase, check_name
from .model_configs import ModelConfigs
from .records import audit_row, info_from_record
from .rotation import KeyRotation
from .service_use import ServiceUse
from .settings import default_db_path, load_settings
from .store_base import kind_of

if TYPE_CHECKING:
    import ssl

    from .inbound import Verifier
    from .outbound.auth import CredentialAuth

__all__ = ["AUDIT_ACTIONS", "BasicAuthWarning", "CredentialStore"]

log = logging.getLogger("agentrun_creds_plugin")


P = ParamSpec("P")
R = TypeVar("R")


class BasicAuthWarning(UserWarning):
    """Basic auth sends the password base64-encoded only: use it behind HTTPS."""


def _in_thread(
    fn: Callable[Concatenate[CredentialStore, P], R],
) -> Callable[Concatenate[CredentialStore, P], Coroutine[Any, Any, R]]:
    """Async twin for work that is not a transaction (network checks, long rotations)."""

    @functools.wraps(fn)
    async def twin(self: CredentialStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await to_thread(fn, self, *args, **kwargs)

    twin.__doc__ = f"Async twin of :meth:`{fn.__name__}` (runs it in a worker thread)."
    return twin


class CredentialStore(ModelConfigs, AuditTrail, ServiceUse, Attachments, KeyRotation):
    """Encrypted credentials, used by name. Open it with :meth:`CredentialStore.open`."""

    # -- opening and closing -------------------------------------------------------------
    @classmethod
    def open(cls, url: str | None = None, *, master_key: KeyInput | None = None) -> CredentialStore:
        """Open (creating when needed) the store at ``url``.

        With no ``url``: ``AGENTRUN_CREDS_URL``, then a per-user default SQLite file. Master
        keys, first found wins: ``master_key`` (one or a list; the first encrypts),
        ``AGENTRUN_CREDS_MASTER_KEYS`` (also as a file in the secrets directory),
        ``AGENTRUN_CREDS_KEY_FILE``, else a key file created beside the database (mode 0600).
        """
        settings = load_settings()
        url = url or settings.url or f"sqlite:///{default_db_path()}"
        backend = open_backend(url, settings)
        try:
            keys = KeyRing.load(master_key, settings, backend.default_key_file)
        except BaseException:
            backend.close()
            raise
        log.debug("opened credential store %s", backend.url)
        return cls(backend, keys, settings=settings)

    # -- credentials -----------------------------------------------------------------------
    def _create(
        self, name: str, credential: CredentialBase | Mapping[str, Any], description: str
    ) -> Flow[CredentialInfo]:
        """Validate and encrypt (before any lock is taken), then the flow that inserts."""
        check_name(name)
        cred = self._coerce(credential)
        description = self._description(description)
        if isinstance(cred, BasicAuthCredential):
            warnings.warn(
                f"credential {name!r}: Basic auth only base64-encodes the password; do not use "
                "it in production without HTTPS",
                BasicAuthWarning,
                stacklevel=3,
            )
        now = time.time()
        plaintext = credential_to_plaintext(cred)
        ad = self._ad(name, 1, kind_of(cred))
        rec = Record(
            name=name,
            category=cred.category,
            kind=kind_of(cred),
            enabled=True,
            description=description,
            version=1,
            created_at=now,
            updated_at=now,
            expires_at=cred.expires_at.timestamp() if cred.expires_at else None,
            preview=cred.preview(),
            blob=self._keys.encrypt(plaintext, ad),
        )
        return self._insert_flow(rec, plaintext, ad)

    def _insert_flow(self, rec: Record, plaintext: bytes, ad: bytes) -> Flow[CredentialInfo]:
        # The store's key is checked under the write lock: a rotation that switched keys
        # since the optimistic encryption above gets the record re-encrypted, never lost.
        current = yield "master_key_id", ()
        rec = replace(rec, blob=self._keys.seal(current, rec.blob, plaintext, ad))
        if not (yield "insert", (rec,)):
            raise CredentialExistsError(rec.name)
        yield "audit", (audit_row("created", rec.name),)
        log.debug("created credential %r (%s)", rec.name, rec.kind)
        return info_from_record(rec, ())

    def create(
        self, name: str, credential: CredentialBase | Mapping[str, Any], *, description: str = ""
    ) -> CredentialInfo:
        """Store a new credential, encrypted, at version 1 and enabled."""
        return run(self._backend, self._create(name, credential, description))

    async def acreate(
        self, name: str, credential: CredentialBase | Mapping[str, Any], *, description: str = ""
    ) -> CredentialInfo:
        return await arun(self._backend, self._create(name, credential, description))

    def get(self, name: str) -> CredentialInfo:
        """Metadata of one credential: never a secret."""
        rec = self._found(name, self._backend.get(name))
        return info_from_record(rec, self._backend.attachments(name))

    async def aget(self, name: str) -> CredentialInfo:
        rec = self._found(name, await self._backend.aget(name))
        return info_from_record(rec, await self._backend.aattachments(name))

    def list(self, *, category: str | None = None, kind: str | None = None) -> list[CredentialInfo]:
        """Every credential's metadata, by name; filter by ``category`` and/or ``kind``."""
        records = self._backend.list_records(category=category, kind=kind)
        return Listing(info_from_record(r, self._backend.attachments(r.name)) for r in records)

    async def alist(
        self, *, category: str | None = None, kind: str | None = None
    ) -> builtins.list[CredentialInfo]:
        records = await self._backend.alist_records(category=category, kind=kind)
        return Listing(
            [info_from_record(r, await self._backend.aattachments(r.name)) for r in records]
        )

    def _update(
        self,
        name: str,
        credential: CredentialBase | Mapping[str, Any] | None,
        description: str | None,
        expected_version: int | None,
        grace_seconds: float | None = None,
    ) -> Flow[CredentialInfo]:
        if credential is None and description is None:
            raise InvalidCredentialError(
                "update: give a new credential and/or a description; nothing to change"
            )
        cred = self._coerce(credential) if credential is not None else None
        if grace_seconds is not None:
            grace_seconds = check_grace_seconds(grace_seconds, cred)
        if description is not None:
            description = self._description(description)
        return self._update_flow(name, cred, description, expected_version, grace_seconds)

    def _update_flow(
        self,
        name: str,
        cred: CredentialBase | None,
        description: str | None,
        expected_version: int | None,
        grace_seconds: float | None = None,
    ) -> Flow[CredentialInfo]:
        current = yield "master_key_id", ()  # before the row lock: one lock order for all
        rec = self._found(name, (yield "get", (name,)))
        if expected_version is not None and rec.version != expected_version:
            raise VersionConflictError(name, expected_version, rec.version)
        version = rec.version + 1
        if cred is not None:
            if kind_of(cred) != rec.kind:
                raise InvalidCredentialError(
                    f"credential: {name!r} is a {rec.kind} credential and cannot become "
                    f"{kind_of(cred)}; delete it and create a new one"
                )
            if grace_seconds is None:
                plaintext = credential_to_plaintext(cred)
            else:
                plaintext = self._with_grace(rec, cred, grace_seconds)
            preview = cred.preview()
            expires = cred.expires_at.timestamp() if cred.expires_at else None
        else:
            plaintext = self._decrypt(rec)
            preview, expires = rec.preview, rec.expires_at
        blob = self._keys.encrypt_for(current, plaintext, self._ad(name, version, rec.kind))
        new = replace(
            rec,
            description=rec.description if description is None else description,
            version=version,
            updated_at=time.time(),
            expires_at=expires,
            preview=preview,
            blob=blob,
        )
        yield "replace", (new,)
        yield "audit", (audit_row("updated", name),)
        attachments = yield "attachments", (name,)
        log.debug("updated credential %r to version %d", name, version)
        return info_from_record(new, attachments)

    def _with_grace(self, rec: Record, cred: CredentialBase, grace_seconds: float) -> bytes:
        """The new record's plaintext carrying the old secret until ``now + grace_seconds``."""
        old = grace_secret(self._load(rec))
        new = credential_to_plaintext(cred)
        if old is not None and old != grace_secret(cred):
            new = seal_grace(new, old, time.time() + grace_seconds)
        return new

    def update(
        self,
        name: str,
        credential: CredentialBase | Mapping[str, Any] | None = None,
        *,
        description: str | None = None,
        expected_version: int | None = None,
        grace_seconds: float | None = None,
    ) -> CredentialInfo:
        """Replace the secret (same kind) and/or the description; bumps the version.

        With ``expected_version`` it is a compare-and-swap: ``VersionConflictError`` (409)
        when another writer got there first. With ``grace_seconds`` (API key and Basic
        credentials) the previous key or password stays valid for that many seconds, so
        callers can switch without downtime; it is kept encrypted in the same record.
        """
        flow = self._update(name, credential, description, expected_version, grace_seconds)
        return run(self._backend, flow)

    async def aupdate(
        self,
        name: str,
        credential: CredentialBase | Mapping[str, Any] | None = None,
        *,
        description: str | None = None,
        expected_version: int | None = None,
        grace_seconds: float | None = None,
    ) -> CredentialInfo:
        flow = self._update(name, credential, description, expected_version, grace_seconds)
        return await arun(self._backend, flow)

    def _enabled_flow(self, name: str, enabled: bool) -> Flow[CredentialInfo]:
        rec = self._found(name, (yield "get", (name,)))
        new = replace(rec, enabled=enabled, updated_at=time.time())
        yield "replace", (new,)
        yield "audit", (audit_row("enabled" if enabled else "disabled", name),)
        attachments = yield "attachments", (name,)
        log.debug("%s credential %r", "enabled" if enabled else "disabled", name)
        return info_from_record(new, attachments)

    def enable(self, name: str) -> CredentialInfo:
        """Allow use again; takes effect on the next resolve everywhere."""
        return run(self._backend, self._enabled_flow(name, True))

    def disable(self, name: str) -> CredentialInfo:
        """Refuse every use (401) from the next resolve on, in every process."""
        return run(self._backend, self._enabled_flow(name, False))

    async def aenable(self, name: str) -> CredentialInfo:
        return await arun(self._backend, self._enabled_flow(name, True))

    async def adisable(self, name: str) -> CredentialInfo:
        return await arun(self._backend, self._enabled_flow(name, False))

    def _delete_flow(self, name: str, force: bool) -> Flow[None]:
        self._found(name, (yield "get", (name,)))
        attached = yield "attachments", (name,)
        if attached and not force:
            raise CredentialInUseError(name, attached)
        yield "delete", (name,)
        reason = f"forced; {len(attached)} attachment(s) dropped" if attached else None
        yield "audit", (audit_row("deleted", name, reason=reason),)
        log.debug("deleted credential %r", name)

    def delete(self, name: str, *, force: bool = False) -> None:
        """Delete irreversibly; refused while resources are attached unless ``force``."""
        run(self._backend, self._delete_flow(name, force))

    async def adelete(self, name: str, *, force: bool = False) -> None:
        await arun(self._backend, self._delete_flow(name, force))

    # -- use -----------------------------------------------------------------------------
    def _use(self, name: str, rec: Record | None, resource: str | None) -> CredentialBase:
        if (
            rec is None
            or not rec.enabled
            or (rec.expires_at is not None and rec.expires_at <= time.time())
        ):
            raise self._refusal(name, rec, resource)
        try:
            cred = self._load(rec)
        except DecryptionError:
            self._audit.put("use_failed", name, resource, "decryption failed")
            raise
        self._audit.put("used", name, resource, None)
        return cred

    def resolve(self, name: str, *, resource: str | None = None) -> CredentialBase:
        """Decrypt now and return the credential (secret fields are ``SecretStr``).

        Reads the committed state on every call (as fresh as the backend's freshness duty):
        a change made by any process is seen by the next call. Audited as a use (queued,
        written off the hot path).
        """
        return self._use(name, self._backend.get(name), resource)

    async def aresolve(self, name: str, *, resource: str | None = None) -> CredentialBase:
        """Async twin of :meth:`resolve`; the read is the backend's non-blocking ``aget``."""
        cred = self._use(name, await self._backend.aget(name), resource)
        if self._audit.backlogged:  # flat-out callers wait for the audit trail (``audit``)
            await self._audit.make_room()
        return cred

    def _use_plaintext(self, name: str, resource: str | None) -> tuple[Record, bytes]:
        """:meth:`resolve` for the model clients' per-request hot path: the record and its
        plaintext, decrypted now, without rebuilding the kind object.

        Same reads, refusals (disabled, expired, missing) and audit events as ``resolve``, and
        a fresh AES-GCM decryption on every call. What is kept between calls, per credential
        name, is how to decrypt the record the backend returned last (its key object, nonce,
        ciphertext and associated data): ciphertext and metadata, never the plaintext. A
        changed record (update, rotation of the master key) is a new record, decrypted by the
        full path first. The caller must not keep the plaintext beyond its request.
        """
        rec = self._backend.get(name)
        op = self._openers.get(name)
        if (
            op is None
            or rec is not op[0]  # a changed (or missing) record: the full path decides
            or not rec.enabled
            or (rec.expires_at is not None and rec.expires_at <= time.time())
        ):
            return self._open(name, rec, resource)
        plaintext: bytes = op[1].decrypt(op[2], op[3], op[4])  # decrypted now, every call
        self._audit.put("used", name, resource, None)
        return rec, plaintext

    async def _ause_plaintext(self, name: str, resource: str | None) -> tuple[Record, bytes]:
        """Async twin of :meth:`_use_plaintext` (the backend's non-blocking read)."""
        found = self._open(name, await self._backend.aget(name), resource)
        if self._audit.backlogged:
            await self._audit.make_room()
        return found

    def _open(self, name: str, rec: Record | None, resource: str | None) -> tuple[Record, bytes]:
        if (
            rec is None
            or not rec.enabled
            or (rec.expires_at is not None and rec.expires_at <= time.time())
        ):
            raise self._refusal(name, rec, resource)
        op = self._openers.get(name)
        if op is not None and (op[0] is rec or op[0] == rec):  # a re-read of the same row
            plaintext: bytes = op[1].decrypt(op[2], op[3], op[4])
            self._openers[name] = (rec, *op[1:])
        else:
            ad = self._ad(rec.name, rec.version, rec.kind)
            try:
                plaintext = self._keys.decrypt(rec.blob, ad, name=rec.name)
            except DecryptionError:
                self._audit.put("use_failed", name, resource, "decryption failed")
                raise
            parts = self._keys.opener(rec.blob)
            if parts is not None:
                if len(self._openers) >= 4096:
                    self._openers.clear()
                self._openers[name] = (rec, *parts, ad)
        self._audit.put("used", name, resource, None)
        return rec, plaintext

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

    def verifier(self, name: str) -> Verifier:
        """A verifier of inbound callers against the service credential ``name``."""
        from .inbound import make_verifier

        return make_verifier(self, name)

    # -- checks --------------------------------------------------------------------------
    def check(self, name: str) -> CheckReport:
        """Validate a credential without using it, and say what to fix."""
        rec = self._found(name, self._backend.get(name))
        return check_record(rec, functools.partial(self._load, validate=True), self.ssl_context)

    acheck = _in_thread(check)

    def ssl_context(self) -> ssl.SSLContext:
        """The trust used for https fetches: system store, ``SSL_CERT_FILE``, ``ca_file``."""
        import ssl

        ctx = ssl.create_default_context()
        if self._settings.ca_file is not None:
            ctx.load_verify_locations(cafile=str(self._settings.ca_file))
        return ctx

    # -- outbound and inbound, reached by a local import (the arrows point away) -----------
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

        Redirects: with ``requests`` the credential's headers are dropped from a redirect to
        another origin (scheme, host, port). httpx and httpx2 follow redirects (when
        ``follow_redirects=True``) inside the auth flow, out of the auth's reach, and strip only
        ``Authorization``: wrap such a client with
        ``agentrun_creds_plugin.outbound.redirects.guard_client(client)`` (the clients the plugin
        builds have it already) or leave ``follow_redirects`` off. See docs/reliability.md.
        """
        from .outbound import http_auth

        return http_auth(
            self,
            name,
            resource=resource,
            service=service,
            region=region,
            action=action,
            version=version,
            unsigned_payload=unsigned_payload,
        )
