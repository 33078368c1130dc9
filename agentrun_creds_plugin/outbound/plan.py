"""The pure step of outbound auth: what a credential adds to one request.

No I/O and no clock of its own (``now`` is passed in), so it is tested without a network,
the way httpx separates an auth flow from the client that drives it.

Decisions where the contract is silent:
- ``ModelServiceCredential`` sends what the provider's current SDK sends: ``Authorization:
  Bearer`` for OpenAI-compatible providers and for Anthropic (anthropic 2.x does), the
  ``api-key`` header for Azure OpenAI. A request that already carries ``x-api-key`` (an
  older anthropic SDK) gets the key there instead.
- A key sent as a query parameter is unavoidably in the URL on the wire; adapters put a
  redacted URL back on the request after the response (:func:`redact_url`).
- JWT credentials verify inbound tokens only; using one outbound is refused (422).
"""

from __future__ import annotations

import base64
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidCredentialError
from ..kinds import (
    ApiKeyCredential,
    BasicAuthCredential,
    CloudAccessKeyCredential,
    CredentialBase,
    CustomHeadersCredential,
    JwtCredential,
    ModelServiceCredential,
    ToolApiKeyCredential,
)
from .cloud import SigningOptions, sign_cloud

__all__ = [
    "REDACTED",
    "AuthPlan",
    "apply_credential",
    "header_value",
    "jwt_outbound_error",
    "model_auth_header",
    "model_key_header",
    "redact_url",
    "set_headers",
    "set_query",
]

REDACTED = "[REDACTED]"
_DEFAULT_SIGNING = SigningOptions()


@dataclass
class AuthPlan:
    """What to add to one request: headers to set, query parameters to set."""

    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    redact_query: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"AuthPlan(headers={sorted(self.headers)}, query={sorted(self.query)})"


def header_value(headers: Any, name: str) -> str | None:
    """A header of ``headers`` (pairs, or httpx/httpx2 ``Headers``), case-insensitively."""
    get = getattr(headers, "get", None)
    if get is not None:
        value: str | None = get(name)
        return value
    lname = name.lower()
    for k, v in headers:
        if k.lower() == lname:
            return str(v)
    return None


def jwt_outbound_error() -> InvalidCredentialError:
    return InvalidCredentialError(
        "credential kind jwt verifies inbound tokens and cannot authenticate outbound "
        "requests; use a tool_api_key, custom_headers or api_key credential"
    )


def model_auth_header(cred: ModelServiceCredential, headers: Any) -> tuple[str, str]:
    """(header name, value) of a model key: the rule of :func:`apply_credential`, alone.

    Model clients call it on every request, so it is kept free of the general plan's work.
    """
    return model_key_header(cred.api_style, cred.api_key.get_secret_value(), headers)


def model_key_header(style: str, key: str, headers: Any) -> tuple[str, str]:
    """:func:`model_auth_header` from the wire protocol (``api_style``) and the key alone."""
    if style == "azure_openai":
        return "api-key", key
    if style == "anthropic" and header_value(headers, "x-api-key") is not None:
        return "x-api-key", key
    return "Authorization", f"Bearer {key}"


def apply_credential(
    cred: CredentialBase,
    method: str,
    url: str,
    headers: Any,
    body: bytes | None,
    *,
    now: float | None = None,
    signing: SigningOptions = _DEFAULT_SIGNING,
) -> AuthPlan:
    """What ``cred`` adds to a request. No I/O, clock passed in.

    ``headers`` are the request's headers as pairs or an httpx/httpx2 ``Headers``. Kinds are
    told apart by exact type first (``isinstance`` through pydantic's ABC metaclass is
    measurably slower on this per-request path), subclasses by ``isinstance``.
    """
    plan = AuthPlan()
    exact = type(cred)
    if exact is CloudAccessKeyCredential:  # the signing path: skip the isinstance chain
        when = time.time() if now is None else now
        plan.headers.update(sign_cloud(cred, method, url, headers, body, when, signing))  # type: ignore[arg-type]
        return plan
    if type(cred) is ModelServiceCredential or isinstance(cred, ModelServiceCredential):
        header, value = model_auth_header(cred, headers)
        plan.headers[header] = value
    elif isinstance(cred, ToolApiKeyCredential):
        key = cred.api_key.get_secret_value()
        if cred.location == "query":
            plan.query[cred.param] = key
            plan.redact_query = (cred.param,)
        else:
            plan.headers[cred.param] = f"{cred.prefix} {key}" if cred.prefix else key
    elif isinstance(cred, CustomHeadersCredential):
        plan.headers.update({k: v.get_secret_value() for k, v in cred.headers.items()})
    elif isinstance(cred, ApiKeyCredential):
        key = cred.api_key.get_secret_value()
        plan.headers[cred.header_name] = f"{cred.prefix} {key}" if cred.prefix else key
    elif isinstance(cred, BasicAuthCredential):
        token = base64.b64encode(
            f"{cred.username}:{cred.password.get_secret_value()}".encode()
        ).decode()
        plan.headers["Authorization"] = f"Basic {token}"
    elif isinstance(cred, CloudAccessKeyCredential):
        when = time.time() if now is None else now
        plan.headers.update(sign_cloud(cred, method, url, headers, body, when, signing))
    elif isinstance(cred, JwtCredential):
        raise jwt_outbound_error()
    else:  # pragma: no cover - every kind is handled above
        raise InvalidCredentialError(f"kind: {type(cred).__name__} cannot be used outbound")
    return plan


def set_headers(
    headers: Any, values: dict[str, str], spellings: dict[str, str] | None = None
) -> None:
    """Set ``values`` on httpx/httpx2 ``Headers``, keeping the spelling a header already has.

    An SDK that built the request with a placeholder key (``authorization: Bearer ...``) then
    sends byte-for-byte what it sends without the plugin. A client's SDK spells its headers
    the same way on every request, so a caller may pass ``spellings`` to remember them.
    """
    existing: dict[bytes, bytes] | None = None  # lower-cased raw name -> first spelling
    for name, value in values.items():
        lowered = name.lower()
        spelled = spellings.get(lowered) if spellings is not None else None
        if spelled is None:
            if existing is None:
                existing = {}
                for raw, _ in headers.raw:
                    existing.setdefault(raw.lower(), raw)
            raw_name = existing.get(lowered.encode())
            spelled = name if raw_name is None else raw_name.decode("latin-1")
            if spellings is not None:
                spellings[lowered] = spelled
        headers[spelled] = value


def set_query(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` set (replacing any of the same name)."""
    parts = urllib.parse.urlsplit(url)
    pairs = [
        (k, v)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if k not in params
    ]
    pairs += list(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(pairs)))


def redact_url(url: str, params: tuple[str, ...]) -> str:
    """``url`` with the values of ``params`` replaced by ``[REDACTED]``."""
    if not params:
        return url
    parts = urllib.parse.urlsplit(url)
    pairs = [
        (k, REDACTED if k in params else v)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(pairs, safe="[]")))
