"""A loopback fake of the OpenAI, Azure OpenAI and Anthropic HTTP APIs for tests.

The real ``openai`` / ``anthropic`` SDKs (and LangChain wrappers around them) work
against it unchanged: point them at :attr:`LLMServer.base_url` (OpenAI),
:attr:`LLMServer.azure_endpoint` (``AzureOpenAI``) or
:attr:`LLMServer.anthropic_base_url` (Anthropic).

Endpoints
---------
* ``POST /v1/chat/completions`` (plain, ``stream: true`` SSE, ``stream_options.include_usage``)
* ``POST /v1/embeddings`` (``encoding_format`` ``float`` or ``base64``; deterministic vectors)
* ``GET /v1/models``, ``GET /v1/models/{id}`` (OpenAI shape, or Anthropic shape when the
  request carries ``anthropic-version``)
* ``POST /openai/deployments/{deployment}/chat/completions?api-version=...`` and
  ``.../embeddings`` (Azure; ``api-version`` is required), ``/openai/v1/...`` (Azure v1)
* ``POST /v1/messages`` (plain and SSE with the real event sequence), and
  ``POST /v1/messages/count_tokens``

Authentication
--------------
Only keys in :attr:`LLMServer.accepted_keys` are accepted: OpenAI via
``Authorization: Bearer <key>``; Azure via ``api-key: <key>`` (or a Bearer token);
Anthropic via ``x-api-key: <key>`` (or ``Authorization: Bearer <key>``, which is what
anthropic 2.x sends). Anything else gets the provider's 401 body; the received key
is never echoed.

Scripting
---------
Chat/messages requests consume scripted replies (:meth:`LLMServer.enqueue_text`,
:meth:`LLMServer.enqueue_tool_call`, :meth:`LLMServer.enqueue`), otherwise they answer
``"echo: <text of the last message>"`` (or :attr:`LLMServer.default_text`).
:meth:`LLMServer.fail_next` makes the next N authenticated requests fail (500/429/...),
with ``retry-after-ms`` so SDK retries are immediate.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import time
import uuid
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from tests.support.api_server import (
    HeaderPairs,
    IncomingRequest,
    LoopbackServer,
    QueryPairs,
    Response,
    header_value,
)
from tests.support.certs import TestPKI

__all__ = [
    "ANTHROPIC_MODELS",
    "OPENAI_MODELS",
    "TEST_ANTHROPIC_KEY",
    "TEST_AZURE_KEY",
    "TEST_KEYS",
    "TEST_OPENAI_KEY",
    "Endpoint",
    "Failure",
    "KeysSource",
    "LLMRequest",
    "LLMServer",
    "Provider",
    "Reply",
    "ToolCall",
]

Provider = Literal["openai", "azure", "anthropic"]
Endpoint = Literal[
    "chat.completions",
    "embeddings",
    "models.list",
    "models.retrieve",
    "messages",
    "messages.count_tokens",
    "unknown",
]
KeysSource = Callable[[], Collection[str]] | Collection[str]

OPENAI_MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "text-embedding-3-small")
ANTHROPIC_MODELS = ("claude-haiku-4-5", "claude-sonnet-4-6", "claude-opus-4-7")

# Recognisable, clearly fake keys; the ``llm_server`` fixture accepts all three.
TEST_OPENAI_KEY = "sk-test-openai-7f3a9c1e5b2d4068a1c3e5f7"
TEST_ANTHROPIC_KEY = "sk-ant-test-2b4d6f8a0c1e3a5b7d9f1b3d"
TEST_AZURE_KEY = "azure-test-9e8d7c6b5a4f3e2d1c0b9a8f"
TEST_KEYS: frozenset[str] = frozenset({TEST_OPENAI_KEY, TEST_ANTHROPIC_KEY, TEST_AZURE_KEY})

_CREDENTIAL_HEADERS = ("authorization", "api-key", "x-api-key")


@dataclass(frozen=True)
class ToolCall:
    """A tool call the fake model makes (OpenAI ``tool_calls`` / Anthropic ``tool_use``)."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """A scripted model reply. ``text=None`` and no tool calls means "echo"."""

    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True)
class Failure:
    """A scripted error response for the next authenticated request."""

    status: int = 500
    retry_after_ms: int | None = 5
    body: Any = None  # override of the provider-shaped JSON error body


@dataclass(frozen=True)
class LLMRequest:
    """One request as recorded by :class:`LLMServer` (recorded before the response is sent)."""

    index: int
    method: str
    target: str  # raw request target incl. query string
    path: str
    query: QueryPairs
    headers: HeaderPairs  # in the order and case received
    body: bytes
    tls: bool
    provider: Provider
    endpoint: Endpoint
    deployment: str | None  # Azure deployment name from the path
    presented_key: str | None  # the credential the server authenticated with
    key_header: str | None  # "authorization" | "api-key" | "x-api-key" | None
    credentials: tuple[tuple[str, str], ...]  # every (header, key) presented
    accepted: bool  # whether the credentials were accepted
    status: int
    stream: bool

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (case-insensitive)."""
        return header_value(self.headers, name)

    def header_names(self) -> list[str]:
        return [k.lower() for k, _ in self.headers]

    def query_value(self, name: str) -> str | None:
        return next((v for k, v in self.query if k == name), None)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class _HTTPError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _now() -> int:
    return int(time.time())


