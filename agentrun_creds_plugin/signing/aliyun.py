"""Alibaba Cloud V3 signature (``ACS3-HMAC-SHA256``), for both RPC- and ROA-style APIs.

Pure functions; the clock and the nonce are arguments. Differences from SigV4 that are
easy to get wrong, and what this module does:

* no scope and no key derivation: the signature is one HMAC keyed with the secret;
* the path is encoded **once** (RPC APIs use ``/``), never twice;
* header values are only trimmed (no inner-whitespace folding), and repeated headers
  are joined with ``,`` after **sorting** their values, as the official SDK does;
* only ``host``, ``content-type``, ``content-md5`` and ``x-acs-*`` are signed by default
  (the doc's list, plus the body checksum); ``sign_all_headers=True`` signs everything
  sent, like the SDK;
* ``Authorization`` uses ``,`` separators with no spaces.

The legacy HMAC-SHA1 algorithms (RPC "V2" query signatures and ROA ``acs AK:sig``)
are deliberately not offered: V3 covers every API style and SHA-1 should not be used.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Required, TypedDict, Unpack

from ._acs3_fast import (
    _DEFAULT_SIGNED,
    _NEVER_SIGNED,
    _URL_PARTS,
    _headers_block_with_acs,
    _single_headers,
    _url_parts,
)
from ._hmac import hmac_from_states, hmac_sha256, hmac_states
from ._request import (
    EMPTY_SHA256,
    HeadersInput,
    Request,
    canonical_request,
    encode_path_once,
    group_headers,
    header_pairs,
    iso_extended,
    sha256_hex,
    sorted_query,
    to_bytes,
    utc,
)
from .base import AccessKey, ScopedKeyCache, SigningOptions, SigningRequest, uncached

__all__ = [
    "ALGORITHM",
    "Acs3Options",
    "AliyunSigner",
    "AliyunTarget",
    "SigningResult",
    "acs_date",
    "authorization_header",
    "canonical_headers",
    "canonical_query_string",
    "canonical_request",
    "canonical_request_for",
    "canonical_uri",
    "new_nonce",
    "resolve_target",
    "sign",
    "sign_request",
    "signature",
    "string_to_sign",
]

ALGORITHM = "ACS3-HMAC-SHA256"


# --------------------------------------------------------------------------- steps


def acs_date(now: datetime | float) -> str:
    """``x-acs-date`` value: UTC ``yyyy-MM-ddTHH:mm:ssZ``."""
    return iso_extended(utc(now))


def new_nonce() -> str:
    """A fresh ``x-acs-signature-nonce`` (the server rejects a nonce it has seen).

    128 bits from ``os.urandom``, the CSPRNG behind :mod:`secrets`, without the wrapper.
    """
    return os.urandom(16).hex()


def canonical_uri(path: str) -> str:
    """CanonicalURI: the path with each segment RFC 3986-encoded exactly once.

    A correctly encoded wire path is returned unchanged; an empty path is ``/``.
    """
    return encode_path_once(path)


def canonical_query_string(query: Iterable[tuple[str, str | None]]) -> str:
    """CanonicalQueryString: RFC 3986 names and values, sorted, always ``name=value``."""
    return sorted_query(query)


def canonical_headers(
    headers: Iterable[tuple[str, str]],
    host: str | None = None,
    *,
    sign_all: bool = False,
) -> tuple[str, str]:
    """Return ``(CanonicalHeaders, SignedHeaders)``.

    Signs ``host``, ``content-type``, ``content-md5`` and every ``x-acs-*`` header, or
    every header except ``authorization`` and hop-by-hop ones when ``sign_all``. Values
    are trimmed; repeated headers are sorted, then joined with ``,``. ``host`` fills in
    a missing ``Host`` header.
    """
    return _headers_block(group_headers(headers, _NEVER_SIGNED), host, sign_all)


def _headers_block(
    grouped: dict[str, list[str]], host: str | None, sign_all: bool
) -> tuple[str, str]:
    if "host" not in grouped:
        if not host:
            raise ValueError("a Host header (or a URL host) is required for ACS3")
        grouped["host"] = [host]
    if sign_all:
        names = sorted(grouped)
    else:
        names = sorted(
            [name for name in grouped if name in _DEFAULT_SIGNED or name.startswith("x-acs-")]
        )
    lines = []
    for name in names:
        values = grouped[name]
        if len(values) == 1:
            lines.append(f"{name}:{values[0].strip()}\n")
        else:
            lines.append(f"{name}:{','.join(sorted([v.strip() for v in values]))}\n")
    return "".join(lines), ";".join(names)


def canonical_request_for(
    request: Request, *, sign_all_headers: bool = False, payload_hash: str | None = None
) -> tuple[str, str]:
    """``(CanonicalRequest, SignedHeaders)`` for a request that already carries its ``x-acs-*``.

    The payload hash is taken from ``payload_hash``, else ``x-acs-content-sha256``, else
    the body.
    """
    block, signed = canonical_headers(request.headers, request.host, sign_all=sign_all_headers)
    if payload_hash is None:
        payload_hash = request.header("x-acs-content-sha256") or sha256_hex(request.body)
    creq = canonical_request(
        request.method,
        canonical_uri(request.path),
        canonical_query_string(request.query),
        block,
        signed,
        payload_hash,
    )
    return creq, signed


def string_to_sign(canonical_request: str) -> str:
    """``ACS3-HMAC-SHA256\\n<hex sha256(CanonicalRequest)>``."""
    return f"{ALGORITHM}\n{hashlib.sha256(canonical_request.encode('utf-8')).hexdigest()}"


def signature(access_key_secret: str, string_to_sign: str) -> str:
    """Hex HMAC-SHA256 keyed directly with the AccessKey secret."""
    return hmac_sha256(access_key_secret.encode("utf-8"), string_to_sign.encode("utf-8")).hex()


def authorization_header(access_key_id: str, signed_headers: str, signature: str) -> str:
    """``ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<a;b>,Signature=<hex>`` (no spaces)."""
    return (
        f"{ALGORITHM} Credential={access_key_id},"
        f"SignedHeaders={signed_headers},Signature={signature}"
    )


# ------------------------------------------------------------------ host derivation


class AliyunTarget(NamedTuple):
    """What an Alibaba Cloud endpoint and its headers say about a call.

    ``product`` is the endpoint's product code (``ecs``), ``region`` the region in the
    host (``None`` for central endpoints such as ``sts.aliyuncs.com``), ``action`` and
    ``version`` the API name and version (``x-acs-action``/``x-acs-version``, or the RPC
    ``Action``/``Version`` query parameters).
    """

    product: str | None
    region: str | None
    action: str | None
    version: str | None


_ALIYUN_REGION_RE = re.compile(r"(?:cn|ap|us|eu|me|na|rus|sa)-[a-z]+(?:-[a-z0-9]+)*")
_ALIYUN_SUFFIXES = (".aliyuncs.com", ".aliyun.com")
_ALIYUN_SKIP_LABELS = frozenset({"vpc", "vpc-proxy", "share", "intl", "internal"})


def _guess_product_region(host: str) -> tuple[str | None, str | None]:
    host = host.lower().partition(":")[0].rstrip(".")
    for suffix in _ALIYUN_SUFFIXES:
        if host.endswith(suffix):
            prefix = host[: -len(suffix)]
            break
    else:
        return None, None
    labels = [label for label in prefix.split(".") if label]
    if not labels:
        return None, None
    product_label = labels[0]
    region = None
    for label in labels[1:]:
        if label in _ALIYUN_SKIP_LABELS:
            continue
        if _ALIYUN_REGION_RE.fullmatch(label):
            region = label
            break
    if region is None:
        # Dash form used by some products: ecs-cn-hangzhou.aliyuncs.com
        head, sep, tail = product_label.partition("-")
        if sep and _ALIYUN_REGION_RE.fullmatch(tail):
            return head, tail
    return product_label, region


def resolve_target(
    host: str,
    headers: HeadersInput | None = None,
    query: Iterable[tuple[str, str | None]] = (),
    *,
    product: str | None = None,
    region: str | None = None,
    action: str | None = None,
    version: str | None = None,
) -> AliyunTarget:
    """Product, region, action and version from host, headers and query; explicit values win.

    ``ecs.cn-hangzhou.aliyuncs.com`` -> ``ecs`` / ``cn-hangzhou``; ``ecs-cn-hangzhou...``
    likewise; ``sts.aliyuncs.com`` -> ``sts`` / ``None``. ACS3 itself signs no region or
    product; they matter to the caller (endpoint choice, credential scoping).
    """
    guessed_product, guessed_region = _guess_product_region(host)
    request = Request("GET", "/", tuple(query), header_pairs(headers), b"", host)
    if action is None:
        action = request.header("x-acs-action") or _query_value(request, "Action")
    if version is None:
        version = request.header("x-acs-version") or _query_value(request, "Version")
    return AliyunTarget(product or guessed_product, region or guessed_region, action, version)


def _query_value(request: Request, name: str) -> str | None:
    for key, value in request.query:
        if key == name and value:
            return value
    return None


# ------------------------------------------------------------------------ signing


@dataclass(frozen=True)
class SigningResult:
    """Everything one ACS3 signature produced.

    ``headers`` are the headers to set on the request, each replacing any header of the
    same name; they and the canonical request may carry the STS token, so neither is
    part of the repr.
    """

    headers: list[tuple[str, str]] = field(repr=False)
    canonical_request: str = field(repr=False)
    string_to_sign: str
    signature: str
    authorization: str
    signed_headers: str


class Acs3Options(TypedDict, total=False):
    """The keyword options of :func:`sign` and :func:`sign_request`, typed once.

    Required: ``access_key_id``, ``access_key_secret``, ``now``. The rest as :func:`sign`
    describes.
    """

    access_key_id: Required[str]
    access_key_secret: Required[str]
    now: Required[datetime | float]
    nonce: str | None
    security_token: str | None
    action: str | None
    version: str | None
    sign_all_headers: bool
    payload_hash: str | None


# The parts of a request the signature reads, whichever way the caller described it:
# (method, host, path, canonical_query, headers, body).
# A plain tuple: a NamedTuple costs a fraction of a microsecond per signature.
_Wire = tuple[str, str, str, str, Iterable[tuple[str, str]], bytes]


def _sign(
    wire: _Wire,
    access_key_id: str,
    access_key_secret: str,
    now: datetime | float,
    nonce: str | None = None,
    security_token: str | None = None,
    action: str | None = None,
    version: str | None = None,
    sign_all_headers: bool = False,
    payload_hash: str | None = None,
) -> tuple[list[tuple[str, str]], str, str, str, str, str]:
    # A tuple, not SigningResult: a frozen dataclass costs microseconds on this path.
    method, url_host, path, canonical_query, headers, body = wire
    if payload_hash is None:
        payload_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
    single = _single_headers(headers) if action is not None and version is not None else None
    if single is None:
        grouped = group_headers(headers, _NEVER_SIGNED)
        if action is None and "x-acs-action" not in grouped:
            raise ValueError("ACS3 needs the API name: pass action= or send x-acs-action")
        if version is None and "x-acs-version" not in grouped:
            raise ValueError("ACS3 needs the API version: pass version= or send x-acs-version")
    date = iso_extended(utc(now))
    if nonce is None:
        nonce = os.urandom(16).hex()  # new_nonce(), without the call
    added = [("x-acs-action", action)] if action is not None else []
    if version is not None:
        added.append(("x-acs-version", version))
    added.append(("x-acs-date", date))
    added.append(("x-acs-signature-nonce", nonce))
    added.append(("x-acs-content-sha256", payload_hash))
    if security_token:
        added.append(("x-acs-security-token", security_token))
    if single is not None and action is not None and version is not None:  # see above
        block, signed = _headers_block_with_acs(
            single, url_host, sign_all_headers, action, version, date, nonce, payload_hash,
            security_token,
        )  # fmt: skip
    else:
        for name, value in added:
            grouped[name] = [value]
        block, signed = _headers_block(grouped, url_host, sign_all_headers)
    uri = path if path == "/" else encode_path_once(path)
    creq = f"{method}\n{uri}\n{canonical_query}\n{block}\n{signed}\n{payload_hash}"
    sts = f"{ALGORITHM}\n{hashlib.sha256(creq.encode()).hexdigest()}"
    sig = _hmac_with_secret(access_key_id, access_key_secret, sts.encode()).hex()
    auth = f"{ALGORITHM} Credential={access_key_id},SignedHeaders={signed},Signature={sig}"
    added.append(("Authorization", auth))
    return added, creq, sts, sig, auth, signed


# HMAC-SHA256 states (inner, outer) keyed with an AccessKey secret, by (access key id, two
# hashes of the secret): ACS3 signs with the secret itself, and starting from the saved
# states saves hashing the two 64-byte pads, about 0.5 µs of each signature. The secret is
# not kept: CPython's str hash (SipHash under the per-process random PYTHONHASHSEED key)
# of the secret and of the secret plus a NUL, 128 bits next to the id, finds its entry,
# as in the SigV4 flow's key cache; a rotated secret gets its own entry. Bounded.
_SECRET_STATES: dict[tuple[str, int, int], tuple[Any, Any]] = {}
_SECRET_STATES_MAX = 256


def _hmac_with_secret(access_key_id: str, secret: str, msg: bytes) -> bytes:
    slot = (access_key_id, hash(secret), hash(secret + "\0"))
    states = _SECRET_STATES.get(slot)
    if states is None:
        key = secret.encode()
        states = hmac_states(key)
        if len(_SECRET_STATES) >= _SECRET_STATES_MAX:
            _SECRET_STATES.clear()
        _SECRET_STATES[slot] = states
    return hmac_from_states(states, msg)


def sign_request(request: Request, **options: Unpack[Acs3Options]) -> SigningResult:
    """Sign ``request``; see :func:`sign` for the options."""
    query = sorted_query(request.query)
    wire: _Wire = (request.method, request.host, request.path, query, request.headers, request.body)
    return SigningResult(*_sign(wire, **options))


def sign(
    method: str,
    url: str,
    headers: HeadersInput | None = None,
    body: bytes | str | None = b"",
    *,
    access_key_id: str,
    access_key_secret: str,
    now: datetime | float,
    nonce: str | None = None,
    security_token: str | None = None,
    action: str | None = None,
    version: str | None = None,
    sign_all_headers: bool = False,
    payload_hash: str | None = None,
) -> list[tuple[str, str]]:
    """Sign an HTTP request; return the headers to set on it (each replaces its namesake).

    Options (keyword only): ``access_key_id``, ``access_key_secret``, ``now`` (required),
    ``nonce``, ``security_token``, ``action``, ``version``, ``sign_all_headers``,
    ``payload_hash``.

    Returns ``x-acs-action``/``x-acs-version`` (when passed), ``x-acs-date``,
    ``x-acs-signature-nonce``, ``x-acs-content-sha256``, ``x-acs-security-token`` (STS)
    and ``Authorization``. ``action``/``version`` may instead already be request
    headers. ``now`` is a timezone-aware datetime or a Unix timestamp. ``nonce``
    defaults to a fresh random one; pass one only for reproducible tests.
    ``sign_all_headers`` signs every header sent (as the official SDK does) instead of
    ``host``/``content-type``/``content-md5``/``x-acs-*``. ``payload_hash`` skips
    hashing a large body already hashed.
    """
    parts = _URL_PARTS.get(url)
    if parts is None:
        parts = _url_parts(url)
    body_bytes = body if type(body) is bytes else to_bytes(body)
    if headers is None:
        headers = ()
    elif type(headers) is not list and type(headers) is not tuple:
        headers = header_pairs(headers)
    wire: _Wire = (method.upper(), *parts, headers, body_bytes)
    return _sign(
        wire,
        access_key_id,
        access_key_secret,
        now,
        nonce,
        security_token,
        action,
        version,
        sign_all_headers,
        payload_hash,
    )[0]


class AliyunSigner:
    """ACS3 as a :class:`~.base.Signer` (no scoped key: ACS3 signs with the secret itself)."""

    def sign(
        self,
        request: SigningRequest,
        key: AccessKey,
        options: SigningOptions,
        keys: ScopedKeyCache = uncached,
    ) -> list[tuple[str, str]]:
        """The ACS3 headers, with a fresh nonce."""
        return sign(
            request.method,
            request.url,
            request.headers,
            request.require_body(),
            access_key_id=key.access_key_id,
            access_key_secret=key.secret,
            now=request.now,
            security_token=key.token,
            action=options.action,
            version=options.version,
        )
