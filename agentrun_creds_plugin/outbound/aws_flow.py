"""The SigV4 fast path of the httpx / httpx2 auth flow: sign straight off the request.

Why: a SigV4 signature is a few hashes (about 3 µs), but the generic flow around it (copy the
headers into pairs, turn the URL into a string and parse it again, derive the target, build a
plan, set each header through ``Headers.__setitem__``, compute the redirect origin with
``urllib``) cost several times that, so ``http_auth`` was barely faster than botocore's
``SigV4Auth.add_auth``. This module signs exactly what :func:`~..signing.aws.sign` signs
(``tests/outbound/test_sigv4_flow_botocore.py`` checks it byte for byte against botocore), with
the per-request work cut to what really changes per request:

- what depends only on the URL and the signing options (host, canonical URI and query, service,
  region, redirect origin) is computed once per URL and kept in a bounded cache;
- the headers are read once, as the bytes httpx keeps, without decoding and re-encoding them;
- the empty body's hash is a constant, a bytes body is hashed once;
- ``X-Amz-Date`` is formatted once per second;
- the scoped signing key is cached per (key pair, date, region, service) as its two HMAC pad
  states (looked up by keyed hashes of the secret, never the secret itself, see ``_KEYS``), and
  the string to sign's first lines are hashed once per second, so a signature costs one SHA-256
  of the canonical request and two hash copies;
- the signing headers are put into (and, once sent, redacted in) httpx's header list directly.

Freshness is untouched: the credential is resolved by the caller on every request, and nothing
here keeps a secret (the caches hold hashes of it, derived day keys and public URL facts).

Anything unusual (a signer other than the built-in one registered for ``aws``, a header that is
not plain ASCII, a streaming body, a target that cannot be derived, a Headers object without the
list httpx keeps) returns ``None`` and the caller takes the generic path, which signs the same
way or raises the documented error.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from ..kinds import CloudAccessKeyCredential
from ..signing._hmac import hmac_states
from ..signing._request import (
    EMPTY_SHA256,
    iso_basic,
    sorted_raw_query,
    split_url,
    utc,
)
from ..signing.aws.canonical import (
    _REPLACED_HEADERS,
    S3_SERVICES,
    UNSIGNED_PAYLOAD,
    canonical_uri,
    derive_signing_key,
)
from ..signing.aws.signer import AwsSigner, _target
from ..signing.base import SigningOptions, SigningRequest
from ..signing.registry import _SIGNERS
from .redirects import SENT_EXTENSION, origin

__all__ = ["REDACTED_BYTES", "forget_headers", "sign_httpx_request"]

REDACTED_BYTES = b"[REDACTED]"

_LIMIT = 512  # URLs per auth object
# ((access key id, two hashes of the secret), date, region, service) -> see _key_entry.
# The secret is not kept: it is looked up by CPython's str hash (SipHash-1-3 under the
# per-process random key of PYTHONHASHSEED), taken over the secret and over the secret plus a
# NUL, so 128 bits next to the access key id; a rotated secret gets its own entry. This is the
# BLAKE2b digest of ``cloud._scoped_key`` at a seventh of the cost (str hashing is done in C
# with no object to set up), on a path where that digest was a tenth of the flow.
_KEYS: dict[tuple[tuple[str, int, int], str, str, str], list[Any]] = {}
_STAMP: tuple[int, str, bytes] = (-1, "", b"")

_SKIP = frozenset(name.encode() for name in _REPLACED_HEADERS)
# What bytes processing could get wrong against the str processing of the generic path:
# anything outside ASCII, and the four ASCII separators that ``str.split()`` and
# ``str.strip()`` treat as whitespace and ``bytes.split()`` does not.
_STR_SPACES = b"\x1c\x1d\x1e\x1f"
_EMPTY_SHA256_B = EMPTY_SHA256.encode()
_UNSIGNED_B = UNSIGNED_PAYLOAD.encode()

_DATE, _TOKEN, _SHA = b"x-amz-date", b"x-amz-security-token", b"x-amz-content-sha256"
_AUTH = b"authorization"
_SET_SKIPPED = frozenset({_DATE, _AUTH})  # set by the signature and left out of it
_NAMES = {  # (token sent, content hash sent) -> the header names the flow sets, in order
    (False, False): ("X-Amz-Date", "Authorization"),
    (True, False): ("X-Amz-Date", "X-Amz-Security-Token", "Authorization"),
    (False, True): ("X-Amz-Date", "X-Amz-Content-SHA256", "Authorization"),
    (True, True): ("X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256", "Authorization"),
}

_SPELLED = {  # the names set -> {lower-case name: spelling}, for redacting them in one pass
    names: {name.lower().encode(): name.encode() for name in names} for names in _NAMES.values()
}


def _url_facts(
    request_url: Any, options: SigningOptions, cred_region: str | None, cache: dict[Any, Any]
) -> tuple[Any, ...] | None:
    """What the URL implies, as :class:`AwsSigner` and :func:`sign` derive it.

    Cached in ``cache`` (one per auth object, so the signing options are fixed) by the URL's
    parse result (httpx keeps one per URL string) and the credential's region.
    """
    parsed = getattr(request_url, "_uri_reference", None)
    key = (str(request_url) if parsed is None else parsed, cred_region)
    found: tuple[Any, ...] | None = cache.get(key)
    if found is not None:
        return found
    url = str(request_url)
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
        origin(url),
    )
    if any(not part.isascii() for part in facts[:3]):
        return None
    if len(cache) >= _LIMIT:
        cache.clear()
    cache[key] = facts
    return facts


def _stamp(now: float) -> tuple[int, str, bytes]:
    """(second, ``X-Amz-Date`` text, as bytes) for ``now`` (a Unix time), formatted once per
    second (``sign_httpx_request`` reuses ``_STAMP`` within that second)."""
    global _STAMP
    second = int(now)
    if round((now - second) * 1e6) >= 1_000_000:  # datetime.fromtimestamp rounds to the µs
        second += 1
    text = iso_basic(utc(second))
    _STAMP = stamp = (second, text, text.encode())
    return stamp


def _key_entry(
    pair: tuple[str, int, int], secret: str, date: str, region: str, service: str
) -> list[Any]:
    """The cache entry of one scope: [kSigning's inner and outer HMAC states, the scope,
    (X-Amz-Date, inner state after the string to sign's first lines) of the last second]."""
    entry: list[Any] = [
        *hmac_states(derive_signing_key(secret, date, region, service)),
        f"{date}/{region}/{service}/aws4_request".encode(),
        (b"", None),
    ]
    if len(_KEYS) >= 1024:
        _KEYS.clear()
    _KEYS[pair, date, region, service] = entry
    return entry


def _start_string_to_sign(entry: list[Any], timestamp: bytes) -> tuple[bytes, Any]:
    """The inner HMAC state after ``AWS4-HMAC-SHA256\\n<X-Amz-Date>\\n<scope>\\n``, kept for
    the rest of that second (one tuple, replaced whole, so threads never see half of it)."""
    inner = entry[0].copy()
    inner.update(b"AWS4-HMAC-SHA256\n%s\n%s\n" % (timestamp, entry[2]))
    second = (timestamp, inner)
    entry[3] = second
    return second


def _put(items: list[Any], new: list[tuple[bytes, bytes, bytes]]) -> None:
    """``Headers.__setitem__`` of each new (spelling, lower-case name, value) on httpx's list:
    the first header of that name takes the value under its own spelling, later ones go, a
    name not there yet is appended."""
    wanted = {entry[1]: entry for entry in new}
    kept = []
    for item in items:
        entry = wanted.get(item[1])
        if entry is None:
            kept.append(item)
        elif entry is not _DONE:
            kept.append((item[0], entry[1], entry[2]))
            wanted[item[1]] = _DONE
    kept += [entry for entry in wanted.values() if entry is not _DONE]
    items[:] = kept


_DONE = (b"", b"", b"")


def _header_list(request: Any) -> list[Any] | None:
    """httpx's own header list (``[(raw name, lower-case name, value), ...]``), if it has one."""
    items = getattr(request.headers, "_list", None)
    if type(items) is not list or (items and len(items[0]) != 3):
        return None
    return items


def sign_httpx_request(
    cred: Any, request: Any, options: SigningOptions, url_cache: dict[Any, Any]
) -> tuple[str, ...] | None:
    """Sign an httpx/httpx2 ``request`` in place; the names set, or None to take the generic path.

    Signs as ``sign_cloud`` would: same target, canonical request and headers set (each
    replacing its namesake, under the spelling already on the request); records them for the
    redirect guard. Returns ``None`` before changing anything when the request is unusual.
    """
    if type(cred) is not CloudAccessKeyCredential or cred.provider != "aws":
        return None
    if type(_SIGNERS.get("aws")) is not AwsSigner:  # a replaced signer is used as registered
        return None
    items = getattr(request.headers, "_list", None)
    if type(items) is not list or (items and len(items[0]) != 3):
        return None
    request_url = request.url
    parsed = getattr(request_url, "_uri_reference", None)
    region_option = cred.region
    facts = url_cache.get((str(request_url) if parsed is None else parsed, region_option))
    if facts is None:
        facts = _url_facts(request_url, options, region_option, url_cache)
        if facts is None:
            return None
    url_host, uri, query, region, service, add_sha, sent_origin = facts

    # The signed headers, lower-case name -> value with whitespace runs collapsed; repeated
    # headers joined with "," in received order.
    grouped: dict[bytes, bytes] = {}
    date_at = auth_at = -1  # where the headers the signature sets already are (a retry, a
    repeated = False  # reused request), and whether one of them is there twice
    for i, (_, lname, value) in enumerate(items):
        if lname in _SKIP:
            if lname == _DATE:
                repeated = repeated or date_at >= 0
                date_at = i if date_at < 0 else date_at
            elif lname == _AUTH:
                repeated = repeated or auth_at >= 0
                auth_at = i if auth_at < 0 else auth_at
            continue
        if lname in grouped:
            grouped[lname] += b"," + b" ".join(value.split())
        else:
            grouped[lname] = b" ".join(value.split())
    stale = _TOKEN in grouped or _SHA in grouped
    if b"host" not in grouped:
        if not url_host:
            return None
        grouped[b"host"] = url_host

    if options.unsigned_payload:
        payload = _UNSIGNED_B
    elif _SHA in grouped:  # the server takes the payload hash from this header
        payload = next(v for _, lname, v in items if lname == _SHA).strip()  # checked below
    else:
        try:
            body = request.content
        except Exception:  # a stream that was not read: the generic path says how to fix it
            return None
        payload = hashlib.sha256(body).hexdigest().encode() if body else _EMPTY_SHA256_B

    now = time.time()
    stamp = _STAMP
    if not 0.0 <= now - stamp[0] < 0.999999:  # else: inside that second, clear of rounding
        stamp = _stamp(now)
    timestamp_b = stamp[2]
    grouped[_DATE] = timestamp_b
    token_secret = cred.security_token
    token = token_secret.get_secret_value() if token_secret is not None else None
    if token:
        token_b = token.encode()
        grouped[_TOKEN] = b" ".join(token_b.split())
    if add_sha:
        grouped[_SHA] = payload

    names = sorted(grouped)
    signed = b";".join(names)
    block = b"\n".join([name + b":" + grouped[name] for name in names])
    creq = b"%s\n%s\n%s\n%s\n\n%s\n%s" % (
        request.method.upper().encode(),
        uri,
        query,
        block,
        signed,
        payload,
    )
    ident = cred.access_key_id
    if (
        not creq.isascii()
        or len(creq.translate(None, _STR_SPACES)) != len(creq)
        or not ident.isascii()
    ):
        return None  # not plain ASCII: the generic path signs it as text

    date = stamp[1][:8]
    secret = cred.access_key_secret.get_secret_value()
    pair = (ident, hash(secret), hash(secret + "\x00"))  # see _KEYS
    entry = _KEYS.get((pair, date, region, service))
    if entry is None:
        entry = _key_entry(pair, secret, date, region, service)
    scope_b = entry[2]
    second = entry[3]  # (X-Amz-Date, HMAC state after the string to sign's first three lines)
    if second[0] != timestamp_b:
        second = _start_string_to_sign(entry, timestamp_b)
    inner = second[1].copy()
    inner.update(hashlib.sha256(creq).hexdigest().encode())
    outer = entry[1].copy()
    outer.update(inner.digest())
    auth = b"AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        ident.encode(),
        scope_b,
        signed,
        outer.hexdigest().encode(),
    )

    if repeated or stale:
        new = [(b"X-Amz-Date", _DATE, timestamp_b)]
        if token:
            new.append((b"X-Amz-Security-Token", _TOKEN, token_b))
        if add_sha:
            new.append((b"X-Amz-Content-SHA256", _SHA, payload))
        new.append((b"Authorization", _AUTH, auth))
        _put(items, new)
    else:  # Headers.__setitem__ of each, in place where the header is, else appended
        if date_at < 0:
            items.append((b"X-Amz-Date", _DATE, timestamp_b))
        else:
            items[date_at] = (items[date_at][0], _DATE, timestamp_b)
        if token:
            items.append((b"X-Amz-Security-Token", _TOKEN, token_b))
        if add_sha:
            items.append((b"X-Amz-Content-SHA256", _SHA, payload))
        if auth_at < 0:
            items.append((b"Authorization", _AUTH, auth))
        else:
            items[auth_at] = (items[auth_at][0], _AUTH, auth)
    sent = _NAMES[bool(token), add_sha]
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
    spelled = _SPELLED[names]
    for i, (_, lname, _value) in enumerate(items):
        raw = spelled.get(lname)
        if raw is not None:
            items[i] = (raw, lname, REDACTED_BYTES)