def _new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


def _sse(data: Any, event: str | None = None) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def _text_of(content: Any) -> str:
    """Plain text of an OpenAI/Anthropic message content (string or list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping):
                if part.get("type") == "tool_result":
                    parts.append("tool result: " + _text_of(part.get("content")))
                elif isinstance(part.get("text"), str):
                    parts.append(part["text"])
        return " ".join(p for p in parts if p)
    return str(content)


def _rough_tokens(value: Any) -> int:
    text = value if isinstance(value, str) else json.dumps(value)
    return max(1, len(text.split()))


def _pieces(text: str) -> list[str]:
    """Split text into word-ish streaming deltas that concatenate back to ``text``."""
    return re.findall(r"\s*\S+\s*", text) or ([text] if text else [])


def _halves(text: str) -> list[str]:
    mid = len(text) // 2
    return [p for p in (text[:mid], text[mid:]) if p]


class LLMServer(LoopbackServer):
    """Fake OpenAI / Azure OpenAI / Anthropic server on ``127.0.0.1:<random port>``.

    Args:
        accepted_keys: the keys to accept: a collection, or a zero-argument callable
            returning one (called on every request, so it can change over time).
        tls: a :class:`~tests.support.certs.TestPKI` (or ``True``) to serve HTTPS.
        default_text: fixed reply text when nothing is scripted (default: echo).
        embedding_dim: vector length when the request has no ``dimensions``.
        strict_auth: if true, *every* credential header presented (Authorization,
            api-key, x-api-key) must hold an accepted key, not only the one the
            provider authenticates with.
    """

    def __init__(
        self,
        accepted_keys: KeysSource = (),
        *,
        tls: TestPKI | bool | None = None,
        default_text: str | None = None,
        embedding_dim: int = 8,
        strict_auth: bool = False,
    ) -> None:
        super().__init__(tls=tls)
        self._static_keys: set[str] = set()
        self._keys_provider: Callable[[], Collection[str]] | None = None
        self.accepted_keys = accepted_keys
        self.default_text = default_text
        self.embedding_dim = embedding_dim
        self.strict_auth = strict_auth
        self._requests: list[LLMRequest] = []
        self._replies: deque[Reply] = deque()
        self._failures: deque[Failure] = deque()

    # -- addresses -----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """OpenAI ``base_url``: ``http://127.0.0.1:PORT/v1``."""
        return self.origin + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """Anthropic ``base_url``: ``http://127.0.0.1:PORT``."""
        return self.origin

    @property
    def azure_endpoint(self) -> str:
        """``AzureOpenAI(azure_endpoint=...)``: ``http://127.0.0.1:PORT``."""
        return self.origin

    # -- keys ----------------------------------------------------------------------------
    @property
    def accepted_keys(self) -> set[str]:
        """The currently accepted keys (static set plus the callable's result)."""
        with self._lock:
            keys = set(self._static_keys)
            provider = self._keys_provider
        if provider is not None:
            keys |= set(provider())
        return keys

    @accepted_keys.setter
    def accepted_keys(self, source: KeysSource) -> None:
        with self._lock:
            if callable(source):
                self._keys_provider = source
                self._static_keys = set()
            else:
                if isinstance(source, str):
                    raise TypeError("accepted_keys must be a collection of keys, not a str")
                self._keys_provider = None
                self._static_keys = set(source)

    def accept(self, *keys: str) -> None:
        """Add keys to the static accepted set."""
        with self._lock:
            self._static_keys.update(keys)

    def revoke(self, *keys: str) -> None:
        """Remove keys from the static accepted set (a callable source is unaffected)."""
        with self._lock:
            self._static_keys.difference_update(keys)

    # -- scripting -----------------------------------------------------------------------
    def enqueue(self, *replies: Reply | str) -> None:
        """Queue replies for the next chat/messages requests (a ``str`` is a text reply)."""
        with self._lock:
            self._replies.extend(Reply(text=r) if isinstance(r, str) else r for r in replies)

    def enqueue_text(self, text: str) -> None:
        self.enqueue(Reply(text=text))

    def enqueue_tool_call(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        id: str | None = None,
        text: str | None = None,
    ) -> None:
        """Queue a reply that calls tool ``name`` with ``arguments`` (optionally with text)."""
        self.enqueue(Reply(text=text, tool_calls=(ToolCall(name, dict(arguments or {}), id),)))

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        *,
        retry_after_ms: int | None = 5,
        body: Any = None,
    ) -> None:
        """Make the next ``n`` authenticated requests fail with ``status``.

        ``retry_after_ms`` is sent as the ``retry-after-ms`` header (both SDKs honour it,
        so retries happen after that many milliseconds instead of ~0.5 s backoff);
        ``None`` omits it. ``body`` overrides the provider-shaped error JSON.
        """
        with self._lock:
            self._failures.extend(Failure(status, retry_after_ms, body) for _ in range(n))

    @property
    def pending_replies(self) -> int:
        with self._lock:
            return len(self._replies)

    @property
    def pending_failures(self) -> int:
        with self._lock:
            return len(self._failures)

    # -- observation ---------------------------------------------------------------------
    @property
    def requests(self) -> list[LLMRequest]:
        """Snapshot copy of every request received, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def last_request(self) -> LLMRequest:
        with self._lock:
            if not self._requests:
                raise AssertionError("the LLM server has not received any request")
            return self._requests[-1]

    def requests_to(self, endpoint: Endpoint, provider: Provider | None = None) -> list[LLMRequest]:
        return [
            r
            for r in self.requests
            if r.endpoint == endpoint and (provider is None or r.provider == provider)
        ]

    def keys_seen(self) -> set[str]:
        """Every key presented in any credential header, accepted or not."""
        return {key for r in self.requests for _, key in r.credentials}

    def accepted_keys_seen(self) -> set[str]:
        return {r.presented_key for r in self.requests if r.accepted and r.presented_key}

    def reset(self) -> None:
        """Forget recorded requests, scripted replies/failures and TLS failures."""
        with self._lock:
            self._requests.clear()
            self._replies.clear()
            self._failures.clear()
            self.tls_failures.clear()

    # -- dispatch ------------------------------------------------------------------------
    def _route(self, req: IncomingRequest) -> tuple[Provider, Endpoint, str | None, str | None]:
        """(provider, endpoint, azure deployment, model id from path)."""
        m, p = req.method, req.path.rstrip("/") or "/"
        dep = re.fullmatch(r"/openai/deployments/([^/]+)/(chat/completions|embeddings)", p)
        if dep is not None:
            kind: Endpoint = (
                "chat.completions" if dep.group(2) == "chat/completions" else "embeddings"
            )
            return "azure", kind if m == "POST" else "unknown", dep.group(1), None
        if p.startswith("/openai/"):
            rest = p.removeprefix("/openai").removeprefix("/v1")
            return "azure", self._openai_endpoint(m, rest), None, None
        anthropic_hint = req.header("anthropic-version") is not None or (
            req.header("x-api-key") is not None and req.header("api-key") is None
        )
        if p == "/v1/messages" and m == "POST":
            return "anthropic", "messages", None, None
        if p == "/v1/messages/count_tokens" and m == "POST":
            return "anthropic", "messages.count_tokens", None, None
        rest = p.removeprefix("/v1")
        endpoint = self._openai_endpoint(m, rest)
        model_id = rest.removeprefix("/models/") if endpoint == "models.retrieve" else None
        if anthropic_hint and endpoint in ("models.list", "models.retrieve", "unknown"):
            return "anthropic", endpoint, None, model_id
        return "openai", endpoint, None, model_id

    @staticmethod
    def _openai_endpoint(method: str, rest: str) -> Endpoint:
        if method == "POST" and rest == "/chat/completions":
            return "chat.completions"
        if method == "POST" and rest == "/embeddings":
            return "embeddings"
        if method == "GET" and rest == "/models":
            return "models.list"
        if method == "GET" and rest.startswith("/models/") and rest.count("/") == 2:
            return "models.retrieve"
        return "unknown"

    @staticmethod
    def _credentials(headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        creds: list[tuple[str, str]] = []
        for name, value in headers:
            low = name.lower()
            if low not in _CREDENTIAL_HEADERS:
                continue
            if low == "authorization":
                scheme, _, rest = value.strip().partition(" ")
                key = rest.strip() if scheme.lower() == "bearer" else value.strip()
            else:
                key = value.strip()
            creds.append((low, key))
        return creds

    @staticmethod
    def _primary(provider: Provider, creds: Sequence[tuple[str, str]]) -> tuple[str, str] | None:
        order = {
            "openai": ("authorization",),
            "azure": ("api-key", "authorization"),
            "anthropic": ("x-api-key", "authorization"),
        }[provider]
        for header in order:
            for name, key in creds:
                if name == header:
                    return name, key
        return None

    def _handle(self, request: IncomingRequest) -> Response:
        provider, endpoint, deployment, model_id = self._route(request)
        creds = self._credentials(request.headers)
        primary = self._primary(provider, creds)
        keys = self.accepted_keys
        accepted = primary is not None and primary[1] in keys
        if accepted and self.strict_auth:
            accepted = all(key in keys for _, key in creds)
        body_json: Any = None
        stream = False
        if request.body:
            try:
                body_json = json.loads(request.body)
            except ValueError:
                body_json = None
            if isinstance(body_json, Mapping):
                stream = bool(body_json.get("stream"))

        try:
            if not accepted:
                raise _HTTPError(self._auth_error(provider, missing=primary is None))
            with self._lock:
                failure = self._failures.popleft() if self._failures else None
            if failure is not None:
                raise _HTTPError(self._failure_response(provider, failure))
            response = self._serve(request, provider, endpoint, deployment, model_id, body_json)
        except _HTTPError as err:
            response = err.response

        record = LLMRequest(
            index=0,
            method=request.method,
            target=request.target,
            path=request.path,
            query=list(request.query),
            headers=list(request.headers),
            body=request.body,
            tls=request.tls,
            provider=provider,
            endpoint=endpoint,
            deployment=deployment,
            presented_key=primary[1] if primary else None,
            key_header=primary[0] if primary else None,
            credentials=tuple(creds),
            accepted=accepted,
            status=response.status,
            stream=stream,
        )
        with self._lock:
            self._requests.append(replace(record, index=len(self._requests)))
        return response

    def _serve(
        self,
        request: IncomingRequest,
        provider: Provider,
        endpoint: Endpoint,
        deployment: str | None,
        model_id: str | None,
        body: Any,
    ) -> Response:
        if endpoint == "unknown":
            raise _HTTPError(self._not_found(provider))
        if (
            provider == "azure"
            and deployment is not None
            and not any(k == "api-version" for k, _ in request.query)
        ):
            raise _HTTPError(
                Response.json(
                    404,
                    {"error": {"code": "404", "message": "Resource not found"}},
                )
            )
        if endpoint == "models.list":
            return self._models_list(provider)
        if endpoint == "models.retrieve":
            return self._models_retrieve(provider, model_id or "")
        if not isinstance(body, Mapping):
            raise _HTTPError(self._bad_request(provider, "We could not parse the JSON body."))
        if endpoint == "embeddings":
            return self._embeddings(provider, body, deployment)
        if endpoint == "chat.completions":
            return self._chat(provider, body, deployment)
        if endpoint == "messages.count_tokens":
            return self._json(provider, 200, {"input_tokens": _rough_tokens(body.get("messages"))})
        return self._messages(body)

    # -- response builders ---------------------------------------------------------------
    def _json(self, provider: Provider, status: int, document: Any) -> Response:
        if provider == "anthropic":
            rid = ("request-id", _new_id("req_"))
        else:
            rid = ("x-request-id", _new_id("req_"))
        return Response.json(status, document, [rid])

    def _auth_error(self, provider: Provider, *, missing: bool) -> Response:
        if provider == "anthropic":
            message = "x-api-key header is required" if missing else "invalid x-api-key"
            doc: Any = {
                "type": "error",
                "error": {"type": "authentication_error", "message": message},
            }
        elif provider == "azure":
            doc = {
                "error": {
                    "code": "401",
                    "message": "Access denied due to invalid subscription key or wrong API "
                    "endpoint. Make sure to provide a valid key for an active subscription "
                    "and use a correct regional API endpoint for your resource.",
                }
            }
        elif missing:
            doc = {
                "error": {
                    "message": "You didn't provide an API key. You need to provide your API "
                    "key in an Authorization header using Bearer auth (i.e. Authorization: "
                    "Bearer YOUR_KEY).",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            }
        else:
            doc = {
                "error": {
                    "message": "Incorrect API key provided",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "invalid_api_key",
                }
            }
        return self._json(provider, 401, doc)

    def _failure_response(self, provider: Provider, failure: Failure) -> Response:
        status = failure.status
        doc = failure.body
        if doc is None and provider == "anthropic":
            kind, message = {
                429: ("rate_limit_error", "Number of requests has exceeded your rate limit"),
                529: ("overloaded_error", "Overloaded"),
                500: ("api_error", "Internal server error"),
            }.get(status, ("api_error", f"Scripted failure {status}"))
            doc = {"type": "error", "error": {"type": kind, "message": message}}
        elif doc is None and status == 429:
            doc = {
                "error": {
                    "message": "Rate limit reached for requests",
                    "type": "requests",
                    "param": None,
                    "code": "rate_limit_exceeded",
                }
            }
        elif doc is None:
            doc = {
                "error": {
                    "message": "The server had an error while processing your request. "
                    "Sorry about that!",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            }
        response = self._json(provider, status, doc)
        if failure.retry_after_ms is not None:
            response.headers.append(("retry-after-ms", str(failure.retry_after_ms)))
        return response

    def _not_found(self, provider: Provider) -> Response:
        if provider == "anthropic":
            doc: Any = {
                "type": "error",
                "error": {"type": "not_found_error", "message": "Not Found"},
            }
        else:
            doc = {
                "error": {
                    "message": "Invalid URL",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            }
        return self._json(provider, 404, doc)

    def _bad_request(self, provider: Provider, message: str) -> Response:
        if provider == "anthropic":
            doc: Any = {
                "type": "error",
                "error": {"type": "invalid_request_error", "message": message},
            }
        else:
            doc = {
                "error": {
                    "message": message,
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            }
        return self._json(provider, 400, doc)

    def _models_list(self, provider: Provider) -> Response:
        if provider == "anthropic":
            data = [self._anthropic_model(m) for m in ANTHROPIC_MODELS]
            return self._json(
                provider,
                200,
                {
                    "data": data,
                    "has_more": False,
                    "first_id": data[0]["id"],
                    "last_id": data[-1]["id"],
                },
            )
        return self._json(
            provider,
            200,
            {"object": "list", "data": [self._openai_model(m) for m in OPENAI_MODELS]},
        )

    def _models_retrieve(self, provider: Provider, model_id: str) -> Response:
        if provider == "anthropic":
            return self._json(provider, 200, self._anthropic_model(model_id))
        return self._json(provider, 200, self._openai_model(model_id))

    @staticmethod
    def _openai_model(model_id: str) -> dict[str, Any]:
        return {"id": model_id, "object": "model", "created": 1_700_000_000, "owned_by": "system"}

    @staticmethod
    def _anthropic_model(model_id: str) -> dict[str, Any]:
        return {
            "type": "model",
            "id": model_id,
            "display_name": model_id.replace("-", " ").title(),
            "created_at": "2025-01-01T00:00:00Z",
        }

    def _embeddings(
        self, provider: Provider, body: Mapping[str, Any], deployment: str | None
    ) -> Response:
        raw = body.get("input")
        model = body.get("model") or deployment
        if raw is None or model is None:
            raise _HTTPError(self._bad_request(provider, "'input' and 'model' are required"))
        if isinstance(raw, str) or (isinstance(raw, list) and raw and isinstance(raw[0], int)):
            inputs: list[Any] = [raw]
        elif isinstance(raw, list):
            inputs = list(raw)
        else:
            raise _HTTPError(self._bad_request(provider, "'input' must be a string or array"))
        dim = int(body.get("dimensions") or self.embedding_dim)
        b64 = body.get("encoding_format") == "base64"
        data: list[dict[str, Any]] = []
        for i, item in enumerate(inputs):
            vector = _embed(item, dim)
            encoded: Any = (
                base64.b64encode(struct.pack(f"<{dim}f", *vector)).decode() if b64 else vector
            )
            data.append({"object": "embedding", "index": i, "embedding": encoded})
        tokens = sum(_rough_tokens(x) for x in inputs)
        return self._json(
            provider,
            200,
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    def _next_reply(self, last_text: str) -> Reply:
        with self._lock:
            reply = self._replies.popleft() if self._replies else None
        if reply is None or (reply.text is None and not reply.tool_calls):
            text = self.default_text if self.default_text is not None else f"echo: {last_text}"
            return Reply(text=text, tool_calls=reply.tool_calls if reply else ())
        return reply

    def _chat(
        self, provider: Provider, body: Mapping[str, Any], deployment: str | None
    ) -> Response:
        messages = body.get("messages")
        model = body.get("model") or deployment
        if model is None:
            raise _HTTPError(self._bad_request(provider, "you must provide a model parameter"))
        if not isinstance(messages, list) or not messages:
            raise _HTTPError(self._bad_request(provider, "'messages' must be a non-empty array"))
        last = messages[-1] if isinstance(messages[-1], Mapping) else {}
        last_text = _text_of(last.get("content"))
        if last.get("role") == "tool":
            last_text = "tool result: " + last_text
        reply = self._next_reply(last_text)
        calls: list[dict[str, Any]] = [
            {
                "id": tc.id or _new_id("call_"),
                "type": "function",
                "function": {"name": tc.name, "arguments": json.dumps(dict(tc.arguments))},
            }
            for tc in reply.tool_calls
        ]
        finish = "tool_calls" if calls else "stop"
        prompt_tokens = _rough_tokens(messages)
        completion_tokens = _rough_tokens(reply.text or "") + sum(
            _rough_tokens(c["function"]["arguments"]) for c in calls
        )
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        cid, created = _new_id("chatcmpl-"), _now()
        if not body.get("stream"):
            message: dict[str, Any] = {
                "role": "assistant",
                "content": reply.text,
                "refusal": None,
                "annotations": [],
            }
            if calls:
                message["tool_calls"] = calls
            return self._json(
                provider,
                200,
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
                    ],
                    "usage": usage,
                    "system_fingerprint": None,
                },
            )
        options = body.get("stream_options")
        include_usage = isinstance(options, Mapping) and bool(options.get("include_usage"))

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            doc: dict[str, Any] = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": None,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
                ],
            }
            if include_usage:
                doc["usage"] = None
            return _sse(doc)

        def events() -> Iterator[bytes]:
            yield chunk({"role": "assistant", "content": "", "refusal": None})
            for piece in _pieces(reply.text or ""):
                yield chunk({"content": piece})
            for i, call in enumerate(calls):
                fn = call["function"]
                yield chunk(
                    {
                        "tool_calls": [
                            {
                                "index": i,
                                "id": call["id"],
                                "type": "function",
                                "function": {"name": fn["name"], "arguments": ""},
                            }
                        ]
                    }
                )
                for piece in _halves(fn["arguments"]):
                    yield chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
            yield chunk({}, finish)
            if include_usage:
                yield _sse(
                    {
                        "id": cid,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "system_fingerprint": None,
                        "choices": [],
                        "usage": usage,
                    }
                )
            yield _sse("[DONE]")

        return self._sse_response(provider, events())

    def _sse_response(self, provider: Provider, events: Iterator[bytes]) -> Response:
        rid = "request-id" if provider == "anthropic" else "x-request-id"
        return Response(
            200,
            [
                ("Content-Type", "text/event-stream; charset=utf-8"),
                ("Cache-Control", "no-cache"),
                (rid, _new_id("req_")),
            ],
            b"",
            stream=events,
        )

    def _messages(self, body: Mapping[str, Any]) -> Response:
        model = body.get("model")
        messages = body.get("messages")
        if not isinstance(model, str):
            raise _HTTPError(self._bad_request("anthropic", "model: Field required"))
        if not isinstance(body.get("max_tokens"), int):
            raise _HTTPError(self._bad_request("anthropic", "max_tokens: Field required"))
        if not isinstance(messages, list) or not messages:
            raise _HTTPError(self._bad_request("anthropic", "messages: Field required"))
        last = messages[-1] if isinstance(messages[-1], Mapping) else {}
        reply = self._next_reply(_text_of(last.get("content")))
        blocks: list[dict[str, Any]] = []
        if reply.text is not None:
            blocks.append({"type": "text", "text": reply.text})
        for tc in reply.tool_calls:
            blocks.append(
                {
                    "type": "tool_use",
                    "id": tc.id or _new_id("toolu_"),
                    "name": tc.name,
                    "input": dict(tc.arguments),
                }
            )
        stop_reason = "tool_use" if reply.tool_calls else "end_turn"
        input_tokens = _rough_tokens(messages) + _rough_tokens(body.get("system") or "")
        output_tokens = sum(
            _rough_tokens(b["text"] if b["type"] == "text" else b["input"]) for b in blocks
        )
        mid = _new_id("msg_")
        if not body.get("stream"):
            return self._json(
                "anthropic",
                200,
                {
                    "id": mid,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": blocks,
                    "stop_reason": stop_reason,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": input_tokens,
                        "output_tokens": output_tokens,
                        "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": 0,
                    },
                },
            )

        def events() -> Iterator[bytes]:
            yield _sse(
                {
                    "type": "message_start",
                    "message": {
                        "id": mid,
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {
                            "input_tokens": input_tokens,
                            "output_tokens": 1,
                            "cache_creation_input_tokens": 0,
                            "cache_read_input_tokens": 0,
                        },
                    },
                },
                "message_start",
            )
            yield _sse({"type": "ping"}, "ping")
            for index, block in enumerate(blocks):
                if block["type"] == "text":
                    start: dict[str, Any] = {"type": "text", "text": ""}
                    deltas = [{"type": "text_delta", "text": p} for p in _pieces(block["text"])]
                else:
                    start = {**block, "input": {}}
                    deltas = [
                        {"type": "input_json_delta", "partial_json": p}
                        for p in ["", *_halves(json.dumps(block["input"]))]
                    ]
                yield _sse(
                    {"type": "content_block_start", "index": index, "content_block": start},
                    "content_block_start",
                )
                for delta in deltas:
                    yield _sse(
                        {"type": "content_block_delta", "index": index, "delta": delta},
                        "content_block_delta",
                    )
                yield _sse({"type": "content_block_stop", "index": index}, "content_block_stop")
            yield _sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": output_tokens},
                },
                "message_delta",
            )
            yield _sse({"type": "message_stop"}, "message_stop")

        return self._sse_response("anthropic", events())


def _embed(item: Any, dim: int) -> list[float]:
    """A deterministic unit-ish vector for ``item`` (same input -> same vector)."""
    seed = json.dumps(item, sort_keys=True).encode()
    out: list[float] = []
    counter = 0
    while len(out) < dim:
        digest = hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        out.extend((b - 127.5) / 127.5 for b in digest)
        counter += 1
    vector = out[:dim]
    # round-trip through float32 so float and base64 encodings decode to the same values
    return list(struct.unpack(f"<{dim}f", struct.pack(f"<{dim}f", *vector)))
