"""SigV4 query-string authentication: presigned URLs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from .._request import (
    HeadersInput,
    QueryPairs,
    Request,
    canonical_request,
    join_query,
    sha256_hex,
)
from .canonical import (
    _PRESIGN_PARAMS,
    ALGORITHM,
    MAX_PRESIGN_EXPIRES,
    S3_SERVICES,
    UNSIGNED_PAYLOAD,
    amz_date,
    canonical_headers,
    canonical_query_string,
    canonical_uri,
    credential_scope,
    derive_signing_key,
    signature,
    string_to_sign,
)
from .target import AwsTarget, resolve_target


@dataclass(frozen=True)
class PresignResult:
    """A presigned URL and its intermediates (the URL may carry a session token)."""

    url: str = field(repr=False)
    canonical_request: str = field(repr=False)
    string_to_sign: str
    signature: str
    signed_headers: str
    scope: str


def _key_for(
    signing_key: bytes | None, secret_access_key: str, date: str, target: AwsTarget
) -> bytes:
    if signing_key is not None:
        return signing_key
    return derive_signing_key(secret_access_key, date, target.region, target.service)


def _encode_param(value: str) -> str:
    return quote(value, safe="-_.~")


def presign_request(
    request: Request,
    *,
    access_key_id: str,
    secret_access_key: str,
    now: datetime | float,
    expires: int = 3600,
    session_token: str | None = None,
    service: str | None = None,
    region: str | None = None,
    unsigned_payload: bool | None = None,
    payload_hash: str | None = None,
    s3: bool | None = None,
    normalize_path: bool | None = None,
    omit_session_token: bool = False,
    signing_key: bytes | None = None,
) -> PresignResult:
    """Presign ``request`` (query-string auth); see :func:`presign_url` for the options."""
    if not 1 <= expires <= MAX_PRESIGN_EXPIRES:
        raise ValueError(f"expires must be between 1 and {MAX_PRESIGN_EXPIRES} seconds")
    host = request.host_header
    target = resolve_target(host, service=service, region=region)
    if s3 is None:
        s3 = target.service in S3_SERVICES
    if unsigned_payload is None:
        unsigned_payload = s3
    if payload_hash is None:
        payload_hash = UNSIGNED_PAYLOAD if unsigned_payload else sha256_hex(request.body)

    timestamp = amz_date(now)
    date = timestamp[:8]
    scope = credential_scope(date, target.region, target.service)
    block, signed = canonical_headers(request.headers, host)

    auth_params: list[tuple[str, str]] = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{access_key_id}/{scope}"),
        ("X-Amz-Date", timestamp),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", signed),
    ]
    if session_token and not omit_session_token:
        auth_params.append(("X-Amz-Security-Token", session_token))
    encoded = [(name, _encode_param(value)) for name, value in auth_params]
    existing: QueryPairs = tuple(pair for pair in request.query if pair[0] not in _PRESIGN_PARAMS)

    creq = canonical_request(
        request.method,
        canonical_uri(request.path, s3=s3, normalize=normalize_path),
        canonical_query_string((*existing, *encoded)),
        block,
        signed,
        payload_hash,
    )
    sts = string_to_sign(timestamp, scope, creq)
    sig = signature(_key_for(signing_key, secret_access_key, date, target), sts)

    if session_token and omit_session_token:
        encoded.append(("X-Amz-Security-Token", _encode_param(session_token)))
    encoded.append(("X-Amz-Signature", sig))
    query = join_query((*existing, *encoded))
    url = f"{request.scheme}://{request.host}{request.path or '/'}?{query}"
    return PresignResult(url, creq, sts, sig, signed, scope)


def presign_url(
    method: str,
    url: str,
    headers: HeadersInput | None = None,
    body: bytes | str | None = b"",
    *,
    access_key_id: str,
    secret_access_key: str,
    now: datetime | float,
    expires: int = 3600,
    session_token: str | None = None,
    service: str | None = None,
    region: str | None = None,
    unsigned_payload: bool | None = None,
    payload_hash: str | None = None,
    s3: bool | None = None,
    normalize_path: bool | None = None,
    omit_session_token: bool = False,
    signing_key: bytes | None = None,
) -> str:
    """Return ``url`` with SigV4 query authentication appended (a presigned URL).

    The original query is kept as sent (stale ``X-Amz-*`` auth parameters are dropped)
    and ``X-Amz-Algorithm``, ``-Credential``, ``-Date``, ``-Expires``, ``-SignedHeaders``,
    ``-Security-Token`` and ``-Signature`` follow, in botocore's order. Any ``headers``
    given are signed and must then be sent with the URL; usually only ``host`` is.
    ``unsigned_payload`` defaults to True for S3 (the body is unknown when presigning)
    and to hashing ``body`` otherwise. ``expires`` is in seconds, at most 7 days.
    Other options as in :func:`sign`.
    """
    request = Request.from_url(method, url, headers, body)
    return presign_request(
        request,
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        now=now,
        expires=expires,
        session_token=session_token,
        service=service,
        region=region,
        unsigned_payload=unsigned_payload,
        payload_hash=payload_hash,
        s3=s3,
        normalize_path=normalize_path,
        omit_session_token=omit_session_token,
        signing_key=signing_key,
    ).url
