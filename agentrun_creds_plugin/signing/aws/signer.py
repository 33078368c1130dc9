"""AWS SigV4 as a :class:`~..base.Signer`: target from the host, cached scoped key, headers."""

from __future__ import annotations

from functools import lru_cache

from ..base import AccessKey, ScopedKeyCache, SigningOptions, SigningRequest, uncached
from .canonical import date_stamp, derive_signing_key
from .headers import sign
from .target import resolve_target

__all__ = ["AwsSigner"]

# A host's signing target never changes; looking it up costs more than the signature's hashes.
_target = lru_cache(maxsize=512)(resolve_target)


class AwsSigner:
    """Header signing; ``options.unsigned_payload`` also lets a streaming body through (S3)."""

    def sign(
        self,
        request: SigningRequest,
        key: AccessKey,
        options: SigningOptions,
        keys: ScopedKeyCache = uncached,
    ) -> list[tuple[str, str]]:
        """The SigV4 headers; the credential's region fills in when the host names none."""
        body = request.require_body(allow_stream=options.unsigned_payload)
        host = request.host
        try:
            target = _target(host, service=options.service, region=options.region)
        except ValueError:
            target = _target(host, service=options.service, region=options.region or key.region)
        signing_key = keys(
            derive_signing_key,
            key.secret,
            key.access_key_id,
            date_stamp(request.now),
            target.region,
            target.service,
        )
        return sign(
            request.method,
            request.url,
            request.headers,
            body,
            access_key_id=key.access_key_id,
            secret_access_key=key.secret,
            now=request.now,
            session_token=key.token,
            service=target.service,
            region=target.region,
            unsigned_payload=options.unsigned_payload,
            signing_key=signing_key,
        )
