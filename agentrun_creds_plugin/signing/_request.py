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
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeAlias
from urllib.parse import quote_from_bytes, quote_plus, unquote_to_bytes, urlencode

__all__ = [
    "EMPTY_SHA256",
    "REDACTED_HEADERS",
    "HeaderPairs",
    "HeadersInput",
    "QueryPairs",
    "Request",
    "encode_path_once",
    "form_urlencode",
    "group_headers",
    "header_pairs",
    "iso_basic",
    "iso_extended",
    "iter_headers",
    "join_query",
    "parse_query",
    "reencode_component",
    "sha256_hex",
    "sorted_query",
    "sorted_raw_query",
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
        "x-api-key",
        "api-key",
    }
)
_REDACTED_QUERY = frozenset({"x-amz-security-token", "x-amz-signature", "securitytoken"})

_URL_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#]*)([^?#]*)(?:\?([^#]*))?")
_UNRESERVED_RE = re.compile(r"[A-Za-z0-9\-_.~]*")
_PLAIN_PATH_RE = re.compile(r"[A-Za-z0-9\-_.~/]*")
_PLAIN_QUERY_RE = re.compile(
    r"[A-Za-z0-9\-_.~]+=[A-Za-z0-9\-_.~]*(?:&[A-Za-z0-9\-_.~]+=[A-Za-z0-9\-_.~]*)*"
)
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_ZERO = timedelta(0)
# Two-digit strings by index: formatting timestamps this way is several times cheaper
# than %02d or strftime, and a timestamp is formatted for every signature.
_2D = tuple(f"{i:02d}" for i in range(100))


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


def utc(now: datetime | float) -> datetime:
    """Return the signing time as a UTC datetime.

    Accepts a Unix timestamp (``time.time()``) or a timezone-aware datetime. Naive
    datetimes are refused: every signature embeds a UTC timestamp, and a naive
    ``datetime.now()`` would silently be off by the local UTC offset (Tencent's docs warn
    about exactly this failure between 00:00 and 08:00 in UTC+8).
    """
    if type(now) is datetime and now.tzinfo is UTC:
        return now  # datetime.now(UTC), the usual clock: nothing to check or convert
    if type(now) is float or type(now) is int:
        return datetime.fromtimestamp(now, UTC)
    if not isinstance(now, datetime):
        raise TypeError("the signing clock must be a datetime or a Unix timestamp")
    offset = now.utcoffset()
    if offset is None:
        raise ValueError("the signing clock must be timezone-aware (use datetime.now(UTC))")
    if offset == _ZERO:
        return now
    return now.astimezone(UTC)


def canonical_request(
    method: str,
    uri: str,
    query: str,
    headers_block: str,
    signed_headers: str,
    payload_hash: str,
) -> str:
    """The CanonicalRequest of SigV4 and ACS3 (``headers_block`` already ends in a newline)."""
    return f"{method.upper()}\n{uri}\n{query}\n{headers_block}\n{signed_headers}\n{payload_hash}"


