"""A tiny, scriptable "third-party API" HTTP(S) server on 127.0.0.1 for tests.

Also home of :class:`LoopbackServer`, the threaded background-server base class that
:mod:`tests.support.llm_server` builds on.

Example::

    def check(method, path, query, headers, body):
        if ("X-Api-Key", "k1") in headers:  # header names keep the case the client sent
            return True
        return "missing or wrong X-Api-Key"

    with ApiServer(check) as srv:
        httpx.get(srv.url("/v1/things"), headers={"X-Api-Key": "k1"})
        assert srv.requests[0].accepted

The check callable gets ``(method, path, query_pairs, header_pairs, body)``:

* ``path``: the raw request path as sent (still percent-encoded, no query string);
* ``query_pairs``: ``urllib.parse.parse_qsl(raw_query, keep_blank_values=True)``;
* ``header_pairs``: the headers in the order and case received (see ``header()``
  helpers on :class:`ApiRequest` for case-insensitive lookup);
* ``body``: the raw body bytes (chunked uploads are de-chunked).

It returns ``True`` (accept), ``False`` (reject) or a ``str`` (reject, with that reason).
Rejected requests get ``reject_status`` (401) and ``{"error": "unauthorized", "reason": ...}``.
Accepted requests get the response of a matching route (:meth:`ApiServer.add_route`)
or the ``responder`` callable, else ``200 {"ok": true, "method": ..., "path": ...}``.
Documents registered with :meth:`ApiServer.serve_json` (e.g. a JWKS) are public by
default: they are served without consulting the check.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import ssl
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from tests.support.certs import TestPKI, make_test_pki

__all__ = [
    "ApiRequest",
    "ApiServer",
    "Check",
    "HeaderPairs",
    "IncomingRequest",
    "LoopbackServer",
    "QueryPairs",
    "Responder",
    "Response",
    "header_value",
    "header_values",
]

HeaderPairs = list[tuple[str, str]]
QueryPairs = list[tuple[str, str]]
Check = Callable[[str, str, QueryPairs, HeaderPairs, bytes], "bool | str"]


def header_values(headers: Sequence[tuple[str, str]], name: str) -> list[str]:
    """All values of header ``name`` (case-insensitive), in order."""
    low = name.lower()
    return [v for k, v in headers if k.lower() == low]


def header_value(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    """The first value of header ``name`` (case-insensitive), or ``None``."""
    values = header_values(headers, name)
    return values[0] if values else None


@dataclass(frozen=True)
class IncomingRequest:
    """A parsed HTTP request as the handler thread received it."""

    method: str
    target: str  # raw request target, e.g. "/v1/x?a=1"
    path: str  # raw path without the query string
    query: QueryPairs
    headers: HeaderPairs
    body: bytes
    tls: bool

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)


@dataclass(frozen=True)
class Response:
    """A complete response. ``stream``, if set, is sent as a chunked body after ``body``."""

    status: int
    headers: HeaderPairs = field(default_factory=list)
    body: bytes = b""
    stream: Iterable[bytes] | None = None

    @classmethod
    def json(cls, status: int, document: Any, headers: Sequence[tuple[str, str]] = ()) -> Response:
        payload = json.dumps(document).encode()
        return cls(status, [("Content-Type", "application/json"), *headers], payload)


class _TrackingHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its open connections and can do TLS per connection."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        owner: LoopbackServer,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self.owner = owner
        self.ssl_context = ssl_context
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        conn: socket.socket = request
        # Headers and body are separate writes; without TCP_NODELAY, Nagle + delayed ACK
        # add ~40 ms to every keep-alive request.
        with contextlib.suppress(OSError):
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            try:
                conn.settimeout(5.0)
                conn = self.ssl_context.wrap_socket(conn, server_side=True)
                conn.settimeout(None)
            except (OSError, ValueError) as exc:
                self.owner._note_tls_failure(exc)
                with contextlib.suppress(OSError):
                    conn.close()
                return
        with self._conns_lock:
            self._conns.add(conn)
        try:
            super().finish_request(conn, client_address)
        finally:
            with self._conns_lock:
                self._conns.discard(conn)
            if conn is not request:
                with contextlib.suppress(OSError):
                    conn.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-response are normal in tests (e.g. closed streams).
        pass

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _TrackingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # trailers until the blank line
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        body = self._read_body()
        split = urlsplit(self.path)
        incoming = IncomingRequest(
            method=self.command,
            target=self.path,
            path=split.path,
            query=parse_qsl(split.query, keep_blank_values=True),
            headers=[(str(k), str(v)) for k, v in self.headers.items()],
            body=body,
            tls=self.server.ssl_context is not None,
        )
        try:
            response = self.server.owner._handle(incoming)
        except Exception as exc:  # a bug in a test hook; surface it as a 500
            response = Response.json(500, {"error": "test server error", "detail": repr(exc)})
        self._send(incoming, response)

    def _send(self, incoming: IncomingRequest, response: Response) -> None:
        self.send_response(response.status)
        names = {k.lower() for k, _ in response.headers}
        for k, v in response.headers:
            self.send_header(k, v)
        if response.stream is None:
            if "content-length" not in names:
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if incoming.method != "HEAD":
                self.wfile.write(response.body)
            self.wfile.flush()
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for piece in [response.body, *response.stream]:
            if piece:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    do_GET = _dispatch
    do_POST = _dispatch
    do_PUT = _dispatch
    do_PATCH = _dispatch
    do_DELETE = _dispatch
    do_HEAD = _dispatch
    do_OPTIONS = _dispatch


class LoopbackServer:
    """Base class: a ThreadingHTTPServer on ``127.0.0.1:0`` in a background thread.

    Subclasses implement :meth:`_handle`. Use as a context manager or call
    :meth:`start` / :meth:`stop`. ``tls`` (a :class:`TestPKI`, or ``True`` to create
    one in a temporary directory) makes it an HTTPS server.
    """

    def __init__(self, *, tls: TestPKI | bool | None = None, host: str = "127.0.0.1") -> None:
        if tls is True:
            tmp = tempfile.mkdtemp(prefix="loopback-pki-")
            weakref.finalize(self, shutil.rmtree, tmp, ignore_errors=True)
            tls = make_test_pki(tmp)
        self.pki: TestPKI | None = tls if isinstance(tls, TestPKI) else None
        self.host = host
        self._httpd: _TrackingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self.tls_failures: list[str] = []

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        if self._httpd is not None:
            return
        ctx = self.pki.server_ssl_context() if self.pki is not None else None
        httpd = _TrackingHTTPServer((self.host, 0), _Handler, self, ctx)
        thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"{type(self).__name__}-{httpd.server_address[1]}",
            daemon=True,
        )
        self._httpd = httpd
        self._thread = thread
        thread.start()

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def scheme(self) -> str:
        return "https" if self.pki is not None else "http"

    @property
    def origin(self) -> str:
        """``http(s)://127.0.0.1:PORT`` (no trailing slash)."""
        return f"{self.scheme}://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.origin + (path if path.startswith("/") else "/" + path)

    @property
    def ca_pem_path(self) -> Path:
        """The PEM file of the CA to trust (HTTPS servers only)."""
        if self.pki is None:
            raise RuntimeError("not an HTTPS server (construct with tls=...)")
        return self.pki.ca_pem_path

    # -- hooks ---------------------------------------------------------------------------
    def _note_tls_failure(self, exc: BaseException) -> None:
        with self._lock:
            self.tls_failures.append(repr(exc))

    def _handle(self, request: IncomingRequest) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class ApiRequest:
    """One request as recorded by :class:`ApiServer`."""

    method: str
    target: str
    path: str
    query: QueryPairs
    headers: HeaderPairs
    body: bytes
    tls: bool
    accepted: bool
    reason: str | None
    status: int

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    def query_value(self, name: str) -> str | None:
        return next((v for k, v in self.query if k == name), None)

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Callable[[IncomingRequest], Response]


