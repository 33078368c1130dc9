"""FastAPI: ``Depends(require_credential(store, "svc-key", scopes=[...]))`` per route.

The dependency verifies the request with the stored credential (read on every request, so an
update, a disable or a rotation takes effect on the next one) and returns the
:class:`~agentrun_creds_plugin.inbound.Principal`. It also declares the OpenAPI security scheme
that matches the credential: ``APIKeyHeader`` under the configured header name for an API key,
``HTTPBearer`` for a JWT (or an API key sent as ``Authorization: Bearer <key>``), ``HTTPBasic``
for Basic, so ``/docs`` shows the lock and the "Authorize" dialog asks for the right thing.

Refusals are FastAPI ``HTTPException``s: 401 with ``WWW-Authenticate`` or 403, body
``{"detail": {"error": ..., "reason": ...}}`` (FastAPI's shape, holding the same pair as the
ASGI middleware's body); 503 when the store cannot be reached. Each route attaches itself to
the credential as ``("service", "<METHODS> <path>")`` on its first request (or ``service=``
at once), so ``store.delete`` refuses while a route relies on it.

FastAPI is imported when :func:`require_credential` is called, never by importing the package.
This module deliberately has no ``from __future__ import annotations``: FastAPI reads the
dependency's annotations as objects.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

from ..errors import (
    AuthenticationError,
    CredentialError,
    PermissionDeniedError,
    StoreUnavailableError,
)
from ..inbound import Principal, make_verifier
from ..kinds import ApiKeyCredential, BasicAuthCredential
from ..resolver import CredentialResolver
from .asgi import PRINCIPAL_KEY, refusal_body

__all__ = ["require_credential", "security_scheme"]

log = logging.getLogger("agentrun_creds_plugin.inbound")


def security_scheme(store: CredentialResolver, name: str) -> Any:
    """The ``fastapi.security`` object documenting how ``name`` is sent (``auto_error=False``:
    verification is the credential's, and its refusals say more than FastAPI's)."""
    from fastapi.security import APIKeyHeader, HTTPBasic, HTTPBearer

    resolve_service = getattr(store, "resolve_service", None)
    try:  # the non-secret fields only; read without an audit event where the store can
        cred = resolve_service(name)[0] if resolve_service else store.resolve(name)
    except CredentialError as exc:
        log.warning(
            "require_credential(%r): %s; documenting it as a bearer token", name, type(exc).__name__
        )
        return HTTPBearer(auto_error=False, scheme_name=name)
    if isinstance(cred, ApiKeyCredential):
        if cred.header_name.lower() == "authorization" and (cred.prefix or "").lower() == "bearer":
            return HTTPBearer(auto_error=False, scheme_name=name)
        return APIKeyHeader(name=cred.header_name, auto_error=False, scheme_name=name)
    if isinstance(cred, BasicAuthCredential):
        return HTTPBasic(auto_error=False, scheme_name=name)
    return HTTPBearer(auto_error=False, scheme_name=name, bearerFormat="JWT")


def _route_name(scope: Any) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None) or scope.get("path") or "/"
    methods = getattr(route, "methods", None)
    if scope.get("type") == "websocket":
        return f"WS {path}"
    return f"{','.join(sorted(methods)) if methods else scope.get('method', 'GET')} {path}"


def require_credential(
    store: CredentialResolver,
    name: str,
    *,
    scopes: Sequence[str] = (),
    service: str | None = None,
) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency accepting callers that ``name`` verifies (and hold ``scopes``).

    Use it as ``principal: Principal = Depends(require_credential(store, "svc-key"))`` or in
    ``dependencies=[...]``. ``service`` attaches the credential under that name now, instead of
    under each route's ``"<METHODS> <path>"`` on its first request.
    """
    from fastapi import Depends, HTTPException, Request

    verifier = make_verifier(store, name)
    scheme = security_scheme(store, name)
    required = tuple(scopes)
    attached: set[str] = set()
    if service is not None:
        store.attach(name, "service", service)
        attached.add(service)

    def refuse(error: AuthenticationError | PermissionDeniedError | StoreUnavailableError) -> Any:
        import json

        headers = (
            {"WWW-Authenticate": verifier.www_authenticate()} if error.status_code == 401 else None
        )
        return HTTPException(
            status_code=error.status_code, detail=json.loads(refusal_body(error)), headers=headers
        )

    async def dependency(request: Request, _sent: Annotated[Any, Depends(scheme)]) -> Principal:
        route = _route_name(request.scope)
        if service is None and route not in attached:
            try:
                await store.aattach(name, "service", route)
                attached.add(route)
            except CredentialError:
                pass  # not configured: the verify below answers 401 saying so
        resource = f"route:{route}"
        try:
            principal = await verifier.averify(request.headers.raw, resource=resource, audit=False)
        except (AuthenticationError, PermissionDeniedError) as error:
            verifier.record(error, resource)
            raise refuse(error) from None
        except StoreUnavailableError as error:
            raise refuse(error) from None
        except Exception:  # never a 500 for what a caller sends
            unreadable = AuthenticationError("credentials could not be verified", name=name)
            verifier.record(unreadable, resource)
            raise refuse(unreadable) from None
        missing = [s for s in required if s not in principal.scopes]
        if missing:
            denied = PermissionDeniedError(f"missing scope {' '.join(missing)}", name=name)
            verifier.record(denied, resource)
            raise refuse(denied)
        verifier.record(principal, resource)
        request.scope[PRINCIPAL_KEY] = principal
        return principal

    dependency.__name__ = f"require_credential_{name.replace('-', '_')}"
    return dependency
