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
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Required, TypedDict, Unpack

from ._hmac import hmac_from_states, hmac_sha256, hmac_states
from ._request import (
    EMPTY_SHA256,
    HeadersInput,
    Request,
    group_headers,
    header_pairs,
    iso_extended,
    iter_headers,
    join_query,
    sha256_hex,
    split_url,
    to_bytes,
    utc,
)
from ._tencent_params import encode_params
from .base import AccessKey, ScopedKeyCache, SigningOptions, SigningRequest, uncached

__all__ = [
    "ALGORITHM",
    "DEFAULT_SIGNED_HEADERS",
    "UNSIGNED_PAYLOAD",
    "SigningResult",
    "Tc3Options",
    "TencentSigner",
    "TencentTarget",
    "authorization_header",
    "canonical_headers",
    "canonical_query_string",
    "canonical_request",
    "canonical_request_for",
    "credential_date",
    "credential_scope",
    "derive_signing_key",
    "encode_params",
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
_NEVER_SIGNED = frozenset({"authorization"})
_JSON = "application/json"


# --------------------------------------------------------------------------- steps


def credential_date(when: datetime | float) -> str:
    """``YYYY-MM-DD`` in UTC of a datetime or Unix timestamp (never local time: the doc's
    classic pitfall, which breaks every day between 00:00 and 08:00 in UTC+8)."""
    return _clock(when)[1]


# The last clock value signed with and its (X-TC-Timestamp, credential date). Signatures
# come in bursts within one second, and working both strings out costs about 1 µs, a
# seventh of a signature. One immutable tuple, replaced whole, so threads need no lock.
_last_clock: tuple[object, str, str] = (None, "", "")


def _clock(now: datetime | float) -> tuple[str, str]:
    """``(X-TC-Timestamp, credential date)`` of ``now``, remembered for the last value.

    A pure function of ``now``, so an equal value of the same type (an equal aware
    datetime is the same instant) gives the same strings; anything else is worked out
    again, and refused by :func:`utc` when it must be.
    """
    global _last_clock
    last = _last_clock
    if now is last[0] or (type(now) is type(last[0]) and now == last[0]):
        return last[1], last[2]
    t = utc(now)
    timestamp, date = str(int(t.timestamp())), iso_extended(t)[:10]
    _last_clock = (now, timestamp, date)
    return timestamp, date


def credential_scope(date: str, service: str) -> str:
    """``YYYY-MM-DD/service/tc3_request``."""
    return f"{date}/{service}/tc3_request"


def derive_signing_key(secret_key: str, date: str, service: str) -> bytes:
    """``SecretSigning`` for one (UTC date, service); cache it per (key, date, service)."""
    k_date = hmac_sha256(f"TC3{secret_key}".encode(), date.encode())
    k_service = hmac_sha256(k_date, service.encode())
    return hmac_sha256(k_service, b"tc3_request")


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
    return _headers_block(group_headers(headers), signed_headers, host)


def _headers_block(
    grouped: dict[str, list[str]], signed_headers: Sequence[str], host: str | None
) -> tuple[str, str]:
    if signed_headers is DEFAULT_SIGNED_HEADERS:
        content_type = grouped.get("content-type")
        host_values = grouped.get("host")
        if content_type is not None and len(content_type) == 1 and host_values is None and host:
            return (
                f"content-type:{content_type[0].strip().lower()}\nhost:{host.lower()}\n",
                "content-type;host",
            )
    wanted = sorted({name.lower() for name in signed_headers})
    lines = []
    for name in wanted:
        values = grouped.get(name)
        if values is None:
            if name != "host" or not host:
                raise ValueError(f"header to sign is missing: {name}")
            values = [host]
        elif len(values) > 1:
            raise ValueError(f"signed header {name!r} appears more than once")
        lines.append(f"{name}:{values[0].strip().lower()}\n")
    return "".join(lines), ";".join(wanted)


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
    return hmac_sha256(signing_key, string_to_sign.encode("utf-8")).hex()


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
    guessed_service, guessed_region = _guess_target(host)
    grouped = group_headers(header_pairs(headers))
    return TencentTarget(
        service or guessed_service,
        region or _first(grouped, "x-tc-region") or guessed_region,
        action or _first(grouped, "x-tc-action"),
        version or _first(grouped, "x-tc-version"),
    )


def _first(grouped: dict[str, list[str]], name: str) -> str | None:
    values = grouped.get(name)
    return values[0] if values else None


def _guess_target(host: str) -> tuple[str | None, str | None]:
    bare = host.lower().partition(":")[0].rstrip(".")
    if not bare.endswith(_TC_SUFFIX):
        return None, None
    labels = bare[: -len(_TC_SUFFIX)].split(".")
    region = next((label for label in labels[1:] if _TC_REGION_RE.fullmatch(label)), None)
    return labels[0] or None, region


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


class Tc3Options(TypedDict, total=False):
    """The keyword options of :func:`sign` and :func:`sign_request`, typed once.

    Required: ``secret_id``, ``secret_key``, ``now``. The rest as :func:`sign` describes.
    """

    secret_id: Required[str]
    secret_key: Required[str]
    now: Required[datetime | float]
    token: str | None
    service: str | None
    region: str | None
    action: str | None
    version: str | None
    signed_headers: Sequence[str]
    unsigned_payload: bool
    signing_key: bytes | None


# The parts of a request the signature reads, whichever way the caller described it:
# (method, host, raw_query, headers, body).
# A plain tuple: a NamedTuple costs a fraction of a microsecond per signature.
_Wire = tuple[str, str, str, Iterable[tuple[str, str]], bytes]


def _sign(
    wire: _Wire,
    *,
    secret_id: str,
    secret_key: str,
    now: datetime | float,
    token: str | None = None,
    service: str | None = None,
    region: str | None = None,
    action: str | None = None,
    version: str | None = None,
    signed_headers: Sequence[str] = DEFAULT_SIGNED_HEADERS,
    unsigned_payload: bool = False,
    signing_key: bytes | None = None,
) -> tuple[list[tuple[str, str]], str, str, str, str, str, str]:
    # A tuple, not SigningResult: a frozen dataclass costs microseconds on this path.
    method, url_host, raw_query, headers, body = wire
    grouped = group_headers(headers, _NEVER_SIGNED)
    host_values = grouped.get("host")
    host = host_values[0] if host_values else url_host
    guessed_region = None
    if not service or (not region and "x-tc-region" not in grouped):
        guessed_service, guessed_region = _guess_target(host)
        service = service or guessed_service
        if not service:
            raise ValueError(f"cannot derive the Tencent Cloud service from host {host!r}")
    timestamp, date = _clock(now)
    added: list[tuple[str, str]] = []
    if "content-type" not in grouped:
        content_type = _FORM if method == "GET" else _JSON
        added.append(("Content-Type", content_type))
        grouped["content-type"] = [content_type]
    if action:
        added.append(("X-TC-Action", action))
        grouped["x-tc-action"] = [action]
    if version:
        added.append(("X-TC-Version", version))
    if region or guessed_region:
        added.append(("X-TC-Region", region or guessed_region or ""))
    added.append(("X-TC-Timestamp", timestamp))
    if token:
        added.append(("X-TC-Token", token))
        grouped["x-tc-token"] = [token]
    if unsigned_payload:
        added.append(("X-TC-Content-SHA256", UNSIGNED_PAYLOAD))
    if signed_headers is not DEFAULT_SIGNED_HEADERS:
        for name, value in added:
            grouped[name.lower()] = [value]
    block, signed = _headers_block(grouped, signed_headers, host)

    scope = f"{date}/{service}/tc3_request"
    if unsigned_payload:
        payload_hash = _UNSIGNED_PAYLOAD_HASH
    else:
        payload_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
    query = "" if method == "POST" else raw_query
    creq = f"{method}\n/\n{query}\n{block}\n{signed}\n{payload_hash}"
    sts = f"{ALGORITHM}\n{timestamp}\n{scope}\n{hashlib.sha256(creq.encode()).hexdigest()}"
    if type(signing_key) is bytes and signing_key:
        sig = _hmac_with_signing_key(signing_key, sts.encode()).hex()
    else:
        key = signing_key or derive_signing_key(secret_key, date, service)
        sig = hmac_sha256(key, sts.encode()).hex()
    auth = f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={signed}, Signature={sig}"
    added.append(("Authorization", auth))
    return added, creq, sts, sig, auth, signed, scope


# HMAC-SHA256 states (inner, outer) of cached signing keys, by key: a caller passing
# ``signing_key`` keeps it for the day anyway, and starting from the two saved states
# saves hashing the two 64-byte pads, about 0.5 µs of each signature. A day-scoped
# derived key, never the secret; bounded, and emptied when full.
_KEY_STATES: dict[bytes, tuple[Any, Any]] = {}
_KEY_STATES_MAX = 64


def _hmac_with_signing_key(key: bytes, msg: bytes) -> bytes:
    states = _KEY_STATES.get(key)
    if states is None:
        states = hmac_states(key)
        if len(_KEY_STATES) >= _KEY_STATES_MAX:
            _KEY_STATES.clear()
        _KEY_STATES[key] = states
    return hmac_from_states(states, msg)


def sign_request(request: Request, **options: Unpack[Tc3Options]) -> SigningResult:
    """Sign ``request``; see :func:`sign` for the options."""
    wire: _Wire = (request.method, request.host, request.raw_query, request.headers, request.body)
    return SigningResult(*_sign(wire, **options))


def sign(
    method: str,
    url: str,
    headers: HeadersInput | None = None,
    body: bytes | str | None = b"",
    *,
    secret_id: str,
    secret_key: str,
    now: datetime | float,
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

    Options (keyword only): ``secret_id``, ``secret_key``, ``now`` (required), ``token``,
    ``service``, ``region``, ``action``, ``version``, ``signed_headers``,
    ``unsigned_payload``, ``signing_key``.

    Returns ``Content-Type`` (only when the request has none: JSON for POST, form for
    GET), ``X-TC-Action``/``-Version``/``-Region`` (when known from the arguments or
    already present), ``X-TC-Timestamp``, ``X-TC-Token`` (temporary credentials),
    ``X-TC-Content-SHA256`` (unsigned payload) and ``Authorization``.

    ``now`` is a timezone-aware datetime or a Unix timestamp. ``service`` defaults to the
    host's first label; ``signed_headers`` may add
    ``x-tc-action`` (newer doc revisions); ``signing_key`` is a cached
    :func:`derive_signing_key` for (``credential_date(timestamp)``, service).
    """
    _, host, _, raw_query = split_url(url)
    body_bytes = body if type(body) is bytes else to_bytes(body)
    wire: _Wire = (method.upper(), host, raw_query, iter_headers(headers), body_bytes)
    return _sign(
        wire,
        secret_id=secret_id,
        secret_key=secret_key,
        now=now,
        token=token,
        service=service,
        region=region,
        action=action,
        version=version,
        signed_headers=signed_headers,
        unsigned_payload=unsigned_payload,
        signing_key=signing_key,
    )[0]


class TencentSigner:
    """TC3 as a :class:`~.base.Signer`: target from host and headers, cached scoped key."""

    def sign(
        self,
        request: SigningRequest,
        key: AccessKey,
        options: SigningOptions,
        keys: ScopedKeyCache = uncached,
    ) -> list[tuple[str, str]]:
        """The TC3 headers; the credential's region fills in when nothing else names one."""
        body = request.require_body()
        host = request.host
        tc = resolve_target(
            host,
            request.headers,
            service=options.service,
            region=options.region,
            action=options.action,
            version=options.version,
        )
        if tc.service is None:
            raise ValueError(f"cannot tell the Tencent Cloud service from host {host}")
        now = int(request.now)
        signing_key = keys(
            derive_signing_key, key.secret, key.access_key_id, credential_date(now), tc.service
        )
        return sign(
            request.method,
            request.url,
            request.headers,
            body,
            secret_id=key.access_key_id,
            secret_key=key.secret,
            now=now,
            token=key.token,
            service=tc.service,
            region=tc.region or key.region,
            action=tc.action,
            version=tc.version,
            signing_key=signing_key,
        )
