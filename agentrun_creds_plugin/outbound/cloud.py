"""Cloud AK/SK signing for outbound requests: options, dispatch to a provider's signer.

Pure apart from a process-wide cache of scoped signing keys (a scope lasts a day, so caching
the derived key saves most of a signature's cost).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

from ..errors import InvalidCredentialError
from ..kinds import CloudAccessKeyCredential
from ..signing.base import AccessKey, SigningOptions, SigningRequest, StreamingBodyError
from ..signing.registry import get_signer

__all__ = ["SigningOptions", "sign_cloud"]


_DEFAULT_OPTIONS = SigningOptions()
_PROCESS_KEY = os.urandom(32)
_SIGNING_KEYS: dict[tuple[bytes | str, ...], bytes] = {}


def _scoped_key(derive: Callable[..., bytes], secret: str, ident: str, *scope: str) -> bytes:
    """A provider's scoped signing key, cached per (keyed digest of the secret, scope).

    The cache is keyed by a BLAKE2b digest of the key pair under a per-process random key
    (one call, a third of an HMAC's cost), so it holds no secret and a rotated secret gets
    its own entry; a scope lasts one day.
    """
    digest = hashlib.blake2b(
        f"{ident}\x00{secret}".encode(), key=_PROCESS_KEY, digest_size=32
    ).digest()
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
    options: SigningOptions = _DEFAULT_OPTIONS,
) -> list[tuple[str, str]]:
    """The headers that sign one request with a cloud AK/SK (pure apart from a key cache).

    The credential's ``provider`` picks the signer from the registry
    (:func:`agentrun_creds_plugin.signing.get_signer`), so a signer registered there is
    used by ``http_auth`` and the HTTP adapters alike.
    """
    try:
        signer = get_signer(cred.provider)
    except LookupError as exc:
        raise InvalidCredentialError(f"signing: {exc}") from None
    key = AccessKey(
        cred.access_key_id,
        cred.access_key_secret.get_secret_value(),
        cred.security_token.get_secret_value() if cred.security_token else None,
        cred.region,
    )
    try:
        return signer.sign(
            SigningRequest(method, url, headers, body, now), key, options, _scoped_key
        )
    except StreamingBodyError:
        raise InvalidCredentialError(
            "request body: a streaming body cannot be signed; send bytes (content=...), read "
            "the stream first, or for S3 use http_auth(..., unsigned_payload=True)"
        ) from None
    except ValueError as exc:
        raise InvalidCredentialError(
            f"signing ({cred.provider}): {exc}; pass service=/region=/action=/version= to "
            "store.http_auth(...)"
        ) from None
