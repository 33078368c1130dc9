"""AWS SigV4 constants and the individual canonicalization steps (one function per step).

Public so that a signature mismatch can be located at the canonical-request stage. The
per-request fast path in :mod:`.headers` inlines the same steps.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import quote

from .._hmac import hmac_sha256
from .._request import (
    Request,
    canonical_request,
    encode_path_once,
    group_headers,
    iso_basic,
    sha256_hex,
    sorted_query,
    utc,
)

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
