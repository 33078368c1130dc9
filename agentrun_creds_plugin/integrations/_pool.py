"""One shared connection pool per client configuration for the model clients the plugin builds.

Why: a default ``openai.DefaultHttpxClient()`` (or anthropic's) builds a new ``httpx2``
transport, which loads the system certificates into a fresh SSL context (about 20 ms) and
starts with an empty connection pool. An agent that builds a chat model per run or per tenant
paid that on every build, plus a new TLS handshake per model.

How: the pooled part of a client (the ``httpx2`` transport: SSL context and connections) is
cached process-wide, keyed by a frozen :class:`PoolConfig` (SDK flavour, sync or async,
limits, verify, http2, proxy, the SSL environment). Each model then gets its own thin
``httpx2`` client (about 10 µs to build) that sends through the shared transport and carries
*that model's* auth, so the key is still set per request by the model's own binding: sharing
the pool cannot mix tenants, because nothing that picks a key is shared.

Decisions:

- The shared transports ignore ``close()``: an SDK client closed by its owner (``with
  openai_client(...) as c:``) must not close the pool under every other model. The sync
  transports are closed at interpreter exit.
- Async transports are per event loop (``httpx2``'s async connections belong to the loop that
  opened them): the thin async client's transport picks, on each request, the pool of the
  running loop; a pool goes away with its loop.
- Environment proxies (``HTTPS_PROXY``, ``NO_PROXY``...) are read when a client is built, as
  ``httpx2`` does, and each proxy URL gets its own shared transport.
- Thread-safe: the caches are filled under a lock; ``httpx2``'s pools are thread-safe.
- Only clients the plugin builds itself are pooled; a caller's ``http_client`` is used as is.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import socket
import threading
import weakref
from dataclasses import dataclass, replace
from typing import Any

import httpx2

__all__ = ["PoolConfig", "pooled_client", "shared_transport"]


@dataclass(frozen=True)
class PoolConfig:
    """What makes two pools different; equal configs share one pool."""

    flavour: str  # "openai" | "anthropic": the SDK whose default client is reproduced
    asynchronous: bool
    max_connections: int | None = 1000
    max_keepalive: int | None = 100
    keepalive_expiry: float | None = 5.0
    verify: bool | str = True
    http2: bool = False
    proxy: str | None = None
    ssl_env: tuple[str | None, str | None] = (None, None)  # SSL_CERT_FILE, SSL_CERT_DIR


def _socket_options() -> list[tuple[int, int, int | bool]]:
    """anthropic's default TCP keep-alive options (its default client sets them)."""
    options: list[tuple[int, int, int | bool]] = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, True)]
    for name, value in (("TCP_KEEPINTVL", 60), ("TCP_KEEPCNT", 5), ("TCP_KEEPIDLE", 60)):
        opt = getattr(socket, name, None)
        if opt is not None:
            options.append((socket.IPPROTO_TCP, opt, value))
    return options


def _transport_kwargs(config: PoolConfig) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "verify": config.verify,
        "http2": config.http2,
        "limits": httpx2.Limits(
            max_connections=config.max_connections,
            max_keepalive_connections=config.max_keepalive,
            keepalive_expiry=config.keepalive_expiry,
        ),
    }
    if config.proxy is not None:
        kwargs["proxy"] = config.proxy
    if config.flavour == "anthropic":
        kwargs["socket_options"] = _socket_options()
    return kwargs


def _new_transport(config: PoolConfig) -> Any:
    return httpx2.AsyncHTTPTransport(**_transport_kwargs(config))


class _SharedTransport(httpx2.HTTPTransport):
    """A process-wide sync pool; ``close()`` from one client leaves it open for the others.

    A subclass rather than a wrapper: a wrapper's extra call on every request showed in the
    added time of a model call.
    """

    def close(self) -> None:
        """Ignored: the pool is shared (closed at interpreter exit)."""

    def __enter__(self) -> _SharedTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Ignored, as ``close()``: ``with client:`` exits its transport."""

    def close_pool(self) -> None:
        httpx2.HTTPTransport.close(self)


class _LoopTransport(httpx2.AsyncBaseTransport):
    """Async pools, one per event loop, picked on each request; ``aclose()`` is ignored."""

    def __init__(self, config: PoolConfig) -> None:
        self._config = config
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def _pool(self) -> Any:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            with self._lock:
                pool = self._pools.get(loop)
                if pool is None:
                    pool = self._pools[loop] = _new_transport(self._config)
        return pool

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response: httpx2.Response = await self._pool().handle_async_request(request)
        return response

    async def aclose(self) -> None:
        """Ignored: the pools are shared; each goes away with its event loop."""


_LOCK = threading.Lock()
_TRANSPORTS: dict[PoolConfig, Any] = {}


def shared_transport(config: PoolConfig) -> Any:
    """The process-wide transport for ``config`` (created once, thread-safe)."""
    found = _TRANSPORTS.get(config)
    if found is None:
        with _LOCK:
            found = _TRANSPORTS.get(config)
            if found is None:
                if config.asynchronous:
                    found = _LoopTransport(config)
                else:
                    found = _SharedTransport(**_transport_kwargs(config))
                _TRANSPORTS[config] = found
    return found


@atexit.register
def _close_all() -> None:
    with _LOCK:
        transports = list(_TRANSPORTS.values())
        _TRANSPORTS.clear()
    for transport in transports:
        if isinstance(transport, _SharedTransport):
            transport.close_pool()


def _base_config(flavour: str, asynchronous: bool) -> PoolConfig:
    return PoolConfig(
        flavour,
        asynchronous,
        ssl_env=(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")),
    )


def pooled_client(flavour: str, *, asynchronous: bool, auth: httpx2.Auth | None = None) -> Any:
    """A thin SDK default client (``openai``/``anthropic`` ``Default[Async]HttpxClient``) on the
    shared pool, with ``auth`` as its own. Same timeouts, redirects and proxies as the SDK's."""
    if flavour == "openai":
        import openai as sdk
    else:
        import anthropic as sdk  # type: ignore[no-redef]
    config = _base_config(flavour, asynchronous)
    mounts: dict[str, Any] = {}
    for pattern, proxy in httpx2._utils.get_environment_proxies().items():
        mounts[pattern] = None if proxy is None else shared_transport(replace(config, proxy=proxy))
    cls = sdk.DefaultAsyncHttpxClient if asynchronous else sdk.DefaultHttpxClient
    return cls(transport=shared_transport(config), mounts=mounts, auth=auth)
