"""AWS Signature Version 4 (``AWS4-HMAC-SHA256``): header signing and presigned URLs.

Pure functions: the clock is an argument, nothing is read from the environment and
nothing is cached here. The intermediate steps are public so that a mismatch can be
located at the canonical-request stage, where it is easiest to see.

Rules that differ between services, and how they are chosen:

* **Path**: every service except S3 normalizes the path (dot segments, empty segments)
  and URI-encodes the wire path again, so ``/a%20b`` is signed as ``/a%2520b``. S3 does
  neither; its path is signed encoded exactly once. ``s3=None`` picks S3 rules for the
  S3 signing names.
* **Query**: each raw name and value is decoded and re-encoded with RFC 3986 (``%20`` for
  space, ``+`` is a literal plus and becomes ``%2B``), then pairs are sorted by name and
  value. Repeated keys are kept.
* **Headers**: every header is signed except the ones proxies may rewrite (botocore's
  list); values are trimmed and inner whitespace runs collapse to one space; repeated
  headers are joined with ``,`` in received order.
* **Payload**: ``sha256(body)``, or the literal ``UNSIGNED-PAYLOAD``; S3 also gets it in
  ``X-Amz-Content-SHA256``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple
from urllib.parse import quote

from ._request import (
    EMPTY_SHA256,
    HeadersInput,
    QueryPairs,
    Request,
    canonical_request,
    encode_path_once,
    group_headers,
    hmac_sha256,
    iso_basic,
    iter_headers,
    join_query,
    sha256_hex,
    sorted_query,
    sorted_raw_query,
    split_url,
    to_bytes,
    utc,
)

__all__ = [
    "ALGORITHM",
    "MAX_PRESIGN_EXPIRES",
    "S3_SERVICES",
    "UNSIGNED_HEADERS",
    "UNSIGNED_PAYLOAD",
    "AwsTarget",
    "PresignResult",
    "SigningResult",
    "amz_date",
    "authorization_header",
    "canonical_headers",
    "canonical_query_string",
    "canonical_request",
    "canonical_request_for",
    "canonical_uri",
    "credential_scope",
    "date_stamp",
    "derive_signing_key",
    "normalize_path",
    "presign_request",
    "presign_url",
    "resolve_target",
    "sign",
    "sign_request",
    "signature",
    "string_to_sign",
]

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600
S3_SERVICES = frozenset({"s3", "s3-object-lambda", "s3-outposts"})

# Not signed: hop-by-hop and tracing headers that proxies and SDK middleware add or
# rewrite (botocore's SIGNED_HEADERS_BLACKLIST), plus the Authorization header itself.
UNSIGNED_HEADERS = frozenset(
    {
        "authorization",
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)

_PRESIGN_PARAMS = frozenset(
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
    }
)
# Dropped from the input before signing: the unsigned ones and the date the signer sets.
_REPLACED_HEADERS = UNSIGNED_HEADERS | {"x-amz-date"}
_PLAIN_PATH_RE = re.compile(r"[A-Za-z0-9\-_.~/]*")


# --------------------------------------------------------------------------- steps


def amz_date(now: datetime | float) -> str:
    """``X-Amz-Date`` value: ISO 8601 basic UTC, ``YYYYMMDD'T'HHMMSS'Z'``."""
    return iso_basic(utc(now))


def date_stamp(now: datetime | float) -> str:
    """``YYYYMMDD`` (UTC): the date part of the credential scope and of a signing-key cache key."""
    return iso_basic(utc(now))[:8]


def credential_scope(date: str, region: str, service: str) -> str:
    """``YYYYMMDD/region/service/aws4_request``."""
    return f"{date}/{region}/{service}/aws4_request"


def derive_signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """``kSigning`` for one (date, region, service).

    Four of the five HMACs of a signature are spent here and the result only changes
    once a day, so callers signing many requests should cache it per
    (access key, date, region, service) and pass it as ``signing_key=``.
    """
    k_date = hmac_sha256(f"AWS4{secret_access_key}".encode(), date.encode())
    k_region = hmac_sha256(k_date, region.encode())
    k_service = hmac_sha256(k_region, service.encode())
    return hmac_sha256(k_service, b"aws4_request")


def normalize_path(path: str) -> str:
    """RFC 3986 dot-segment removal, also collapsing empty segments (``//``).

    A leading and a trailing ``/`` are kept; an empty path becomes ``/``. This is the
    rule every AWS service except S3 applies before signing.
    """
    if not path:
        return "/"
    out: list[str] = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        if segment == "..":
            if out:
                out.pop()
        else:
            out.append(segment)
    first = "/" if path[0] == "/" else ""
    last = "/" if path[-1] == "/" and out else ""
    return first + "/".join(out) + last


def canonical_uri(path: str, *, s3: bool = False, normalize: bool | None = None) -> str:
    """CanonicalURI from the raw wire path.

    Non-S3 (``s3=False``): normalize unless ``normalize=False``, then URI-encode the wire
    path again, leaving ``/`` alone (the "encode twice" rule: ``%20`` -> ``%2520``).

    S3 (``s3=True``): no normalization by default; each segment is decoded and encoded
    once with RFC 3986, which leaves a correctly encoded path unchanged and fixes what S3
    would re-encode anyway (a raw ``$`` becomes ``%24``, a raw space ``%20``).
    """
    if normalize is None:
        normalize = not s3
    if not path:
        path = "/"
    if normalize:
        path = normalize_path(path)
    if _PLAIN_PATH_RE.fullmatch(path):
        return path
    if s3:
        return encode_path_once(path)
    return quote(path, safe="/~")


def canonical_query_string(query: Iterable[tuple[str, str | None]]) -> str:
    """CanonicalQueryString from raw (wire-encoded) query pairs.

    Names and values are decoded and re-encoded with RFC 3986, a missing value is ``""``
    (``?lifecycle`` -> ``lifecycle=``), and pairs are sorted by encoded name, then value,
    keeping repeated keys.
    """
    return sorted_query(query)


def canonical_headers(
    headers: Iterable[tuple[str, str]], host: str | None = None
) -> tuple[str, str]:
    """Return ``(CanonicalHeaders, SignedHeaders)`` for the signable subset of ``headers``.

    Headers in :data:`UNSIGNED_HEADERS` are skipped. ``host`` is used when the headers
    carry no ``Host``. CanonicalHeaders ends with a newline after every entry.
    """
    return _headers_block(group_headers(headers, UNSIGNED_HEADERS), host)


def _headers_block(grouped: dict[str, list[str]], host: str | None) -> tuple[str, str]:
    if "host" not in grouped:
        if not host:
            raise ValueError("a Host header (or a URL host) is required for SigV4")
        grouped["host"] = [host]
    names = sorted(grouped)
    lines = []
    for name in names:
        values = grouped[name]
        if len(values) == 1:
            lines.append(f"{name}:{' '.join(values[0].split())}\n")
        else:
            lines.append(f"{name}:{','.join([' '.join(v.split()) for v in values])}\n")
    return "".join(lines), ";".join(names)


def canonical_request_for(
    request: Request,
    *,
    payload_hash: str | None = None,
    s3: bool = False,
    normalize: bool | None = None,
) -> tuple[str, str]:
    """``(CanonicalRequest, SignedHeaders)`` for a request whose headers are final.

    The request must already carry every header to be signed (``X-Amz-Date``, and
    ``X-Amz-Security-Token`` / ``X-Amz-Content-SHA256`` where used);
    :func:`sign_request` adds them itself.
    """
    block, signed = canonical_headers(request.headers, request.host)
    creq = canonical_request(
        request.method,
        canonical_uri(request.path, s3=s3, normalize=normalize),
        canonical_query_string(request.query),
        block,
        signed,
        payload_hash if payload_hash is not None else sha256_hex(request.body),
    )
    return creq, signed


def string_to_sign(timestamp: str, scope: str, canonical_request: str) -> str:
    """``AWS4-HMAC-SHA256\\n<X-Amz-Date>\\n<scope>\\n<hex sha256(CanonicalRequest)>``."""
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"


def signature(signing_key: bytes, string_to_sign: str) -> str:
    """Hex HMAC-SHA256 of the string to sign under ``kSigning``."""
    return hmac_sha256(signing_key, string_to_sign.encode("utf-8")).hex()


def authorization_header(
    access_key_id: str, scope: str, signed_headers: str, signature: str
) -> str:
    """The ``Authorization`` value, with botocore's ``", "`` separators."""
    return (
        f"{ALGORITHM} Credential={access_key_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


# ------------------------------------------------------------------ host derivation


class AwsTarget(NamedTuple):
    """Signing name and region of an endpoint."""

    service: str
    region: str


_REGION_RE = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")
_AWS_SUFFIXES = (
    (".amazonaws.com.cn", "cn-north-1"),
    (".amazonaws.com", "us-east-1"),
    (".api.aws", None),
    (".on.aws", None),
)
# Host labels whose signing name differs from the label.
_SIGNING_NAMES = {
    "bedrock-runtime": "bedrock",
    "bedrock-agent": "bedrock",
    "bedrock-agent-runtime": "bedrock",
    "bedrock-data-automation-runtime": "bedrock",
    "email": "ses",
    "lambda-url": "lambda",
    "s3-accesspoint": "s3",
    "s3-control": "s3",
    "s3-external-1": "s3",
    "runtime-v2-lex": "lex",
    "aps-workspaces": "aps",
}
_MODIFIER_LABELS = frozenset({"dualstack", "fips"})


def _service_from_label(label: str, labels: list[str], index: int) -> str:
    if label.endswith("-fips"):
        label = label[: -len("-fips")]
    if label == "iot" and index > 0:
        previous = labels[index - 1]
        if previous.startswith("data") or previous.endswith("-ats"):
            return "iotdata"
    return _SIGNING_NAMES.get(label, label)


def _guess_target(host: str) -> tuple[str | None, str | None]:
    host = host.lower().rstrip(".")
    if host.startswith("["):
        return None, None
    host = host.partition(":")[0]
    for suffix, global_region in _AWS_SUFFIXES:
        if host.endswith(suffix):
            prefix = host[: -len(suffix)]
            default_region = global_region
            break
    else:
        return None, None
    labels = [label for label in prefix.split(".") if label]
    if not labels:
        return None, None
    region_index = None
    for i in range(len(labels) - 1, -1, -1):
        if _REGION_RE.fullmatch(labels[i]):
            region_index = i
            break
    # Legacy S3 endpoints put the region in the label: s3-eu-west-1, s3.dualstack...
    for i in range(len(labels) - 1, -1, -1):
        label = labels[i]
        if label.startswith("s3-") and _REGION_RE.fullmatch(label[3:]):
            return "s3", label[3:]
        if label == "s3-accelerate" or label.startswith("s3-accelerate."):
            return "s3", None
    if region_index is None:
        service_index = len(labels) - 1
        while service_index > 0 and labels[service_index] in _MODIFIER_LABELS:
            service_index -= 1
        return (
            _service_from_label(labels[service_index], labels, service_index),
            default_region,
        )
    region = labels[region_index]
    if region_index < len(labels) - 1:
        # <domain>.<region>.es.amazonaws.com and the like: the service follows the region.
        last = len(labels) - 1
        return _service_from_label(labels[last], labels, last), region
    service_index = region_index - 1
    while service_index >= 0 and labels[service_index] in _MODIFIER_LABELS:
        service_index -= 1
    if service_index < 0:
        return None, region
    return _service_from_label(labels[service_index], labels, service_index), region


def resolve_target(
    host: str, *, service: str | None = None, region: str | None = None
) -> AwsTarget:
    """Signing name and region for ``host``; explicit ``service``/``region`` always win.

    Handles ``<service>.<region>.amazonaws.com`` (``ec2.us-west-2.amazonaws.com``), global
    endpoints (``s3.amazonaws.com``, ``iam.amazonaws.com`` -> ``us-east-1``; ``.com.cn``
    -> ``cn-north-1``), virtual-hosted and legacy S3 hosts (``bucket.s3.eu-west-1...``,
    ``bucket.s3-eu-west-1...``, ``dualstack``), ``-fips`` labels, hosts whose service
    follows the region (``<domain>.<region>.es.amazonaws.com``) and the few endpoints
    whose signing name differs from the host label (``bedrock-runtime`` -> ``bedrock``,
    ``email`` -> ``ses``). Raises ``ValueError`` when something is still missing.
    """
    if service and region:
        return AwsTarget(service, region)
    guessed_service, guessed_region = _guess_target(host)
    service = service or guessed_service
    region = region or guessed_region
    if not service or not region:
        missing = " and ".join(
            word for word, value in (("service", service), ("region", region)) if not value
        )
        raise ValueError(f"cannot derive the AWS signing {missing} from host {host!r}")
    return AwsTarget(service, region)


# ------------------------------------------------------------------------ signing


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


def _sign_headers(
    method: str,
    url_host: str,
    path: str,
    canonical_query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    access_key_id: str,
    secret_access_key: str,
    now: datetime | float,
    session_token: str | None,
    service: str | None,
    region: str | None,
    unsigned_payload: bool,
    payload_hash: str | None,
    s3: bool | None,
    normalize_path: bool | None,
    add_content_sha256: bool | None,
    omit_session_token: bool,
    signing_key: bytes | None,
) -> tuple[list[tuple[str, str]], str, str, str, str, str, str]:
    # The same steps as the public functions above, inlined: this is the per-request path.
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


def sign_request(
    request: Request,
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
) -> SigningResult:
    """Sign ``request`` with an ``Authorization`` header; see :func:`sign` for the options."""
    headers, creq, sts, sig, auth, signed, scope = _sign_headers(
        request.method,
        request.host,
        request.path,
        sorted_query(request.query),
        request.headers,
        request.body,
        access_key_id,
        secret_access_key,
        now,
        session_token,
        service,
        region,
        unsigned_payload,
        payload_hash,
        s3,
        normalize_path,
        add_content_sha256,
        omit_session_token,
        signing_key,
    )
    return SigningResult(headers, creq, sts, sig, auth, signed, scope)


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
    return _sign_headers(
        method.upper(),
        host,
        path,
        sorted_raw_query(raw_query),
        iter_headers(headers),
        body if type(body) is bytes else to_bytes(body),
        access_key_id,
        secret_access_key,
        now,
        session_token,
        service,
        region,
        unsigned_payload,
        payload_hash,
        s3,
        normalize_path,
        add_content_sha256,
        omit_session_token,
        signing_key,
    )[0]


# ----------------------------------------------------------------------- presigning


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