def iso_basic(t: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ`` of a UTC datetime (the AWS ``X-Amz-Date`` form)."""
    return f"{t.year:04d}{_2D[t.month]}{_2D[t.day]}T{_2D[t.hour]}{_2D[t.minute]}{_2D[t.second]}Z"


def iso_extended(t: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` of a UTC datetime (the Alibaba ``x-acs-date`` form)."""
    return (
        f"{t.year:04d}-{_2D[t.month]}-{_2D[t.day]}T{_2D[t.hour]}:{_2D[t.minute]}:{_2D[t.second]}Z"
    )


def header_pairs(headers: HeadersInput | None) -> HeaderPairs:
    """Normalize headers to a tuple of pairs, keeping order and duplicates.

    ``httpx.Headers`` (and anything else with ``multi_items()``) is read pair by pair,
    because its mapping view merges repeated headers with ``", "``, while servers join
    them with ``","``.
    """
    if headers is None:
        return ()
    if type(headers) is tuple:
        return headers
    if type(headers) is list:
        return tuple(headers)
    multi = getattr(headers, "multi_items", None)
    if multi is not None:
        return tuple(multi())
    if isinstance(headers, Mapping):
        return tuple(headers.items())
    return tuple(headers)


def iter_headers(headers: HeadersInput | None) -> Iterable[tuple[str, str]]:
    """Like :func:`header_pairs`, but hands lists and tuples through without copying."""
    if headers is None:
        return ()
    if type(headers) is list or type(headers) is tuple:
        return headers
    return header_pairs(headers)


def group_headers(
    headers: Iterable[tuple[str, str]], exclude: Collection[str] = ()
) -> dict[str, list[str]]:
    """Map lower-cased header names to their values in received order, in one pass.

    Names in ``exclude`` (lower-case) are left out. The signers work from this map so
    that each header name is lower-cased once per signature.
    """
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        lname = name.lower()
        if lname in exclude:
            continue
        values = grouped.get(lname)
        if values is None:
            grouped[lname] = [value]
        else:
            values.append(value)
    return grouped


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


def form_urlencode(query: Mapping[Any, object] | Iterable[tuple[Any, object]]) -> str:
    """``urllib.parse.urlencode(query)``, byte for byte, about three times cheaper.

    The query string a caller (or the official Tencent SDK) builds from a dict of
    parameters: ``quote_plus`` of ``str(name)`` and ``str(value)`` (bytes quoted as they
    are), joined as ``name=value`` with ``&``. Names and values that are plain ``str`` of
    unreserved characters, or plain ``int``, are kept as they are without calling
    ``quote_plus``: that is the usual API parameter, and ``quote_plus`` returns exactly
    that for it. Everything else goes through ``quote_plus`` as ``urlencode`` does
    (``doseq`` is not offered: a list value is quoted as its ``str``, as there).
    """
    if hasattr(query, "items"):
        pairs: Iterable[tuple[Any, object]] = query.items()
    elif type(query) is list or type(query) is tuple:
        if query and type(query[0]) is not tuple:
            return urlencode(query)  # raises urlencode's own TypeError (or handles it alike)
        pairs = query
    else:
        return urlencode(query)  # type: ignore[arg-type]
    plain = _UNRESERVED_RE.fullmatch
    out = []
    for name, value in pairs:
        if type(name) is not str or not plain(name):
            name = _form_component(name)
        if type(value) is int:
            value = str(value)  # digits and "-" only: nothing to quote
        elif type(value) is not str or not plain(value):
            value = _form_component(value)
        out.append(f"{name}={value}")
    return "&".join(out)


def _form_component(item: object) -> str:
    if isinstance(item, bytes):
        return quote_plus(item, "")
    return quote_plus(str(item), "")


def split_url(url: str) -> tuple[str, str, str, str]:
    """Split an absolute URL into ``(scheme, host, raw_path, raw_query)`` without decoding.

    ``host`` is what a client puts in the ``Host`` header: lower-cased, without userinfo
    and without the port when it is the scheme's default. The fragment is dropped.
    """
    # The usual lower-case "https://" or "http://" URL is split with str methods, a
    # quarter cheaper than the regular expression and equal to it (a test compares).
    if type(url) is not str:
        rest = ""  # the regular expression's own TypeError for what is not text
    elif url.startswith("https://"):
        scheme, rest = "https", url[8:]
    elif url.startswith("http://"):
        scheme, rest = "http", url[7:]
    else:
        rest = ""
    if rest:
        if "#" in rest:
            rest = rest.partition("#")[0]
        head, _, query = rest.partition("?")
        slash = head.find("/")
        if slash == -1:
            host, path = head.lower(), ""
        else:
            host, path = head[:slash].lower(), head[slash:]
    else:
        match = _URL_RE.match(url)
        if match is None:
            raise ValueError("an absolute http(s) URL is required")
        scheme, authority, path, raw_query = match.groups()
        scheme, host, query = scheme.lower(), authority.lower(), raw_query or ""
    if "@" in host or ":" in host:
        host = _host_from_authority(scheme, host)
    return scheme, host, path, query


def _host_from_authority(scheme: str, authority: str) -> str:
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        end = host.find("]")
        port = host[end + 2 :] if end != -1 and host[end + 1 : end + 2] == ":" else ""
        bare = host[: end + 1] if end != -1 else host
    else:
        bare, _, port = host.partition(":")
    return f"{bare}:{port}" if port and port != _DEFAULT_PORTS.get(scheme) else bare


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


def sorted_query(query: Iterable[tuple[str, str | None]]) -> str:
    """Sorted RFC 3986 query: the canonical query string of both SigV4 and ACS3.

    Each raw name and value is decoded and re-encoded (:func:`reencode_component`), a
    missing value becomes ``""`` (``?flag`` -> ``flag=``), pairs are sorted by encoded
    name and then value (repeated keys kept) and joined as ``name=value`` with ``&``.
    """
    plain = _UNRESERVED_RE.fullmatch
    pairs = []
    for name, value in query:
        if value is None:
            if not name:
                continue
            value = ""
        pairs.append(
            (
                name if plain(name) else reencode_component(name),
                value if plain(value) else reencode_component(value),
            )
        )
    if not pairs:
        return ""
    pairs.sort()
    return "&".join(map("=".join, pairs))


def sorted_raw_query(raw_query: str) -> str:
    """``sorted_query(parse_query(raw_query))``, with a shortcut for plain queries.

    Most API queries are ``name=value`` pairs of unreserved characters only; those need
    no decoding or re-encoding, just sorting, and that is all the shortcut does.
    """
    if not raw_query:
        return ""
    if _PLAIN_QUERY_RE.fullmatch(raw_query):
        return _sort_plain_query(raw_query)
    return sorted_query(parse_query(raw_query))


def _sort_plain_query(raw_query: str) -> str:
    """:func:`sorted_raw_query` of a query that matches ``_PLAIN_QUERY_RE``."""
    # Sorting "name\0value" strings orders pairs exactly like (name, value) tuples,
    # because NUL sorts below every character a plain name can contain.
    segments = raw_query.replace("=", "\0").split("&")
    segments.sort()
    return "&".join(segments).replace("\0", "=")


def encode_path_once(path: str) -> str:
    """A path with each segment RFC 3986-encoded exactly once (S3 and Alibaba ROA rules).

    A correctly encoded wire path comes back unchanged; what the server would re-encode
    anyway is fixed (raw ``$`` -> ``%24``, raw space -> ``%20``, lower-case hex).
    An empty path is ``/``.
    """
    if not path:
        return "/"
    if _PLAIN_PATH_RE.fullmatch(path):
        return path
    return "/".join([reencode_component(segment) for segment in path.split("/")])


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
