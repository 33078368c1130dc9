"""The request model shared by the signers, plus the few helpers that really are common.

A request is kept as it goes on the wire: the raw (still percent-encoded) path, the query
as an ordered list of raw pairs and the headers as an ordered list of pairs. Dicts are not
used on purpose: AWS signs repeated query keys and repeated headers (in received order),
and Tencent signs the query string exactly as sent, so order, duplicates and the original
encoding must all survive until a provider-specific canonicalizer decides what to do with
them.

Everything here is pure: no clock, no randomness, no I/O.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, TypeAlias
from urllib.parse import quote_from_bytes, unquote_to_bytes

__all__ = [
    "EMPTY_SHA256",
    "REDACTED_HEADERS",
    "HeaderPairs",
    "HeadersInput",
    "QueryPairs",
    "Request",
    "header_pairs",
    "iso_basic",
    "iso_extended",
    "join_query",
    "parse_query",
    "reencode_component",
    "sha256_hex",
    "split_url",
    "to_bytes",
    "utc",
]

HeaderPairs: TypeAlias = tuple[tuple[str, str], ...]
QueryPairs: TypeAlias = tuple[tuple[str, str | None], ...]
HeadersInput: TypeAlias = "Iterable[tuple[str, str]] | Mapping[str, str]"

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

# Header values that carry credentials; a Request's repr masks them.
REDACTED_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-amz-security-token",
        "x-acs-security-token",
        "x-tc-token",
    }
)

_URL_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#]*)([^?#]*)(?:\?([^#]*))?")
_UNRESERVED_RE = re.compile(r"[A-Za-z0-9\-_.~]*")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_ZERO = timedelta(0)


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256, the payload hash format all three providers use."""
    return hashlib.sha256(data).hexdigest() if data else EMPTY_SHA256


def to_bytes(body: bytes | bytearray | memoryview | str | None) -> bytes:
    """Bodies are hashed as the exact bytes sent; text is taken to be sent as UTF-8."""
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    return bytes(body)


def utc(now: datetime) -> datetime:
    """Return ``now`` in UTC, refusing naive datetimes.

    Every signature embeds a UTC timestamp; a naive ``datetime.now()`` would silently be
    off by the local UTC offset (Tencent's docs warn about exactly this failure between
    00:00 and 08:00 in UTC+8), so the clock must say which zone it is in.
    """
    offset = now.utcoffset()
    if offset is None:
        raise ValueError("the signing clock must be timezone-aware (use datetime.now(UTC))")
    if offset == _ZERO:
        return now
    return now.astimezone(UTC)


