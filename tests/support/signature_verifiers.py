"""Server-side signature checks for AWS SigV4, Tencent Cloud TC3 and Alibaba Cloud ACS3.

For a loopback test server that must accept only correctly signed requests. These are
written independently of :mod:`agentrun_creds_plugin.signing` (nothing is imported from
it): AWS is recomputed from the published algorithm with ``hashlib``/``hmac``, Tencent
uses the official SDK's ``Sign.sign_tc3`` key chain, and Alibaba is recomputed by the
official ``alibabacloud_openapi_util`` ``get_authorization``.

Each ``check_*`` function takes the request as received: ``method``, the raw request
target (path plus query string, still percent-encoded, e.g. ``IncomingRequest.target``),
the header pairs in received order, and the body bytes; plus the credentials the server
expects. It returns ``None`` or raises :class:`SignatureError` with a reason. The
``verify_*`` variants return ``True``/``False``. :func:`check_request` dispatches on the
``Authorization`` scheme and looks the secret up through a callback::

    def check(method, path, query, headers, body):  # an ApiServer check
        ...

    secrets = {("aws", "AKIDEXAMPLE"): "wJalr..."}
    reason = signature_failure(req.method, req.target, req.headers, req.body,
                               lambda provider, key_id: secrets.get((provider, key_id)))

Server-side rules enforced beyond the signature itself: the access key id must match,
``host`` must be signed (plus the provider's mandatory headers), the timestamp must be
within the allowed skew when ``now`` is given, and the payload hash header (if any) must
match the body.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote, unquote_to_bytes

from alibabacloud_openapi_util.client import Client as AlibabaOpenApiUtil
from tencentcloud.common.sign import Sign as TencentSign

__all__ = [
    "SignatureError",
    "check_aliyun_acs3",
    "check_aws_sigv4",
    "check_request",
    "check_tencent_tc3",
    "credential_of",
    "signature_failure",
    "verify_aliyun_acs3",
    "verify_aws_sigv4",
    "verify_tencent_tc3",
]

Headers = Sequence[tuple[str, str]]
SecretLookup = Callable[[str, str], "str | None"]

_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_AWS_AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<cred>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<sig>[0-9a-f]{64})"
)
_TC3_AUTH_RE = re.compile(
    r"TC3-HMAC-SHA256 Credential=(?P<cred>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<sig>[0-9a-f]{64})"
)
_ACS3_AUTH_RE = re.compile(
    r"ACS3-HMAC-SHA256 Credential=(?P<cred>[^,\s]+),SignedHeaders=(?P<signed>[^,\s]+),"
    r"Signature=(?P<sig>[0-9a-f]{64})"
)
_S3_SERVICES = {"s3", "s3-object-lambda", "s3-outposts"}


class SignatureError(Exception):
    """The request is not correctly signed; ``str(err)`` says why (never a secret)."""


# ----------------------------------------------------------------------------- helpers


def _values(headers: Headers, name: str) -> list[str]:
    low = name.lower()
    return [value for key, value in headers if key.lower() == low]


def _single(headers: Headers, name: str) -> str | None:
    values = _values(headers, name)
    if len(values) > 1:
        raise SignatureError(f"header {name} appears {len(values)} times")
    return values[0] if values else None


def _split_target(target: str) -> tuple[str, list[tuple[str, str]]]:
    path, _, raw_query = target.partition("?")
    pairs = []
    for segment in raw_query.split("&") if raw_query else []:
        name, _, value = segment.partition("=")
        pairs.append((name, value))
    return path, pairs


def _check_skew(when: datetime, now: datetime | None, allowed: timedelta, what: str) -> None:
    if now is not None and abs(now - when) > allowed:
        raise SignatureError(f"{what} is outside the allowed clock skew")


def _rfc3986(raw: str) -> str:
    return quote(unquote_to_bytes(raw), safe="-_.~")


# --------------------------------------------------------------------------------- AWS


def _aws_canonical_path(path: str, s3: bool) -> str:
    if s3:
        return "/".join(_rfc3986(segment) for segment in (path or "/").split("/"))
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    normalized = "/" + "/".join(segments)
    if path.endswith("/") and segments:
        normalized += "/"
    return quote(normalized, safe="/-_.~")


def check_aws_sigv4(
    method: str,
    target: str,
    headers: Headers,
    body: bytes,
    *,
    access_key_id: str,
    secret_access_key: str,
    now: datetime | None = None,
    max_skew: timedelta = timedelta(minutes=15),
) -> None:
    """Check an AWS SigV4 request: ``Authorization`` header or presigned query."""
    path, query = _split_target(target)
    presigned = any(name == "X-Amz-Signature" for name, _ in query)
    if presigned:
        params = {name: unquote(value) for name, value in query}
        if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
            raise SignatureError("unsupported X-Amz-Algorithm")
        credential = params.get("X-Amz-Credential", "")
        signed_names = params.get("X-Amz-SignedHeaders", "")
        given = params.get("X-Amz-Signature", "")
        timestamp = params.get("X-Amz-Date", "")
        try:
            expires = int(params.get("X-Amz-Expires", ""))
        except ValueError as exc:
            raise SignatureError("X-Amz-Expires is missing or not a number") from exc
        query = [(name, value) for name, value in query if name != "X-Amz-Signature"]
    else:
        authorization = _single(headers, "authorization")
        match = _AWS_AUTH_RE.fullmatch((authorization or "").strip())
        if match is None:
            raise SignatureError("no AWS4-HMAC-SHA256 Authorization header")
        credential, signed_names, given = match["cred"], match["signed"], match["sig"]
        timestamp = _single(headers, "x-amz-date") or ""
        expires = 0

    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise SignatureError("malformed credential scope")
    key_id, date, region, service, _ = parts
    if not hmac.compare_digest(key_id, access_key_id):
        raise SignatureError("unknown access key id")
    try:
        when = datetime.strptime(timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise SignatureError("missing or malformed X-Amz-Date") from exc
    if timestamp[:8] != date:
        raise SignatureError("credential date does not match X-Amz-Date")
    if presigned:
        if now is not None and not when - max_skew <= now <= when + timedelta(seconds=expires):
            raise SignatureError("presigned URL expired or not yet valid")
    else:
        _check_skew(when, now, max_skew, "X-Amz-Date")

    names = signed_names.split(";")
    if names != sorted(set(names)) or "host" not in names:
        raise SignatureError("SignedHeaders must be sorted, unique and include host")
    if not presigned and "x-amz-date" not in names:
        raise SignatureError("x-amz-date must be signed")
    lines = []
    for name in names:
        values = _values(headers, name)
        if not values:
            raise SignatureError(f"signed header {name} is missing")
        lines.append(f"{name}:{','.join(' '.join(v.split()) for v in values)}\n")

    s3 = service in _S3_SERVICES
    declared = _single(headers, "x-amz-content-sha256")
    if declared not in (None, "UNSIGNED-PAYLOAD") and declared != hashlib.sha256(body).hexdigest():
        raise SignatureError("x-amz-content-sha256 does not match the body")
    if declared is not None:
        payload_hash = declared
    elif presigned and s3:
        payload_hash = "UNSIGNED-PAYLOAD"
    else:
        payload_hash = hashlib.sha256(body).hexdigest()

    canonical_query = "&".join(
        f"{n}={v}" for n, v in sorted((_rfc3986(n), _rfc3986(v)) for n, v in query if n or v)
    )
    canonical_request = "\n".join(
        [
            method.upper(),
            _aws_canonical_path(path, s3),
            canonical_query,
            "".join(lines),
            signed_names,
            payload_hash,
        ]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            timestamp,
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{secret_access_key}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        raise SignatureError("signature mismatch")


# ----------------------------------------------------------------------------- Tencent


def check_tencent_tc3(
    method: str,
    target: str,
    headers: Headers,
    body: bytes,
    *,
    secret_id: str,
    secret_key: str,
    now: datetime | None = None,
    max_skew: timedelta = timedelta(minutes=5),
) -> None:
    """Check a Tencent Cloud TC3-HMAC-SHA256 request (the SDK's key chain does the HMACs)."""
    match = _TC3_AUTH_RE.fullmatch((_single(headers, "authorization") or "").strip())
    if match is None:
        raise SignatureError("no TC3-HMAC-SHA256 Authorization header")
    parts = match["cred"].split("/")
    if len(parts) != 4 or parts[3] != "tc3_request":
        raise SignatureError("malformed credential scope")
    key_id, date, service, _ = parts
    if not hmac.compare_digest(key_id, secret_id):
        raise SignatureError("unknown SecretId")
    timestamp = _single(headers, "x-tc-timestamp") or ""
    if not timestamp.isdigit():
        raise SignatureError("missing or malformed X-TC-Timestamp")
    when = datetime.fromtimestamp(int(timestamp), UTC)
    if when.strftime("%Y-%m-%d") != date:
        raise SignatureError("credential date is not the UTC date of X-TC-Timestamp")
    _check_skew(when, now, max_skew, "X-TC-Timestamp")

    names = match["signed"].split(";")
    if names != sorted(set(names)) or not {"content-type", "host"} <= set(names):
        raise SignatureError("SignedHeaders must be sorted, unique and include content-type;host")
    lines = []
    for name in names:
        value = _single(headers, name)
        if value is None:
            raise SignatureError(f"signed header {name} is missing")
        lines.append(f"{name}:{value.strip().lower()}\n")
    if _single(headers, "x-tc-content-sha256") == "UNSIGNED-PAYLOAD":
        payload = b"UNSIGNED-PAYLOAD"
    else:
        payload = body
    raw_query = target.partition("?")[2]
    canonical_request = "\n".join(
        [
            method.upper(),
            "/",
            "" if method.upper() == "POST" else raw_query,
            "".join(lines),
            match["signed"],
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    string_to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            timestamp,
            f"{date}/{service}/tc3_request",
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    expected = TencentSign.sign_tc3(secret_key, date, service, string_to_sign)
    if not hmac.compare_digest(expected, match["sig"]):
        raise SignatureError("signature mismatch")


# ----------------------------------------------------------------------------- Alibaba


class _UtilRequest:
    """The attributes ``alibabacloud_openapi_util`` reads from a request."""

    def __init__(
        self, method: str, pathname: str, headers: dict[str, str], query: dict[str, str]
    ) -> None:
        self.method = method
        self.pathname = pathname
        self.headers = headers
        self.query = query


_ACS3_REQUIRED = {
    "host",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
}


def check_aliyun_acs3(
    method: str,
    target: str,
    headers: Headers,
    body: bytes,
    *,
    access_key_id: str,
    access_key_secret: str,
    now: datetime | None = None,
    max_skew: timedelta = timedelta(minutes=15),
    seen_nonces: set[str] | None = None,
) -> None:
    """Check an Alibaba Cloud ACS3-HMAC-SHA256 request with the official util's signer.

    ``seen_nonces``, if given, is the server's replay memory: a nonce already in it is
    rejected, a fresh one is added.
    """
    match = _ACS3_AUTH_RE.fullmatch((_single(headers, "authorization") or "").strip())
    if match is None:
        raise SignatureError("no ACS3-HMAC-SHA256 Authorization header")
    if not hmac.compare_digest(match["cred"], access_key_id):
        raise SignatureError("unknown AccessKey id")
    names = match["signed"].split(";")
    if not set(names) >= _ACS3_REQUIRED:
        raise SignatureError("host and the x-acs-* request headers must all be signed")
    signed: dict[str, str] = {}
    for name in names:
        value = _single(headers, name)
        if value is None:
            raise SignatureError(f"signed header {name} is missing")
        signed[name] = value
    if signed["x-acs-content-sha256"] != hashlib.sha256(body).hexdigest():
        raise SignatureError("x-acs-content-sha256 does not match the body")
    try:
        when = datetime.strptime(signed["x-acs-date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise SignatureError("malformed x-acs-date") from exc
    _check_skew(when, now, max_skew, "x-acs-date")

    path, pairs = _split_target(target)
    query: dict[str, str] = {}
    for name, value in pairs:
        key = unquote(name)
        if key in query:
            raise SignatureError("repeated query parameter")
        query[key] = unquote(value)
    request = _UtilRequest(method.upper(), path or "/", signed, query)
    expected = AlibabaOpenApiUtil.get_authorization(
        request,
        "ACS3-HMAC-SHA256",
        signed["x-acs-content-sha256"],
        access_key_id,
        access_key_secret,
    )
    received = (_single(headers, "authorization") or "").strip()
    if not hmac.compare_digest(str(expected), received):
        raise SignatureError("signature mismatch")
    if seen_nonces is not None:
        nonce = signed["x-acs-signature-nonce"]
        if nonce in seen_nonces:
            raise SignatureError("replayed x-acs-signature-nonce")
        seen_nonces.add(nonce)


# ---------------------------------------------------------------------------- dispatch


def credential_of(target: str, headers: Headers) -> tuple[str, str] | None:
    """``(provider, access key id)`` claimed by a request, or ``None`` if it claims none.

    ``provider`` is ``"aws"``, ``"tencent"`` or ``"aliyun"``; use it to look up the
    secret before calling the matching ``check_*``.
    """
    authorization = (_single(headers, "authorization") or "").strip()
    for provider, pattern in (
        ("aws", _AWS_AUTH_RE),
        ("tencent", _TC3_AUTH_RE),
        ("aliyun", _ACS3_AUTH_RE),
    ):
        match = pattern.fullmatch(authorization)
        if match:
            return provider, match["cred"].split("/")[0]
    _, query = _split_target(target)
    for name, value in query:
        if name == "X-Amz-Credential":
            return "aws", unquote(value).split("/")[0]
    return None


def check_request(
    method: str,
    target: str,
    headers: Headers,
    body: bytes,
    lookup: SecretLookup,
    *,
    now: datetime | None = None,
    seen_nonces: set[str] | None = None,
) -> None:
    """Check whichever of the three schemes the request uses.

    ``lookup(provider, access_key_id)`` returns the secret, or ``None`` for an unknown key.
    """
    claimed = credential_of(target, headers)
    if claimed is None:
        raise SignatureError("no recognised signature")
    provider, key_id = claimed
    secret = lookup(provider, key_id)
    if secret is None:
        raise SignatureError(f"unknown {provider} access key id")
    if provider == "aws":
        check_aws_sigv4(
            method,
            target,
            headers,
            body,
            access_key_id=key_id,
            secret_access_key=secret,
            now=now,
        )
    elif provider == "tencent":
        check_tencent_tc3(
            method, target, headers, body, secret_id=key_id, secret_key=secret, now=now
        )
    else:
        check_aliyun_acs3(
            method,
            target,
            headers,
            body,
            access_key_id=key_id,
            access_key_secret=secret,
            now=now,
            seen_nonces=seen_nonces,
        )


def signature_failure(
    method: str,
    target: str,
    headers: Headers,
    body: bytes,
    lookup: SecretLookup,
    *,
    now: datetime | None = None,
    seen_nonces: set[str] | None = None,
) -> str | None:
    """``None`` if the request is correctly signed, else the reason (for an ApiServer check)."""
    try:
        check_request(method, target, headers, body, lookup, now=now, seen_nonces=seen_nonces)
    except SignatureError as exc:
        return str(exc)
    return None


def _as_bool(check: Callable[[], None]) -> bool:
    try:
        check()
    except SignatureError:
        return False
    return True


def verify_aws_sigv4(
    method: str,
    target: str,
    headers: Headers,
    body: bytes,
    *,
    access_key_id: str,
    secret_access_key: str,
    now: datetime | None = None,
) -> bool:
    """:func:`check_aws_sigv4` as a boolean."""
    return _as_bool(
        lambda: check_aws_sigv4(
            method,
            target,
            headers,
            body,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            now=now,
        )
    )


def verify_tencent_tc3(
    method: str,
    target: str,
    headers: Headers,
    body: bytes,
    *,
    secret_id: str,
    secret_key: str,
    now: datetime | None = None,
) -> bool:
    """:func:`check_tencent_tc3` as a boolean."""
    return _as_bool(
        lambda: check_tencent_tc3(
            method, target, headers, body, secret_id=secret_id, secret_key=secret_key, now=now
        )
    )


def verify_aliyun_acs3(
    method: str,
    target: str,
    headers: Headers,
    body: bytes,
    *,
    access_key_id: str,
    access_key_secret: str,
    now: datetime | None = None,
) -> bool:
    """:func:`check_aliyun_acs3` as a boolean."""
    return _as_bool(
        lambda: check_aliyun_acs3(
            method,
            target,
            headers,
            body,
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            now=now,
        )
    )
