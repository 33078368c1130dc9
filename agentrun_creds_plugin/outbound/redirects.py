"""A key never follows a redirect to another origin.

Policy: on a redirect whose target has another origin (scheme, host and port) than the request
the credential was added to, the headers and query parameters the plugin added are **dropped**
from the redirected request (the redirect itself is still followed, as browsers and the HTTP
libraries do with ``Authorization``). Same-origin redirects keep the headers. A key sent in the
query string is never copied by the plugin to a redirect: the redirect's URL is the one in its
``Location`` header (the parameter is removed from it on a cross-origin redirect).

Why it is needed: ``requests``, ``httpx`` and ``httpx2`` strip only ``Authorization`` on a
cross-origin redirect; an ``X-Api-Key`` or a custom header reaches the other host.

Where it is enforced:

- ``requests`` (``requests.get(url, auth=store.http_auth(name))`` and the sessions
  ``requires_credential`` injects): the auth registers a response hook on the prepared request.
  ``Session.send`` runs the hooks before ``Session.resolve_redirects`` copies the request, so
  the hook removes the credential's headers from it when the ``Location`` is on another origin.
- ``httpx`` / ``httpx2`` clients the plugin builds (tool clients, model SDK clients): the auth
  records what it added in the request's ``extensions`` (which httpx hands on to each redirect
  request) and a ``"request"`` event hook, which httpx runs before every send, redirects
  included, drops it on another origin.
- A bare ``httpx.Client(auth=store.http_auth(name), follow_redirects=True)`` follows redirects
  *inside* the auth flow, out of the auth's reach: add :func:`guard_client` to it (``guard_client
  (client)``), or leave ``follow_redirects`` off (httpx's default).
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

__all__ = [
    "SENT_EXTENSION",
    "drop_cross_origin",
    "guard_client",
    "mark_sent",
    "origin",
    "requests_redirect_hook",
    "strip_query",
]

log = logging.getLogger("agentrun_creds_plugin.outbound.redirects")

#: The ``extensions`` key under which the auth records (origin, header names, query names).
SENT_EXTENSION = "agentrun_creds_sent"

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``, the port made explicit for http and https."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


def strip_query(url: str, params: Iterable[str]) -> str:
    """``url`` without the query parameters ``params``."""
    names = set(params)
    parts = urllib.parse.urlsplit(url)
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if k not in names]
    if len(kept) == len(pairs):
        return url
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(kept)))


def _url_origin(url: Any) -> tuple[str, str, int | None]:
    """:func:`origin` of an httpx/httpx2 ``URL``, from its parsed parts (no string round trip).

    The port is made explicit as in :func:`origin`: the libraries drop a default port only
    for some spellings (``HTTPS://h:443`` keeps its 443).
    """
    scheme = url.scheme.lower()
    return scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(scheme)


def mark_sent(request: Any, headers: Iterable[str], query: Iterable[str] = ()) -> None:
    """Record on an httpx/httpx2 request what the credential added (names only).

    Runs on every request, so it does no URL work: when the credential added headers only,
    the request's own ``URL`` object is recorded (it holds no key) and its origin is only
    worked out if the request is redirected; when it added query parameters, the URL now
    holds a key, so only its origin is kept.
    """
    names = tuple(headers)
    params = tuple(query)
    if names or params:
        url = request.url
        request.extensions[SENT_EXTENSION] = (_url_origin(url) if params else url, names, params)


def drop_cross_origin(request: Any) -> None:
    """Drop the credential's headers and query from ``request`` if it left its origin."""
    sent = request.extensions.get(SENT_EXTENSION)
    if sent is None:
        return
    first, names, params = sent
    url = request.url
    if url is first:  # the request the credential was put on, not a redirect of it
        return
    if _url_origin(url) == (first if isinstance(first, tuple) else _url_origin(first)):
        return
    for name in names:
        if name in request.headers:
            del request.headers[name]
    if params:
        request.url = type(request.url)(strip_query(str(request.url), params))
    log.debug(
        "redirect to another origin: credential headers %s and query %s dropped",
        sorted(names),
        sorted(params),
    )


async def _adrop_cross_origin(request: Any) -> None:
    drop_cross_origin(request)


def guard_client(client: Any) -> Any:
    """Add the redirect guard to an httpx/httpx2 client's ``"request"`` event hooks.

    Idempotent; returns ``client``. Async clients get a coroutine hook, as httpx requires.
    """
    is_async = hasattr(client, "aclose")
    hook: Callable[[Any], Any] | Callable[[Any], Awaitable[None]]
    hook = _adrop_cross_origin if is_async else drop_cross_origin
    hooks = client.event_hooks
    request_hooks = list(hooks.get("request", []))
    if hook not in request_hooks:
        hooks["request"] = [*request_hooks, hook]
        client.event_hooks = hooks
    return client


def requests_redirect_hook(
    sent_origin: tuple[str, str, int | None], names: tuple[str, ...], params: tuple[str, ...]
) -> Callable[..., Any]:
    """A ``requests`` response hook: before ``resolve_redirects`` copies the request for a
    redirect to another origin, the credential's headers leave it (and its query parameters
    leave the ``Location``)."""

    def hook(response: Any, *args: Any, **kwargs: Any) -> Any:
        if not response.is_redirect:
            return response
        target = urllib.parse.urljoin(response.url, response.headers["location"])
        if origin(target) == sent_origin:
            return response
        for name in names:
            response.request.headers.pop(name, None)
        if params:
            response.headers["location"] = strip_query(response.headers["location"], params)
        log.debug(
            "redirect to another origin: credential headers %s and query %s dropped",
            sorted(names),
            sorted(params),
        )
        return response

    return hook
