"""Tencent Cloud API 3.0 signature v3 (``TC3-HMAC-SHA256``).

Pure functions; the clock is an argument. What sets TC3 apart:

* CanonicalURI is always ``/``; the canonical query is the query string **exactly as
  sent** (not decoded, not re-sorted: a ``+`` stays a ``+``) for GET, and empty for POST;
* only the headers named in ``signed_headers`` are signed (``content-type;host`` by
  default, ``x-tc-action`` optionally), with name **and value** lower-cased and trimmed;
* ``Content-Type`` must be signed byte for byte as sent (``application/json`` vs
  ``application/json; charset=utf-8`` are different signatures);
* the credential date is the **UTC** date of ``X-TC-Timestamp``;
* the unsigned-payload mode hashes the literal string ``UNSIGNED-PAYLOAD`` (what the
  official SDK does), unlike AWS, which puts the literal itself in the canonical request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from ._request import (
    HeadersInput,
    Request,
    header_pairs,
    iso_extended,
    join_query,
    sha256_hex,
    utc,
)

__all__ = [
    "ALGORITHM",
    "DEFAULT_SIGNED_HEADERS",
    "UNSIGNED_PAYLOAD",
    "SigningResult",
    "TencentTarget",
    "authorization_header",
    "canonical_headers",
    "canonical_query_string",
    "canonical_request",
    "canonical_request_for",
    "credential_date",
    "credential_scope",
    "derive_signing_key",
    "resolve_target",
    "sign",
    "sign_request",
    "signature",
    "string_to_sign",
]

ALGORITHM = "TC3-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
DEFAULT_SIGNED_HEADERS: tuple[str, ...] = ("content-type", "host")
_UNSIGNED_PAYLOAD_HASH = hashlib.sha256(UNSIGNED_PAYLOAD.encode()).hexdigest()
_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"


# --------------------------------------------------------------------------- steps


def credential_date(timestamp: int) -> str:
    """``YYYY-MM-DD`` of ``timestamp`` in UTC (never local time: the doc's classic pitfall)."""
    return iso_extended(datetime.fromtimestamp(timestamp, UTC))[:10]


def credential_scope(date: str, service: str) -> str:
    """``YYYY-MM-DD/service/tc3_request``."""
    return f"{date}/{service}/tc3_request"


def derive_signing_key(secret_key: str, date: str, service: str) -> bytes:
    """``SecretSigning`` for one (UTC date, service); cache it per (key, date, service)."""
    k_date = hmac.digest(f"TC3{secret_key}".encode(), date.encode(), "sha256")
    k_service = hmac.digest(k_date, service.encode(), "sha256")
    return hmac.digest(k_service, b"tc3_request", "sha256")


def canonical_query_string(method: str, query: str | Iterable[tuple[str, str | None]]) -> str:
    """The raw query string for GET (and other non-POST methods); empty for POST."""
    if method.upper() == "POST":
        return ""
    return query if isinstance(query, str) else join_query(tuple(query))


def canonical_headers(
    headers: Iterable[tuple[str, str]],
    signed_headers: Sequence[str] = DEFAULT_SIGNED_HEADERS,
    host: str | None = None,
) -> tuple[str, str]:
    """Return ``(CanonicalHeaders, SignedHeaders)`` for the named headers.

    Names and values are lower-cased and trimmed. Each named header must be present
    exactly once (``host`` may come from the URL instead); a repeated signed header is
    refused because TC3 defines no way to combine values.
    """
    wanted = sorted({name.lower() for name in signed_headers})
    found: dict[str, str] = {}
    wanted_set = set(wanted)
    for name, value in headers:
        lname = name.lower()
        if lname in wanted_set:
            if lname in found:
                raise ValueError(f"signed header {lname!r} appears more than once")
            found[lname] = value.strip().lower()
    if "host" in wanted_set and "host" not in found and host:
        found["host"] = host.lower()
    missing = [name for name in wanted if name not in found]
    if missing:
        raise ValueError(f"headers to sign are missing: {', '.join(missing)}")
    block = "".join([f"{name}:{found[name]}\n" for name in wanted])
    return block, ";".join(wanted)


def canonical_request(
    method: str, query: str, headers_block: str, signed_headers: str, payload_hash: str
) -> str:
    """Join the CanonicalRequest parts; CanonicalURI is always ``/``."""
    return f"{method.upper()}\n/\n{query}\n{headers_block}\n{signed_headers}\n{payload_hash}"


def canonical_request_for(
    request: Request,
    *,
    signed_headers: Sequence[str] = DEFAULT_SIGNED_HEADERS,
    unsigned_payload: bool = False,
) -> tuple[str, str]:
    """``(CanonicalRequest, SignedHeaders)`` for a request whose headers are final."""
    block, signed = canonical_headers(request.headers, signed_headers, request.host)
    payload_hash = _UNSIGNED_PAYLOAD_HASH if unsigned_payload else sha256_hex(request.body)
    creq = canonical_request(
        request.method,
        canonical_query_string(request.method, request.query),
        block,
        signed,
        payload_hash,
    )
    return creq, signed


def string_to_sign(timestamp: int | str, scope: str, canonical_request: str) -> str:
    """``TC3-HMAC-SHA256\\n<timestamp>\\n<scope>\\n<hex sha256(CanonicalRequest)>``."""
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"


def signature(signing_key: bytes, string_to_sign: str) -> str:
    """Hex HMAC-SHA256 of the string to sign under ``SecretSigning``."""
    return hmac.digest(signing_key, string_to_sign.encode("utf-8"), "sha256").hex()


def authorization_header(secret_id: str, scope: str, signed_headers: str, signature: str) -> str:
    """``TC3-HMAC-SHA256 Credential=<id>/<scope>, SignedHeaders=<a;b>, Signature=<hex>``."""
    return (
        f"{ALGORITHM} Credential={secret_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


# ------------------------------------------------------------------ host derivation


class TencentTarget(NamedTuple):
    """Service, region, action and version of a call (``None`` where unknown)."""

    service: str | None
    region: str | None
    action: str | None
    version: str | None


_TC_REGION_RE = re.compile(r"(?:ap|na|eu|sa)-[a-z]+(?:-[a-z0-9]+)*")
_TC_SUFFIX = ".tencentcloudapi.com"


def resolve_target(
    host: str,
    headers: HeadersInput | None = None,
    *,
    service: str | None = None,
    region: str | None = None,
    action: str | None = None,
    version: str | None = None,
) -> TencentTarget:
    """Service from the host, region/action/version from ``X-TC-*``; explicit values win.

    ``cvm.tencentcloudapi.com`` -> ``cvm``; a regional host
    (``cvm.ap-guangzhou.tencentcloudapi.com``) also gives the region; ``X-TC-Region``,
    ``X-TC-Action`` and ``X-TC-Version`` give the rest.
    """
    bare = host.lower().partition(":")[0].rstrip(".")
    guessed_service = guessed_region = None
    if bare.endswith(_TC_SUFFIX):
        labels = bare[: -len(_TC_SUFFIX)].split(".")
        guessed_service = labels[0] or None
        guessed_region = next(
            (label for label in labels[1:] if _TC_REGION_RE.fullmatch(label)), None
        )
    request = Request("POST", "/", (), header_pairs(headers), b"", host)
    return TencentTarget(
        service or guessed_service,
        region or request.header("x-tc-region") or guessed_region,
        action or request.header("x-tc-action"),
        version or request.header("x-tc-version"),
    )


# ------------------------------------------------------------------------ signing


@dataclass(frozen=True)
class SigningResult:
    """Everything one TC3 signature produced.

    ``headers`` are the headers to set on the request, each replacing any header of the
    same name; they may carry the temporary-credential token, so are not in the repr.
    """

    headers: list[tuple[str, str]] = field(repr=False)
    canonical_request: str = field(repr=False)
    string_to_sign: str
    signature: str
    authorization: str
    signed_headers: str
    scope: str


def _sign(
    request: Request,
    secret_id: str,
    secret_key: str,
    now: datetime,
    token: str | None,
    service: str | None,
    region: str | None,
    action: str | None,
    version: str | None,
    signed_headers: Sequence[str],
    unsigned_payload: bool,
    signing_key: bytes | None,
) -> tuple[list[tuple[str, str]], str, str, str, str, str, str]:
    headers = request.headers
    target = resolve_target(
        request.host_header,
        headers,
        service=service,
        region=region,
        action=action,
        version=version,
    )
    if not target.service:
        raise ValueError(f"cannot derive the Tencent Cloud service from host {request.host!r}")
    now = utc(now)
    timestamp = int(now.timestamp())
    added: list[tuple[str, str]] = []
    if not any(name.lower() == "content-type" for name, _ in headers):
        added.append(("Content-Type", _FORM if request.method == "GET" else _JSON))
    if target.action:
        added.append(("X-TC-Action", target.action))
    if target.version:
        added.append(("X-TC-Version", target.version))
    if target.region:
        added.append(("X-TC-Region", target.region))
    added.append(("X-TC-Timestamp", str(timestamp)))
    if token:
        added.append(("X-TC-Token", token))
    if unsigned_payload:
        added.append(("X-TC-Content-SHA256", UNSIGNED_PAYLOAD))
    replaced = {name.lower() for name, _ in added} | {"authorization"}
    kept = tuple(pair for pair in headers if pair[0].lower() not in replaced)
    block, signed = canonical_headers((*kept, *added), signed_headers, request.host_header)

    date = iso_extended(now)[:10]
    scope = credential_scope(date, target.service)
    creq = canonical_request(
        request.method,
        canonical_query_string(request.method, request.query),
        block,
        signed,
        _UNSIGNED_PAYLOAD_HASH if unsigned_payload else sha256_hex(request.body),
    )
    sts = string_to_sign(timestamp, scope, creq)
    key = signing_key or derive_signing_key(secret_key, date, target.service)
    sig = signature(key, sts)
    auth = authorization_header(secret_id, scope, signed, sig)
    added.append(("Authorization", auth))
    return added, creq, sts, sig, auth, signed, scope


def sign_request(
    request: Request,
    *,
    secret_id: str,
    secret_key: str,
    now: datetime,
    token: str | None = None,
    service: str | None = None,
    region: str | None = None,
    action: str | None = None,
    version: str | None = None,
    signed_headers: Sequence[str] = DEFAULT_SIGNED_HEADERS,
    unsigned_payload: bool = False,
    signing_key: bytes | None = None,
) -> SigningResult:
    """Sign ``request``; see :func:`sign` for the options."""
    headers, creq, sts, sig, auth, signed, scope = _sign(
        request,
        secret_id,
        secret_key,
        now,
        token,
        service,
        region,
        action,
        version,
        signed_headers,
        unsigned_payload,
        signing_key,
    )
    return SigningResult(headers, creq, sts, sig, auth, signed, scope)


def sign(
    method: str,
    url: str,
    headers: HeadersInput | None = None,
    body: bytes | str | None = b"",
    *,
    secret_id: str,
    secret_key: str,
    now: datetime,
    token: str | None = None,
    service: str | None = None,
    region: str | None = None,
    action: str | None = None,
    version: str | None = None,
    signed_headers: Sequence[str] = DEFAULT_SIGNED_HEADERS,
    unsigned_payload: bool = False,
    signing_key: bytes | None = None,
) -> list[tuple[str, str]]:
    """Sign an HTTP request; return the headers to set on it (each replaces its namesake).

    Returns ``Content-Type`` (only when the request has none: JSON for POST, form for
    GET), ``X-TC-Action``/``-Version``/``-Region`` (when known from the arguments or
    already present), ``X-TC-Timestamp``, ``X-TC-Token`` (temporary credentials),
    ``X-TC-Content-SHA256`` (unsigned payload) and ``Authorization``.

    ``service`` defaults to the host's first label; ``signed_headers`` may add
    ``x-tc-action`` (newer doc revisions); ``signing_key`` is a cached
    :func:`derive_signing_key` for (``credential_date(timestamp)``, service).
    """
    request = Request.from_url(method, url, headers, body)
    return _sign(
        request,
        secret_id,
        secret_key,
        now,
        token,
        service,
        region,
        action,
        version,
        signed_headers,
        unsigned_payload,
        signing_key,
    )[0]
