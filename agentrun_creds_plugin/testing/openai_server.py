"""A tiny OpenAI-compatible chat server on loopback, for the demo and for trying things out.

It answers ``POST /v1/chat/completions`` (not streamed) with ``"echo: <last message>"``, only
for a request whose ``Authorization: Bearer`` key is in :attr:`accepted_keys`; any other key
gets OpenAI's 401 body. It counts every request it receives, so a caller can prove that a
refused credential sent nothing. It binds 127.0.0.1 on a free port and runs in a daemon thread;
the keys it saw are kept in memory only, for :meth:`seen_previews` (masked).

Standard library only, so the demo needs no test dependency.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["OpenAICompatibleServer", "mask"]


def mask(key: str) -> str:
    """``sk-...0001``: enough to tell keys apart, never the key."""
    return f"{key[:3]}...{key[-4:]}" if len(key) > 12 else "****"


class OpenAICompatibleServer:
    """``with OpenAICompatibleServer({"sk-..."}) as server: server.base_url``."""

    def __init__(self, accepted_keys: set[str] | None = None) -> None:
        self.accepted_keys: set[str] = set(accepted_keys or ())
        self.request_count = 0
        self._seen: list[str] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def seen_previews(self) -> list[str]:
        """The keys of the requests so far, masked, in order."""
        with self._lock:
            return [mask(k) for k in self._seen]

    def start(self) -> OpenAICompatibleServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> OpenAICompatibleServer:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _answer(self, path: str, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.request_count += 1
            self._seen.append(key)
            accepted = key in self.accepted_keys
        if not accepted:
            return 401, {
                "error": {
                    "message": "Incorrect API key provided.",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            }
        if path.rstrip("/") != "/v1/chat/completions":
            return 404, {"error": {"message": f"no route {path}", "type": "not_found"}}
        messages = body.get("messages") or [{}]
        text = messages[-1].get("content", "")
        return 200, {
            "id": f"chatcmpl-demo-{self.request_count}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "demo"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": f"echo: {text}"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                auth = self.headers.get("Authorization") or ""
                key = auth[7:] if auth.startswith("Bearer ") else ""
                status, payload = server._answer(self.path, key, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the demo prints its own lines."""

        return Handler
