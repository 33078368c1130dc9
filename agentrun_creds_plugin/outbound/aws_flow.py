"""The SigV4 fast path of the httpx / httpx2 auth flow: sign straight off the request.

Why: a SigV4 signature is a few hashes (about 3 µs), but the generic flow around it (copy the
headers into pairs, turn the URL into a string and parse it again, derive the target, build a
plan, set each header through ``Headers.__setitem__``, compute the redirect origin with
``urllib``) cost several times that, so ``http_auth`` was barely faster than botocore's
``SigV4Auth.add_auth``. This module signs exactly what :func:`~..signing.aws.sign` signs
(``tests/outbound/test_sigv4_flow_botocore.py`` checks it byte for byte against botocore), with
the per-request work cut to what really changes per request:

- what depends only on the URL and the signing options (host, canonical URI and query, service,
  region, scope tail, redirect origin) is computed once per URL and kept in a bounded cache;
- the headers are read once, as the bytes httpx keeps, without decoding and re-encoding them;
- the empty body's hash is a constant, a bytes body is hashed once;
- ``X-Amz-Date`` is formatted once per second;
- the scoped signing key is cached per (keyed digest of the key pair, date, region, service),
  together with its two HMAC pad states, so the signature is two hash copies and updates;
- the signing headers are put into (and, once sent, redacted in) httpx's header list directly.

Freshness is untouched: the credential is resolved by the caller on every request, and nothing
here keeps a secret (the caches hold digests, derived day keys and public URL facts).

Anything unusual (a signer other than the built-in one registered for ``aws``, a header that is
not plain ASCII, a streaming body, a target that cannot be derived, a Headers object without the
list httpx keeps) returns ``None`` and the caller takes the generic path, which signs the same
way or raises the documented error.
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

from ..kinds import CloudAccessKeyCredential
from ..signing._request import EMPTY_SHA256, iso_basic, sorted_raw_query, split_url, utc
from ..signing.aws.canonical import _REPLACED_HEADERS, S3_SERVICES, UNSIGNED_PAYLOAD, canonical_uri
from ..signing.aws.signer import AwsSigner, _target
from ..signing.base import SigningOptions, SigningRequest
from ..signing.registry import get_signer
from .cloud import secret_digest
from .redirects import SENT_EXTENSION, origin

__all__ = ["REDACTED_BYTES", "forget_headers", "sign_httpx_request"]

REDACTED_BYTES = b"[REDACTED]"

_LIMIT = 2048
# (url, service option, region option, credential region) -> what the URL implies
_URLS: dict[tuple[str, str | None, str | None, str | None], tuple[Any, ...]] = {}
# (digest of the key pair, date, region, service) -> (inner, outer) HMAC pad states of kSigning
_KEYS: dict[tuple[bytes, str, str, str], tuple[Any, Any]] = {}
_STAMP: tuple[int, str, bytes] = (-1, "", b"")

_SKIP = frozenset(name.encode() for name in _REPLACED_HEADERS)
# What bytes processing could get wrong against the str processing of the generic path:
# anything outside ASCII, and the four ASCII separators ``str.split()`` treats as whitespace.
_NOT_PLAIN = re.compile(rb"[\x1c-\x1f\x80-\xff]")
_EMPTY_SHA256_B = EMPTY_SHA256.encode()
_UNSIGNED_B = UNSIGNED_PAYLOAD.encode()
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))

_DATE, _TOKEN, _SHA = b"x-amz-date", b"x-amz-security-token", b"x-amz-content-sha256"
_NAMES = {  # (token sent, content hash sent) -> the header names the flow sets, in order
    (False, False): ("X-Amz-Date", "Authorization"),
    (True, False): ("X-Amz-Date", "X-Amz-Security-Token", "Authorization"),
    (False, True): ("X-Amz-Date", "X-Amz-Content-SHA256", "Authorization"),
    (True, True): ("X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256", "Authorization"),
}


def _url_facts(
    url: str, options: SigningOptions, cred_region: str | None
) -> tuple[Any, ...] | None:
    """What the URL implies, as :class:`AwsSigner` and :func:`sign` derive it (cached)."""
    key = (url, options.service, options.region, cred_region)
    found = _URLS.get(key)
    if found is not None:
        return found
    authority = SigningRequest("GET", url, (), b"", 0.0).host
    try:
        try:
            target = _target(authority, service=options.service, region=options.region)
        except ValueError:
            target = _target(
                authority, service=options.service, region=options.region or cred_region
            )
        _, url_host, path, raw_query = split_url(url)
    except ValueError:
        return None  # the generic path raises the documented error
    service, region = target
    s3 = service in S3_SERVICES
    uri = path if path == "/" else canonical_uri(path, s3=s3)
    facts = (
        url_host.encode(),
        uri.encode(),
        sorted_raw_query(raw_query).encode(),
        region,
        service,
        s3 or options.unsigned_payload,  # X-Amz-Content-SHA256 is sent
        f"/{region}/{service}/aws4_request",
        origin(url),
    )
    if any(not part.isascii() for part in facts[:3]):
        return None
    if len(_URLS) >= _LIMIT:
        _URLS.clear()
    _URLS[key] = facts
    return facts


def _stamp(now: float) -> tuple[str, bytes]:
    """``X-Amz-Date`` for ``now``, formatted once per second."""
    global _STAMP
    second = int(now)
    if round((now - second) * 1e6) >= 1_000_000:  # datetime.fromtimestamp rounds to the µs
        second += 1
    cached = _STAMP
    if cached[0] == second:
        return cached[1], cached[2]
    text = iso_basic(utc(second))
    _STAMP = (second, text, text.encode())
    return text, _STAMP[2]


def _pads(secret: str, ident: str, date: str, region: str, service: str) -> tuple[Any, Any]:
    """The HMAC inner and outer states of kSigning for one scope (cached, no secret kept)."""
    key = (secret_digest(ident, secret), date, region, service)
    found = _KEYS.get(key)
    if found is None:
        from ..signing.aws.canonical import derive_signing_key

        k = derive_signing_key(secret, date, region, service).ljust(64, b"\0")
        found = (hashlib.sha256(k.translate(_IPAD)), hashlib.sha256(k.translate(_OPAD)))
        if len(_KEYS) >= 1024:
            _KEYS.clear()
        _KEYS[key] = found
    return found


def _set(items: list[Any], name: str, value: bytes, *, respell: bool = False) -> None:
    """``Headers.__setitem__`` on httpx's list: the first entry of that name takes ``value``
    (keeping its spelling unless ``respell``), later ones go, or the header is appended."""
    lowered = name.lower().encode()
    first = -1
    i = 0
    while i < len(items):
        if items[i][1] == lowered:
            if first < 0:
                first = i
            else:
                del items[i]
                continue
        i += 1
    if first < 0:
        items.append((name.encode(), lowered, value))
    else:
        items[first] = (name.encode() if respell else items[first][0], lowered, value)


def _header_list(request: Any) -> list[Any] | None:
    """httpx's own header list (``[(raw name, lower-case name, value), ...]``), if it has one."""
    items = getattr(request.headers, "_list", None)
    if type(items) is not list or (items and len(items[0]) != 3):
        return None
    return items