@dataclass(frozen=True)
class _Route:
    response: Response | Responder
    public: bool


class ApiServer(LoopbackServer):
    """Generic third-party API with a pluggable authentication ``check``.

    Args:
        check: ``(method, path, query_pairs, header_pairs, body) -> bool | str``;
            ``None`` accepts everything. Settable later via ``server.check = ...``.
        tls: a :class:`TestPKI` (or ``True``) to serve HTTPS.
        reject_status: status for rejected requests (default 401).
        responder: optional ``IncomingRequest -> Response`` for accepted requests
            without a matching route.
    """

    def __init__(
        self,
        check: Check | None = None,
        *,
        tls: TestPKI | bool | None = None,
        reject_status: int = 401,
        responder: Responder | None = None,
    ) -> None:
        super().__init__(tls=tls)
        self.check: Check | None = check
        self.reject_status = reject_status
        self.responder: Responder | None = responder
        self._routes: dict[tuple[str | None, str], _Route] = {}
        self._requests: list[ApiRequest] = []

    @property
    def base_url(self) -> str:
        return self.origin

    # -- configuration -------------------------------------------------------------------
    def serve_json(
        self,
        path: str,
        document: Any,
        *,
        status: int = 200,
        public: bool = True,
        content_type: str = "application/json",
    ) -> str:
        """Serve ``document`` as JSON at ``GET path``; returns its absolute URL."""
        body = json.dumps(document).encode()
        resp = Response(status, [("Content-Type", content_type)], body)
        with self._lock:
            self._routes[("GET", path)] = _Route(resp, public)
            self._routes[("HEAD", path)] = _Route(resp, public)
        return self.url(path)

    def add_route(
        self,
        path: str,
        response: Response | Responder,
        *,
        method: str | None = None,
        public: bool = False,
    ) -> None:
        """Answer ``method`` (any if ``None``) ``path`` with a fixed or computed response."""
        with self._lock:
            self._routes[(method.upper() if method else None, path)] = _Route(response, public)

    def remove_routes(self) -> None:
        with self._lock:
            self._routes.clear()

    # -- observation ---------------------------------------------------------------------
    @property
    def requests(self) -> list[ApiRequest]:
        """A snapshot copy of all recorded requests, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def last_request(self) -> ApiRequest:
        with self._lock:
            if not self._requests:
                raise AssertionError("no request received")
            return self._requests[-1]

    def reset(self) -> None:
        """Forget recorded requests and TLS failures (routes and check are kept)."""
        with self._lock:
            self._requests.clear()
            self.tls_failures.clear()

    def __iter__(self) -> Iterator[ApiRequest]:
        return iter(self.requests)

    # -- request handling ----------------------------------------------------------------
    def _find_route(self, method: str, path: str) -> _Route | None:
        with self._lock:
            return self._routes.get((method, path)) or self._routes.get((None, path))

    def _handle(self, request: IncomingRequest) -> Response:
        route = self._find_route(request.method, request.path)
        accepted = True
        reason: str | None = None
        if route is not None and route.public:
            reason = "public"
        elif self.check is not None:
            try:
                verdict = self.check(
                    request.method,
                    request.path,
                    list(request.query),
                    list(request.headers),
                    request.body,
                )
            except Exception as exc:
                verdict = f"check raised {exc!r}"
            if isinstance(verdict, str):
                accepted, reason = False, verdict
            else:
                accepted = bool(verdict)
                reason = None if accepted else "rejected"
        if not accepted:
            response = Response.json(
                self.reject_status, {"error": "unauthorized", "reason": reason}
            )
        elif route is not None:
            fixed_or_computed = route.response
            if isinstance(fixed_or_computed, Response):
                response = fixed_or_computed
            else:
                response = fixed_or_computed(request)
        elif self.responder is not None:
            response = self.responder(request)
        else:
            response = Response.json(
                200, {"ok": True, "method": request.method, "path": request.path}
            )
        record = ApiRequest(
            method=request.method,
            target=request.target,
            path=request.path,
            query=list(request.query),
            headers=list(request.headers),
            body=request.body,
            tls=request.tls,
            accepted=accepted,
            reason=reason,
            status=response.status,
        )
        with self._lock:
            self._requests.append(record)
        return response