def iso_basic(t: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ`` of a UTC datetime (the AWS ``X-Amz-Date`` form)."""
    # %-formatting is about twice as fast as format specs here, and this is on every signature.
    return "%04d%02d%02dT%02d%02d%02dZ" % (t.year, t.month, t.day, t.hour, t.minute, t.second)  # noqa: UP031


def iso_extended(t: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` of a UTC datetime (the Alibaba ``x-acs-date`` form)."""
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (t.year, t.month, t.day, t.hour, t.minute, t.second)  # noqa: UP031


def header_pairs(headers: HeadersInput | None) -> HeaderPairs:
    """Normalize headers to a tuple of pairs, keeping order and duplicates.

    ``httpx.Headers`` (and anything else with ``multi_items()``) is read pair by pair,
    because its mapping view merges repeated headers with ``", "``, while servers join
    them with ``","``.
    """
    if headers is None:
        return ()
    multi = getattr(headers, "multi_items", None)
    if multi is not None:
        return tuple(multi())
    if isinstance(headers, Mapping):
        return tuple(headers.items())
    return tuple((name, value) for name, value in headers)


def parse_query(raw_query: str) -> QueryPairs:
    """Split a raw query into ``(name, value)`` pairs without decoding anything.

    A segment without ``=`` keeps ``None`` as its value so that the original string can
    be rebuilt byte for byte (Tencent signs the query as sent); the AWS and Alibaba
    canonicalizers treat ``None`` as the empty value.
    """
    if not raw_query:
        return ()
    pairs: list[tuple[str, str | None]] = []
    for segment in raw_query.split("&"):
        name, sep, value = segment.partition("=")
        pairs.append((name, value if sep else None))
    return tuple(pairs)


def join_query(query: QueryPairs) -> str:
    """Inverse of :func:`parse_query`."""
    return "&".join(name if value is None else f"{name}={value}" for name, value in query)


def split_url(url: str) -> tuple[str, str, str, str]:
    """Split an absolute URL into ``(scheme, host, raw_path, raw_query)`` without decoding.

    ``host`` is what a client puts in the ``Host`` header: lower-cased, without userinfo
    and without the port when it is the scheme's default. The fragment is dropped.
    """
    match = _URL_RE.match(url)
    if match is None:
        raise ValueError("an absolute http(s) URL is required")
    scheme, authority, path, query = match.groups()
    scheme = scheme.lower()
    host = authority.rpartition("@")[2].lower()
    if host.startswith("["):
        end = host.find("]")
        port = host[end + 2 :] if end != -1 and host[end + 1 : end + 2] == ":" else ""
        bare = host[: end + 1] if end != -1 else host
    else:
        bare, _, port = host.partition(":")
    host = f"{bare}:{port}" if port and port != _DEFAULT_PORTS.get(scheme) else bare
    return scheme, host, path, query or ""


def reencode_component(component: str) -> str:
    """Decode a raw URI component and encode it again with strict RFC 3986 rules.

    This is what the servers do to compute their side of a canonical request, so a
    component sent slightly "wrong" (raw ``$``, a literal space, lower-case hex, an
    encoded ``~``) is still signed the way the server will see it. ``+`` is a literal
    plus here (RFC 3986), never a space. Works on bytes, so invalid UTF-8 survives.
    """
    if _UNRESERVED_RE.fullmatch(component):
        return component
    return quote_from_bytes(unquote_to_bytes(component), safe="")


class Request(NamedTuple):
    """An HTTP request as it goes on the wire.

    ``path`` is the raw path (percent-encoded as sent, no query), ``query`` the raw query
    pairs in order (see :func:`parse_query`), ``headers`` the header pairs in order,
    ``body`` the exact body bytes, ``host`` the authority derived from the URL (used when
    no ``Host`` header is given), ``scheme`` ``http`` or ``https``.
    """

    method: str
    path: str
    query: QueryPairs
    headers: HeaderPairs
    body: bytes
    host: str
    scheme: str = "https"

    @classmethod
    def from_url(
        cls,
        method: str,
        url: str,
        headers: HeadersInput | None = None,
        body: bytes | bytearray | memoryview | str | None = b"",
    ) -> Request:
        """Build a request from a full URL, e.g. ``str(httpx_request.url)``."""
        scheme, host, path, raw_query = split_url(url)
        return cls(
            method.upper(),
            path,
            parse_query(raw_query),
            header_pairs(headers),
            to_bytes(body),
            host,
            scheme,
        )

    @classmethod
    def from_target(
        cls,
        method: str,
        target: str,
        headers: HeadersInput | None = None,
        body: bytes | bytearray | memoryview | str | None = b"",
        *,
        scheme: str = "https",
    ) -> Request:
        """Build a request from a request-line target (``/path?query``), as a server sees it.

        The host then comes from the ``Host`` header.
        """
        path, _, raw_query = target.partition("?")
        pairs = header_pairs(headers)
        host = next((v for k, v in pairs if k.lower() == "host"), "")
        return cls(
            method.upper(), path, parse_query(raw_query), pairs, to_bytes(body), host, scheme
        )

    @property
    def raw_query(self) -> str:
        """The query string exactly as it was given (without the ``?``)."""
        return join_query(self.query)

    @property
    def url(self) -> str:
        """The URL rebuilt from scheme, host, raw path and raw query."""
        query = self.raw_query
        return f"{self.scheme}://{self.host_header}{self.path}{'?' + query if query else ''}"

    @property
    def host_header(self) -> str:
        """The ``Host`` header if one is given, else the host from the URL."""
        return self.header("host") or self.host

    def header_values(self, name: str) -> list[str]:
        """All values of header ``name`` (case-insensitive), in order."""
        low = name.lower()
        return [value for key, value in self.headers if key.lower() == low]

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        low = name.lower()
        for key, value in self.headers:
            if key.lower() == low:
                return value
        return None

    def with_headers(self, updates: Iterable[tuple[str, str]]) -> Request:
        """Return a copy where each header in ``updates`` replaces any header of that name.

        This is how a signer's output is meant to be applied.
        """
        updates = tuple(updates)
        names = {name.lower() for name, _ in updates}
        kept = tuple((k, v) for k, v in self.headers if k.lower() not in names)
        return self._replace(headers=kept + updates)

    def __repr__(self) -> str:
        shown = [(k, "<redacted>" if k.lower() in REDACTED_HEADERS else v) for k, v in self.headers]
        query = [(k, "<redacted>" if k.lower() in _REDACTED_QUERY else v) for k, v in self.query]
        return (
            f"Request(method={self.method!r}, host={self.host!r}, path={self.path!r}, "
            f"query={query!r}, headers={shown!r}, body=<{len(self.body)} bytes>)"
        )


_REDACTED_QUERY = frozenset({"x-amz-security-token", "x-amz-signature", "securitytoken"})
