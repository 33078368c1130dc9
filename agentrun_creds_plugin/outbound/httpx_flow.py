"""The httpx / httpx2 adapter: auth flows in the shape of httpx's ``_auth.py``.

``sync_auth_flow`` and ``async_auth_flow`` do the I/O (resolving the credential), then hand
over to the pure plan (:func:`~.plan.apply_credential`); no lock is held across a ``yield``.
A key sent in the query is taken back out of the request's URL once the response is in.
AWS SigV4 takes a fast path (:mod:`.aws_flow`) that signs straight off the request.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Any

from ..kinds import CredentialBase
from .aws_flow import forget_headers, sign_httpx_request
from .base import ResolvingAuth
from .plan import REDACTED, AuthPlan, apply_credential, redact_url, set_headers
from .redaction import redact_query_in_logs
from .redirects import mark_sent

__all__ = ["HttpxFlows"]


class HttpxFlows(ResolvingAuth):
    """``sync_auth_flow`` / ``async_auth_flow`` / ``auth_flow`` for httpx and httpx2."""

    def _plan_for(self, cred: CredentialBase, request: Any) -> AuthPlan:
        body: bytes | None
        try:
            body = request.content
        except Exception:  # httpx.RequestNotRead: a stream that was not read
            body = None
        headers = request.headers.multi_items()  # a fresh list of pairs
        plan = apply_credential(
            cred, request.method, str(request.url), headers, body, signing=self.signing
        )
        for param in plan.redact_query:
            redact_query_in_logs(param)
        return plan

    @staticmethod
    def _apply(request: Any, plan: AuthPlan) -> bool:
        """Put the plan on the request; True when the URL now holds a key."""
        if plan.query:
            request.url = request.url.copy_merge_params(plan.query)
        set_headers(request.headers, plan.headers)
        mark_sent(request, plan.headers, plan.query)  # dropped on a cross-origin redirect
        return bool(plan.query)

    @staticmethod
    def _restore(request: Any, plan: AuthPlan) -> None:
        request.url = type(request.url)(redact_url(str(request.url), plan.redact_query))

    @staticmethod
    def _forget(request: Any, plan: AuthPlan) -> None:
        """Once sent, the request keeps no key: ``response.request`` and a transport error's
        ``request`` (printed, logged, pickled) show ``[REDACTED]`` (each send sets it anew)."""
        for name in plan.headers:
            if name in request.headers:
                request.headers[name] = REDACTED

    def sync_auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        if self.requires_request_body:
            request.read()
        cred = self._resolve()
        signed = sign_httpx_request(cred, request, self.signing, self._aws_urls)
        if signed is not None:
            try:
                yield request
            finally:
                forget_headers(request, signed)
            return
        plan = self._plan_for(cred, request)
        in_url = self._apply(request, plan)
        try:
            yield request
        finally:
            self._forget(request, plan)
            if in_url:
                self._restore(request, plan)

    async def async_auth_flow(self, request: Any) -> AsyncGenerator[Any, Any]:
        if self.requires_request_body:
            await request.aread()
        cred = await self._aresolve()
        signed = sign_httpx_request(cred, request, self.signing, self._aws_urls)
        if signed is not None:
            try:
                yield request
            finally:
                forget_headers(request, signed)
            return
        plan = self._plan_for(cred, request)
        in_url = self._apply(request, plan)
        try:
            yield request
        finally:
            self._forget(request, plan)
            if in_url:
                self._restore(request, plan)

    def auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        """httpx's generic entry point (used by custom transports): same as the sync flow."""
        yield from self.sync_auth_flow(request)