def sign_httpx_request(
    cred: Any, request: Any, options: SigningOptions
) -> tuple[str, ...] | None:
    """Sign an httpx/httpx2 ``request`` in place; the names set, or None to take the generic path.

    Signs as ``sign_cloud`` would: same target, canonical request and headers set (each
    replacing its namesake, under the spelling already on the request); records them for the
    redirect guard. Returns ``None`` before changing anything when the request is unusual.
    """
    if type(cred) is not CloudAccessKeyCredential or cred.provider != "aws":
        return None
    try:
        signer = get_signer("aws")
    except LookupError:
        return None
    if type(signer) is not AwsSigner:
        return None
    items = _header_list(request)
    if items is None:
        return None
    url = str(request.url)
    facts = _url_facts(url, options, cred.region)
    if facts is None:
        return None
    url_host, uri, query, region, service, add_sha, tail, sent_origin = facts

    grouped: dict[bytes, list[bytes]] = {}
    for _, lname, value in items:
        if lname in _SKIP:
            continue
        values = grouped.get(lname)
        if values is None:
            grouped[lname] = [value]
        else:
            values.append(value)
    host_values = grouped.get(b"host")
    if host_values is None:
        if not url_host:
            return None
        grouped[b"host"] = [url_host]

    unsigned = options.unsigned_payload
    if unsigned:
        payload = _UNSIGNED_B
    else:
        declared = grouped.get(_SHA)
        if declared:
            payload = declared[0].strip()
        else:
            try:
                body = request.content
            except Exception:  # a stream that was not read: the generic path says how to fix it
                return None
            payload = hashlib.sha256(body).hexdigest().encode() if body else _EMPTY_SHA256_B

    timestamp, timestamp_b = _stamp(time.time())
    date = timestamp[:8]
    grouped[_DATE] = [timestamp_b]
    token_secret = cred.security_token
    token = token_secret.get_secret_value() if token_secret is not None else None
    token_b = b""
    if token:
        token_b = token.encode()
        if not token.isascii():
            return None
        grouped[_TOKEN] = [token_b]
    if add_sha:
        grouped[_SHA] = [payload]

    names = sorted(grouped)
    lines = []
    for name in names:
        values = grouped[name]
        if len(values) == 1:
            lines.append(b"%s:%s\n" % (name, b" ".join(values[0].split())))
        else:
            lines.append(b"%s:%s\n" % (name, b",".join([b" ".join(v.split()) for v in values])))
    block = b"".join(lines)
    if _NOT_PLAIN.search(block) is not None or _NOT_PLAIN.search(payload) is not None:
        return None
    signed = b";".join(names)
    method = request.method
    if type(method) is not str or not method.isascii():
        return None
    creq = b"%s\n%s\n%s\n%s\n%s\n%s" % (method.upper().encode(), uri, query, block, signed, payload)
    scope = f"{date}{tail}"
    sts = f"AWS4-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(creq).hexdigest()}"

    inner0, outer0 = _pads(
        cred.access_key_secret.get_secret_value(), cred.access_key_id, date, region, service
    )
    inner = inner0.copy()
    inner.update(sts.encode())
    outer = outer0.copy()
    outer.update(inner.digest())
    auth = (
        f"AWS4-HMAC-SHA256 Credential={cred.access_key_id}/{scope}, "
        f"SignedHeaders={signed.decode()}, Signature={outer.hexdigest()}"
    )

    sent = _NAMES[bool(token), add_sha]
    _set(items, "X-Amz-Date", timestamp_b)
    if token:
        _set(items, "X-Amz-Security-Token", token_b)
    if add_sha:
        _set(items, "X-Amz-Content-SHA256", payload)
    _set(items, "Authorization", auth.encode())
    request.extensions[SENT_EXTENSION] = (sent_origin, sent, ())
    return sent


def forget_headers(request: Any, names: tuple[str, ...]) -> None:
    """Once sent, the request keeps no signature or token: each of ``names`` still on it is
    ``[REDACTED]`` (as the generic flow's ``_forget``)."""
    items = _header_list(request)
    if items is None:
        for name in names:
            if name in request.headers:
                request.headers[name] = REDACTED_BYTES.decode()
        return
    present = {lname for _, lname, _ in items}
    for name in names:
        if name.lower().encode() in present:
            _set(items, name, REDACTED_BYTES, respell=True)
