"""``CredentialAuthMiddleware``: pure ASGI protection of a whole app by stored credentials.

Any ASGI app (Starlette, FastAPI, Quart, a bare callable) is wrapped; ``http`` and
``websocket`` connections are verified before the app sees them, ``lifespan`` passes through.
A caller is accepted when one of the listed credentials verifies its headers; the
:class:`~agentrun_creds_plugin.inbound.Principal` lands at ``scope["agentrun.principal"]`` and
``scope["user"]`` / ``scope["auth"]`` are set the way Starlette's ``AuthenticationMiddleware``
sets them, so ``request.user`` and Starlette's ``@requires`` work.

Refusals: 401 with ``WWW-Authenticate`` (the scheme of each expected credential) and a JSON body
``{"error": "unauthorized", "reason": ...}``; 403 ``{"error": "forbidden", ...}`` for a caller that
authenticated but fails an audience or scope rule; 503 when the store cannot be reached. A
websocket is refused before it is accepted: an HTTP 401/403 response where the server offers
the ``websocket.http.response`` extension, else a close with code 1008 (policy violation). No
input makes it answer 500, and no answer, log line or audit row holds a token or key.

Starlette is not imported here: the user and auth objects below have the attributes Starlette
reads (``is_authenticated``, ``display_name``, ``identity``; ``scopes``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import Any

from ..errors import AuthenticationError, PermissionDeniedError, StoreUnavailableError
from ..inbound import Principal, Verifier, make_verifier
from ..resolver import CredentialResolver

__all__ = [
    "PRINCIPAL_KEY",
    "AuthScopes",
    "CredentialAuthMiddleware",
    "CredentialUser",
    "UnauthenticatedUser",
    "choose_refusal",
    "route_resource",
]

log = logging.getLogger("agentrun_creds_plugin.inbound")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Where the middleware (and the FastAPI dependency) put the verified Principal.
PRINCIPAL_KEY = "agentrun.principal"
Refusal = AuthenticationError | PermissionDeniedError


class CredentialUser:
    """``request.user`` for a verified caller (Starlette's ``BaseUser`` attributes)."""

    __slots__ = ("principal",)

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.principal.subject or self.principal.credential

    @property
    def identity(self) -> str:
        return self.principal.subject or self.principal.credential

    def __repr__(self) -> str:
        return f"CredentialUser({self.principal!r})"


class UnauthenticatedUser:
    """``request.user`` on an excluded path (as Starlette's ``UnauthenticatedUser``)."""

    is_authenticated = False
    display_name = ""
    identity = ""


class AuthScopes:
    """``request.auth``: the granted scopes, as Starlette's ``AuthCredentials``."""

    __slots__ = ("scopes",)

    def __init__(self, scopes: Iterable[str] | None = None) -> None:
        self.scopes = list(scopes or [])

    def __repr__(self) -> str:
        return f"AuthScopes({self.scopes!r})"


def granted_scopes(principal: Principal) -> list[str]:
    """``authenticated`` (Starlette's convention) plus the token's scopes."""
    if not principal.claims:  # an API key or Basic caller: no scopes to read
        return ["authenticated"]
    return ["authenticated", *principal.scopes]


def route_resource(scope: Scope) -> str:
    """The audit resource of a request: ``route:<METHOD> <path>`` (never the query string)."""
    method = "WS" if scope.get("type") == "websocket" else str(scope.get("method", "GET"))
    path = scope.get("route_path") or scope.get("path") or "/"
    return f"route:{method} {str(path)[:200]}"


def choose_refusal(failures: Sequence[tuple[Verifier, Refusal]]) -> tuple[Verifier, Refusal]:
    """The refusal that tells the caller most: a 403 (they did authenticate), then a 401 for a
    credential they visibly tried (not "missing header" / "expected ..."), then the first."""
    for verifier, error in failures:
        if isinstance(error, PermissionDeniedError):
            return verifier, error
    for verifier, error in failures:
        if not error.reason.startswith(_NOT_TRIED):
            return verifier, error
    return failures[0]


# Reasons that mean "the caller did not send this credential at all".
_NOT_TRIED = ("missing header", "expected header", "expected 'Authorization:")


def refusal_body(error: Refusal | StoreUnavailableError) -> bytes:
    if isinstance(error, PermissionDeniedError):
        kind = "forbidden"
    elif isinstance(error, StoreUnavailableError):
        kind = "unavailable"
    else:
        kind = "unauthorized"
    reason = getattr(error, "reason", "the credential store is unavailable; retry later")
    return json.dumps({"error": kind, "reason": reason}).encode()


def _matches(path: str, patterns: Sequence[str]) -> bool:
    for pattern in patterns:
        if pattern.endswith("*"):
            if path.startswith(pattern[:-1]):
                return True
        elif path == pattern:
            return True
    return False


class CredentialAuthMiddleware:
    """Verify every http and websocket connection against any of ``credentials``.

    ``exclude_paths``: paths served without verification (exact, or a prefix ending in ``*``,
    e.g. ``"/docs*"``). ``scopes``: scopes every caller must hold (403 otherwise).
    ``name``: the service name this app is attached to the credentials under (the
    ``("service", name)`` attachment makes ``store.delete`` refuse while the app relies on
    them); defaults to the app's ``title`` or class name.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: CredentialResolver,
        credentials: Sequence[str],
        exclude_paths: Sequence[str] = (),
        scopes: Sequence[str] = (),
        name: str | None = None,
    ) -> None:
        if isinstance(credentials, str) or not credentials:
            raise ValueError("credentials: give a non-empty list of credential names")
        self.app = app
        self.store = store
        self.verifiers = [make_verifier(store, c) for c in credentials]
        self.exclude_paths = tuple(exclude_paths)
        self.scopes = tuple(scopes)
        # The common setup (one credential, no scope rule) takes a shorter path per request.
        self._single = self.verifiers[0] if len(self.verifiers) == 1 and not self.scopes else None
        self.name = name or str(getattr(app, "title", None) or type(app).__name__)
        self._seen: tuple[Principal, CredentialUser] | None = None
        self._resources: dict[tuple[Any, Any, Any], str] = {}
        for credential in credentials:
            try:
                store.attach(credential, "service", self.name)
            except Exception as exc:  # a missing credential: requests get a 401 saying so
                log.warning(
                    "CredentialAuthMiddleware %r: could not attach credential %r (%s)",
                    self.name,
                    credential,
                    type(exc).__name__,
                )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        if self.exclude_paths and _matches(str(scope.get("path", "")), self.exclude_paths):
            scope.setdefault("user", UnauthenticatedUser())
            scope.setdefault("auth", AuthScopes())
            await self.app(scope, receive, send)
            return
        single = self._single
        if single is not None:
            principal = single.accept_exact(scope.get("headers"), self._resource(scope))
            if principal is not None:
                seen = self._seen
                if seen is None or seen[0] is not principal:
                    # A digest match returns one Principal per credential version.
                    seen = self._seen = (principal, CredentialUser(principal))
                scope[PRINCIPAL_KEY] = principal
                scope["user"] = seen[1]
                scope["auth"] = AuthScopes(["authenticated"])  # an API key or Basic caller
                await self.app(scope, receive, send)
                return
        try:
            outcome = await self.authenticate(scope)
        except Exception:  # never a 500: anything unexpected is a refusal
            log.debug("inbound: unexpected failure while verifying; refused", exc_info=False)
            outcome = (self.verifiers[0], AuthenticationError("credentials could not be verified"))
        if isinstance(outcome, Principal):
            scope[PRINCIPAL_KEY] = outcome
            scope["user"] = CredentialUser(outcome)
            scope["auth"] = AuthScopes(granted_scopes(outcome))
            await self.app(scope, receive, send)
            return
        await self.refuse(scope, receive, send, *outcome)

    def _resource(self, scope: Scope) -> str:
        """:func:`route_resource`, remembered for up to 1,024 routes: it is the same string
        for every request to a route, and formatting it costs more than a dict lookup."""
        path = scope.get("path")
        key = (scope.get("method") or scope.get("type"), path, scope.get("route_path"))
        found = self._resources.get(key)
        if found is None:
            found = route_resource(scope)
            if len(self._resources) < 1024 and type(path) is str and len(path) <= 200:
                self._resources[key] = found
        return found

    async def authenticate(
        self, scope: Scope
    ) -> Principal | tuple[Verifier | None, Refusal | StoreUnavailableError]:
        """The Principal of the first credential that verifies, else the refusal to send."""
        headers = scope.get("headers") or []
        resource = self._resource(scope)
        if self._single is not None:  # one credential, no scope rule: it audits itself
            try:
                return await self._single.averify(headers, resource=resource)
            except (AuthenticationError, PermissionDeniedError) as error:
                log.debug("inbound: %s refused (%s): %s", resource, self._single.name, error.reason)
                return self._single, error
            except StoreUnavailableError as error:
                return None, error
        failures: list[tuple[Verifier, Refusal]] = []
        for verifier in self.verifiers:
            try:
                principal = await verifier.averify(headers, resource=resource, audit=False)
            except (AuthenticationError, PermissionDeniedError) as error:
                failures.append((verifier, error))
                continue
            except StoreUnavailableError as error:
                return None, error
            missing = [s for s in self.scopes if s not in principal.scopes]
            if missing:
                denied = PermissionDeniedError(f"missing scope {' '.join(missing)}")
                verifier.record(denied, resource)
                return verifier, denied
            verifier.record(principal, resource)
            return principal
        chosen, refusal = choose_refusal(failures)
        chosen.record(refusal, resource)
        log.debug("inbound: %s refused (%s): %s", resource, chosen.name, refusal.reason)
        return chosen, refusal

    def challenges(self, first: Verifier | None) -> list[tuple[bytes, bytes]]:
        """One ``WWW-Authenticate`` per listed credential, the deciding one first."""
        ordered = ([first] if first is not None else []) + [
            v for v in self.verifiers if v is not first
        ]
        seen: list[str] = []
        for verifier in ordered:
            challenge = verifier.www_authenticate()
            if challenge not in seen:
                seen.append(challenge)
        return [(b"www-authenticate", c.encode("latin-1", "replace")) for c in seen]

    async def refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        verifier: Verifier | None,
        error: Refusal | StoreUnavailableError,
    ) -> None:
        status = int(getattr(error, "status_code", 401))
        body = refusal_body(error)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if status == 401:
            headers += self.challenges(verifier)
        if scope.get("type") == "http":
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        # websocket: refuse before accept
        message = await receive()
        if message.get("type") != "websocket.connect":
            return
        if "websocket.http.response" in (scope.get("extensions") or {}):
            start = {"type": "websocket.http.response.start", "status": status, "headers": headers}
            await send(start)
            await send({"type": "websocket.http.response.body", "body": body})
            return
        await send({"type": "websocket.close", "code": 1008, "reason": refusal_reason(error)})


def refusal_reason(error: Refusal | StoreUnavailableError) -> str:
    """A close reason fits in 123 bytes (RFC 6455)."""
    reason = str(getattr(error, "reason", "store unavailable"))
    return reason.encode("utf-8")[:120].decode("utf-8", "ignore")
