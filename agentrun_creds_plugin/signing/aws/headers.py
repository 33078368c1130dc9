"""SigV4 header signing: the per-request path that returns the headers to set."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Required, TypedDict, Unpack

from .._hmac import hmac_sha256
from .._request import (
    EMPTY_SHA256,
    HeadersInput,
    Request,
    group_headers,
    iso_basic,
    iter_headers,
    sorted_query,
    sorted_raw_query,
    split_url,
    to_bytes,
    utc,
)
from .canonical import (
    _REPLACED_HEADERS,
    ALGORITHM,
    S3_SERVICES,
    UNSIGNED_PAYLOAD,
    _headers_block,
    canonical_uri,
    derive_signing_key,
)
from .target import resolve_target


@dataclass(frozen=True)
class SigningResult:
    """Everything one header signature produced.

    ``headers`` are the headers to set on the request, each replacing any header of the
    same name. They and the canonical request may carry the session token, so neither is
    part of the repr.
    """

    headers: list[tuple[str, str]] = field(repr=False)
    canonical_request: str = field(repr=False)
    string_to_sign: str
    signature: str
    authorization: str
    signed_headers: str
    scope: str


class SigV4Options(TypedDict, total=False):
    """The keyword options of :func:`sign` and :func:`sign_request`, typed once.

    Required: ``access_key_id``, ``secret_access_key``, ``now``; the rest as :func:`sign`
    describes.
    """

    access_key_id: Required[str]
    secret_access_key: Required[str]
    now: Required[datetime | float]
    session_token: str | None
    service: str | None
    region: str | None
    unsigned_payload: bool
    payload_hash: str | None
    s3: bool | None
    normalize_path: bool | None
    add_content_sha256: bool | None
    omit_session_token: bool
    signing_key: bytes | None


# The parts of a request the signature reads, whichever way the caller described it:
# (method, host, path, canonical_query, headers, body).
# A plain tuple: a NamedTuple costs a fraction of a microsecond per signature.
_Wire = tuple[str, str, str, str, Iterable[tuple[str, str]], bytes]


def _sign_headers(
    wire: _Wire,
    *,
    access_key_id: str,
    secret_access_key: str,
    now: datetime | float,
    session_token: str | None = None,
    service: str | None = None,
    region: str | None = None,
    unsigned_payload: bool = False,
    payload_hash: str | None = None,
    s3: bool | None = None,
    normalize_path: bool | None = None,
    add_content_sha256: bool | None = None,
    omit_session_token: bool = False,
    signing_key: bytes | None = None,
) -> tuple[list[tuple[str, str]], str, str, str, str, str, str]:
    # A tuple, not SigningResult: a frozen dataclass costs microseconds on this path.
    method, url_host, path, canonical_query, headers, body = wire
    grouped = group_headers(headers, _REPLACED_HEADERS)
    host_values = grouped.get("host")
    host = host_values[0] if host_values else url_host
    if not service or not region:
        service, region = resolve_target(host, service=service, region=region)
    if s3 is None:
        s3 = service in S3_SERVICES
    if add_content_sha256 is None:
        add_content_sha256 = s3 or unsigned_payload
    if payload_hash is None:
        declared = grouped.get("x-amz-content-sha256")
        if unsigned_payload:
            payload_hash = UNSIGNED_PAYLOAD
        elif declared:
            # The server takes the payload hash from this header when it is sent.
            payload_hash = declared[0].strip()
        else:
            payload_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256

    timestamp = iso_basic(utc(now))
    date = timestamp[:8]
    added: list[tuple[str, str]] = [("X-Amz-Date", timestamp)]
    grouped["x-amz-date"] = [timestamp]
    if session_token:
        if omit_session_token:
            grouped.pop("x-amz-security-token", None)
        else:
            added.append(("X-Amz-Security-Token", session_token))
            grouped["x-amz-security-token"] = [session_token]
    if add_content_sha256:
        added.append(("X-Amz-Content-SHA256", payload_hash))
        grouped["x-amz-content-sha256"] = [payload_hash]
    block, signed = _headers_block(grouped, host)

    scope = f"{date}/{region}/{service}/aws4_request"
    uri = path if path == "/" else canonical_uri(path, s3=s3, normalize=normalize_path)
    creq = f"{method}\n{uri}\n{canonical_query}\n{block}\n{signed}\n{payload_hash}"
    sts = f"{ALGORITHM}\n{timestamp}\n{scope}\n{hashlib.sha256(creq.encode()).hexdigest()}"
    if signing_key is None:
        signing_key = derive_signing_key(secret_access_key, date, region, service)
    sig = hmac_sha256(signing_key, sts.encode()).hex()
    auth = (
        f"{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={signed}, Signature={sig}"
    )
    if session_token and omit_session_token:
        added.append(("X-Amz-Security-Token", session_token))
    added.append(("Authorization", auth))
    return added, creq, sts, sig, auth, signed, scope


def sign_request(request: Request, **options: Unpack[SigV4Options]) -> SigningResult:
    """Sign ``request`` with an ``Authorization`` header; see :func:`sign` for the options."""
    query = sorted_query(request.query)
    wire: _Wire = (request.method, request.host, request.path, query, request.headers, request.body)
    return SigningResult(*_sign_headers(wire, **options))


def sign(
    method: str,
    url: str,
    headers: HeadersInput | None = None,
    body: bytes | str | None = b"",
    *,
    access_key_id: str,
    secret_access_key: str,
    now: datetime | float,
    session_token: str | None = None,
    service: str | None = None,
    region: str | None = None,
    unsigned_payload: bool = False,
    payload_hash: str | None = None,
    s3: bool | None = None,
    normalize_path: bool | None = None,
    add_content_sha256: bool | None = None,
    omit_session_token: bool = False,
    signing_key: bytes | None = None,
) -> list[tuple[str, str]]:
    """Sign an HTTP request; return the headers to set on it (each replaces its namesake).

    The result is ``X-Amz-Date``, then ``X-Amz-Security-Token`` and
    ``X-Amz-Content-SHA256`` when used, then ``Authorization``.

    * ``url``: the full URL as it will be sent (raw path and query are signed as on the
      wire); ``headers``: the headers that will be sent (pairs, a mapping, or
      ``httpx.Headers``); ``body``: the exact body bytes.
    * ``now``: the signing time, a timezone-aware datetime or a Unix timestamp.
    * ``service``/``region``: derived from the host when omitted (:func:`resolve_target`).
    * ``s3``: S3 path rules and ``X-Amz-Content-SHA256``; defaults to the service being S3.
    * ``normalize_path``: override path normalization (default: on except for S3).
    * ``unsigned_payload``: sign ``UNSIGNED-PAYLOAD`` instead of the body hash;
      ``payload_hash``: a precomputed hash (or ``UNSIGNED-PAYLOAD``) for a large body.
      Without either, an ``X-Amz-Content-SHA256`` header already in ``headers`` is
      taken as the payload hash, else the body is hashed.
    * ``add_content_sha256``: send ``X-Amz-Content-SHA256`` (default: S3 or unsigned).
    * ``omit_session_token``: send the token without signing it (aws-c-auth's mode for
      services that add it after signing).
    * ``signing_key``: a cached :func:`derive_signing_key` result for
      (``date_stamp(now)``, region, service); it is trusted as given.
    """
    _, host, path, raw_query = split_url(url)
    body_bytes = body if type(body) is bytes else to_bytes(body)
    query = sorted_raw_query(raw_query)
    wire: _Wire = (method.upper(), host, path, query, iter_headers(headers), body_bytes)
    return _sign_headers(
        wire,
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        now=now,
        session_token=session_token,
        service=service,
        region=region,
        unsigned_payload=unsigned_payload,
        payload_hash=payload_hash,
        s3=s3,
        normalize_path=normalize_path,
        add_content_sha256=add_content_sha256,
        omit_session_token=omit_session_token,
        signing_key=signing_key,
    )[0]
