"""The Alibaba ACS3 signer's fast paths, each equal to the general path (tests compare).

- The parts of a URL (host, raw path, canonical query), remembered per URL text: splitting
  the URL and decoding, re-encoding and sorting its query was a seventh of a signature, and
  an API client signs the same URLs again and again.
- The canonical header block when every header is sent once and the signer adds all the
  ``x-acs-*`` ones: those sort as one run, written with one format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ._request import _PLAIN_QUERY_RE, _sort_plain_query, sorted_raw_query, split_url

# Signed by default: what the V3 doc lists as required or recommended.
_DEFAULT_SIGNED = frozenset({"host", "content-type", "content-md5"})
# Never signed, even with sign_all_headers: the signature itself and what proxies rewrite.
_NEVER_SIGNED = frozenset(
    {
        "authorization",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


def _single_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str] | None:
    """Lower-cased name -> value of headers that are each sent once and carry no x-acs-*
    of their own (``None`` otherwise: the general path then groups them); the headers
    never signed are left out, as :func:`~._request.group_headers` leaves them."""
    found: dict[str, str] = {}
    for name, value in headers:
        lname = name.lower()
        if lname in _NEVER_SIGNED:
            continue
        if lname in found or lname.startswith("x-acs-"):
            return None
        found[lname] = value
    return found


# The x-acs-* headers every signature adds, in sorted order (with and without the STS token).
_ACS_SIGNED = (
    "x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version",
    "x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;"
    "x-acs-signature-nonce;x-acs-version",
)


def _headers_block_with_acs(
    single: dict[str, str],
    host: str | None,
    sign_all: bool,
    action: str,
    version: str,
    date: str,
    nonce: str,
    payload_hash: str,
    security_token: str | None,
) -> tuple[str, str]:
    """:func:`_headers_block` of headers from :func:`_single_headers` plus the x-acs-*
    headers the signature adds.

    Those added headers then sort as one run (every other name sorts wholly before or
    after ``x-acs-``), so they are written with one format instead of one line each: the
    header block was a quarter of an ACS3 signature.
    """
    if "host" not in single:
        if not host:
            raise ValueError("a Host header (or a URL host) is required for ACS3")
        single["host"] = host
    # "x-acs-" stands for the added run: it sorts after every name below the run and
    # before every name above it (no name here starts with "x-acs-").
    if sign_all:
        names = sorted([*single, "x-acs-"])
    else:
        names = sorted([name for name in single if name in _DEFAULT_SIGNED] + ["x-acs-"])
    token = f"x-acs-security-token:{security_token.strip()}\n" if security_token else ""
    run = (
        f"x-acs-action:{action.strip()}\nx-acs-content-sha256:{payload_hash.strip()}\n"
        f"x-acs-date:{date}\n{token}x-acs-signature-nonce:{nonce.strip()}\n"
        f"x-acs-version:{version.strip()}\n"
    )
    lines = [run if name == "x-acs-" else f"{name}:{single[name].strip()}\n" for name in names]
    names[names.index("x-acs-")] = _ACS_SIGNED[1 if token else 0]
    return "".join(lines), ";".join(names)


# URL -> (host, raw path, canonical query string): splitting the URL and decoding,
# re-encoding and sorting its query was a seventh of a signature, and an API client signs
# the same URLs again and again. Pure functions of the URL text; bounded, emptied when
# full. (The URL only: an ACS3 credential travels in headers, never in the URL.)
_URL_PARTS: dict[str, tuple[str, str, str]] = {}
_URL_PARTS_MAX = 256


# An https URL whose host is lower-case (no port, no user), whose path and query are
# plain (unreserved characters, every pair name=value): split_url and sorted_raw_query
# would only sort its query, so one match does their work (a test compares).
_PLAIN_URL_RE = re.compile(
    rf"https://([a-z0-9.\-]+)(/[A-Za-z0-9\-_.~/]*)?(?:\?({_PLAIN_QUERY_RE.pattern}))?"
)


def _url_parts(url: str) -> tuple[str, str, str]:
    plain = _PLAIN_URL_RE.fullmatch(url) if type(url) is str else None
    if plain is not None:
        host, path, query = plain.groups()
        parts = (host, path or "", _sort_plain_query(query) if query else "")
    else:
        _, host, path, raw_query = split_url(url)
        parts = (host, path, sorted_raw_query(raw_query))
    if type(url) is str:
        if len(_URL_PARTS) >= _URL_PARTS_MAX:
            _URL_PARTS.clear()
        _URL_PARTS[url] = parts
    return parts
