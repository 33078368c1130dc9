"""The ``requests`` adapter: requests calls the auth with each prepared request it is given.

On a redirect, requests does not call the auth again: it copies the prepared request (headers
included). A response hook drops the credential's headers before that copy when the redirect
leaves the origin (:mod:`.redirects`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import ResolvingAuth
from .plan import apply_credential, redact_url, set_query
from .redaction import redact_query_in_logs
from .redirects import origin, requests_redirect_hook

__all__ = ["RequestsAuth"]


def _body_bytes(body: Any) -> bytes | None:
    """The prepared body as bytes; None for a file or generator (a signer refuses clearly)."""
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    return body if isinstance(body, bytes) else None


def _redactor(params: tuple[str, ...]) -> Callable[..., Any]:
    """A ``requests`` response hook: the key leaves the URLs the caller can see."""

    def hook(response: Any, *args: Any, **kwargs: Any) -> Any:
        response.url = redact_url(response.url, params)
        response.request.url = redact_url(response.request.url, params)
        return response

    return hook


class RequestsAuth(ResolvingAuth):
    """``requests`` auth callable (``requests.get(url, auth=...)``)."""

    def __call__(self, request: Any) -> Any:
        cred = self._resolve()
        headers = list(request.headers.items())
        plan = apply_credential(
            cred,
            request.method,
            request.url,
            headers,
            _body_bytes(request.body),
            signing=self.signing,
        )
        if plan.query:
            for param in plan.redact_query:
                redact_query_in_logs(param)
            request.url = set_query(request.url, plan.query)
            request.register_hook("response", _redactor(plan.redact_query))
        for k, v in plan.headers.items():
            request.headers[k] = v
        # requests copies these headers to every redirect: dropped when it leaves the origin
        request.register_hook(
            "response",
            requests_redirect_hook(origin(request.url), tuple(plan.headers), tuple(plan.query)),
        )
        return request
