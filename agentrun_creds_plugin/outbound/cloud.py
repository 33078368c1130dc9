"""Cloud AK/SK signing for outbound requests: options, dispatch to a provider's signer.

Pure apart from a process-wide cache of scoped signing keys (a scope lasts a day, so caching
the derived key saves most of a signature's cost).
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import InvalidCredentialError
from ..kinds import CloudAccessKeyCredential

__all__ = ["SigningOptions", "sign_cloud"]


@dataclass(frozen=True)
class SigningOptions:
    """Explicit signing targets; anything left ``None`` is derived from the URL and headers
    (the provider's convention), then from the credential's ``region``."""

    service: str | None = None
    region: str | None = None
    action: str | None = None
    version: str | None = None
    unsigned_payload: bool = False


_PROCESS_KEY = os.urandom(32)
_SIGNING_KEYS: dict[tuple[bytes | str, ...], bytes] = {}


def _scoped_key(derive: Callable[..., bytes], secret: str, ident: str, *scope: str) -> bytes:
    """A provider's scoped signing key, cached per (keyed digest of the secret, scope).

    The cache is keyed by an HMAC of the key pair under a per-process random key, so it
    holds no secret and a rotated secret gets its own entry; a scope lasts one day.
    """
    from ..signing._request import hmac_sha256

    digest = hmac_sha256(_PROCESS_KEY, f"{ident}\x00{secret}".encode())
    key: tuple[bytes | str, ...] = (digest, *scope)
    found = _SIGNING_KEYS.get(key)
    if found is None:
        if len(_SIGNING_KEYS) > 1024:
            _SIGNING_KEYS.clear()
        found = derive(secret, *scope)
        _SIGNING_KEYS[key] = found
    return found


def sign_cloud(
    cred: CloudAccessKeyCredential,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    now: float,
    options: SigningOptions = SigningOptions(),
) -> list[tuple[str, str]]:
    """The headers that sign one request with a cloud AK/SK (pure apart from a key cache)."""
    from ..signing import aliyun, aws, tencent

    if body is None and not (cred.provider == "aws" and options.unsigned_payload):
        raise InvalidCredentialError(
            "request body: a streaming body cannot be signed; send bytes (content=...), read "
            "the stream first, or for S3 use http_auth(..., unsigned_payload=True)"
        )
    secret = cred.access_key_secret.get_secret_value()
    token = cred.security_token.get_secret_value() if cred.security_token else None
    host = urllib.parse.urlsplit(url).netloc
    try:
        if cred.provider == "aws":
            try:
                target = aws.resolve_target(host, service=options.service, region=options.region)
            except ValueError:
                target = aws.resolve_target(
                    host, service=options.service, region=options.region or cred.region
                )
            date = aws.date_stamp(now)
            key = _scoped_key(
                aws.derive_signing_key,
                secret,
                cred.access_key_id,
                date,
                target.region,
                target.service,
            )
            return aws.sign(
                method,
                url,
                headers,
                body or b"",
                access_key_id=cred.access_key_id,
                secret_access_key=secret,
                now=now,
                session_token=token,
                service=target.service,
                region=target.region,
                unsigned_payload=options.unsigned_payload,
                signing_key=key,
            )
        if cred.provider == "tencent":
            tc = tencent.resolve_target(
                host,
                headers,
                service=options.service,
                region=options.region,
                action=options.action,
                version=options.version,
            )
            if tc.service is None:
                raise ValueError(f"cannot tell the Tencent Cloud service from host {host}")
            date = tencent.credential_date(int(now))
            key = _scoped_key(
                tencent.derive_signing_key, secret, cred.access_key_id, date, tc.service
            )
            return tencent.sign(
                method,
                url,
                headers,
                body or b"",
                secret_id=cred.access_key_id,
                secret_key=secret,
                now=int(now),
                token=token,
                service=tc.service,
                region=tc.region or cred.region,
                action=tc.action,
                version=tc.version,
                signing_key=key,
            )
        return aliyun.sign(
            method,
            url,
            headers,
            body or b"",
            access_key_id=cred.access_key_id,
            access_key_secret=secret,
            now=now,
            security_token=token,
            action=options.action,
            version=options.version,
        )
    except ValueError as exc:
        raise InvalidCredentialError(
            f"signing ({cred.provider}): {exc}; pass service=/region=/action=/version= to "
            "store.http_auth(...)"
        ) from None
