"""Key sets for JWT verification: a static JWKS, or one fetched over https and cached.

The fetch (``fetch.py``) is of the JWKS URL, or of the OIDC issuer's discovery document and
then its ``jwks_uri``, with the credential's configured method, headers and body.

A fetched set is refreshed every ``refresh_interval`` seconds, ahead of expiry in a background
thread, so no request waits for a fetch in steady state. A token with an unknown ``kid`` causes
at most one refetch per cooldown window (a flood of forged kids makes a handful of fetches). A
failed fetch, a response that is too large, not JSON, or without a usable public key is refused:
the last good set stays in use and the next attempt backs off. Certificates are always
verified, with the resolver's trust (system store, ``SSL_CERT_FILE``, ``ca_file``).
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from jwt import PyJWK

from .fetch import MAX_JWKS_BYTES, FetchError, JwksRequest, fetch_key_set

__all__ = ["MAX_JWKS_BYTES", "JwksSource", "usable_keys"]

log = logging.getLogger("agentrun_creds_plugin.inbound")

_PRIVATE_PARTS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


def usable_keys(jwks: Any) -> list[PyJWK]:
    """The public signing keys of a JWKS document; private, symmetric or broken keys skipped."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        return []
    keys: list[PyJWK] = []
    for data in jwks["keys"]:
        if not isinstance(data, dict) or data.get("kty") not in ("RSA", "EC", "OKP"):
            continue
        if any(p in data for p in _PRIVATE_PARTS) or data.get("use", "sig") != "sig":
            continue
        try:
            keys.append(PyJWK(data))
        except Exception:  # noqa: S112 - an unsupported curve or a malformed key: not usable
            continue
    return keys


class JwksSource:
    """The cached key set of one JWKS URL (thread-safe; shared by sync and async verifies)."""

    def __init__(
        self,
        url: str | None,
        ssl_context: Callable[[], ssl.SSLContext],
        *,
        refresh_interval: float,
        kid_cooldown: float = 10.0,
        timeout: float = 5.0,
        request: JwksRequest | None = None,
    ) -> None:
        self.request = request or JwksRequest(url=url)
        self.url = self.request.where
        self._ssl_context = ssl_context
        self.refresh_interval = refresh_interval
        self.kid_cooldown = min(kid_cooldown, 30.0)
        self.timeout = timeout
        self._keys: list[PyJWK] | None = None
        self._fetched_at = 0.0
        self._last_kid_fetch = -1e9
        self._next_attempt = 0.0
        self._failures = 0
        self._lock = threading.Lock()
        self._background: threading.Thread | None = None
        self.fetches = 0  # how many fetches were made (for tests and benchmarks)

    # -- what a verify needs ---------------------------------------------------------------
    def ready(self, kid: str | None) -> bool:
        """True when ``keys(kid)`` would answer without a blocking fetch."""
        now = time.monotonic()
        if self._keys is None or now - self._fetched_at >= self.refresh_interval:
            return now < self._next_attempt and self._keys is not None
        if kid is not None and not any(k.key_id == kid for k in self._keys):
            return now - self._last_kid_fetch < self.kid_cooldown
        return True

    def keys(self, kid: str | None) -> list[PyJWK]:
        """The current keys; fetches only on first use, when stale, or for a new ``kid``."""
        now = time.monotonic()
        age = now - self._fetched_at
        if self._keys is None or age >= self.refresh_interval:
            self._fetch_blocking(stale_only=True)
        elif age >= 0.75 * self.refresh_interval:
            self._refresh_in_background()
        keys = self._keys or []
        if kid is not None and not any(k.key_id == kid for k in keys):
            with self._lock:
                if time.monotonic() - self._last_kid_fetch >= self.kid_cooldown:
                    self._last_kid_fetch = time.monotonic()
                    self._fetch_locked()
            keys = self._keys or []
        return keys

    # -- fetching --------------------------------------------------------------------------
    def _fetch_blocking(self, *, stale_only: bool) -> None:
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if stale_only and self._keys is not None and age < self.refresh_interval:
                return  # another thread refreshed while we waited
            if time.monotonic() < self._next_attempt:
                return  # backing off after a failure: keep the last good set
            self._fetch_locked()

    def _refresh_in_background(self) -> None:
        if self._background is not None and self._background.is_alive():
            return
        if time.monotonic() < self._next_attempt:
            return
        thread = threading.Thread(
            target=self._fetch_blocking,
            kwargs={"stale_only": False},
            daemon=True,
            name="agentrun-jwks-refresh",
        )
        self._background = thread
        thread.start()

    def _fetch_locked(self) -> None:
        self.fetches += 1
        try:
            keys = usable_keys(self._download())
            if not keys:
                raise FetchError("the JWKS holds no usable public signing key", reason="no_keys")
        except Exception as exc:
            self._failures += 1
            backoff = min(2.0 ** (self._failures - 1), 60.0)
            self._next_attempt = time.monotonic() + backoff
            log.warning(
                "JWKS fetch for %s failed (%s); keeping the last good key set, retry in %.0f s",
                self.url,
                exc if isinstance(exc, FetchError) else type(exc).__name__,
                backoff,
            )
            return
        self._keys = keys
        self._fetched_at = time.monotonic()
        self._failures = 0
        self._next_attempt = 0.0
        log.debug("JWKS from %s: %d key(s)", self.url, len(keys))

    def _download(self) -> Any:
        doc, _where = fetch_key_set(self.request, self._ssl_context(), timeout=self.timeout)
        return doc
