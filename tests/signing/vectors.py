"""Loading the shared known-answer vectors (``signing.json``) and turning them into requests.

The file lives in the repository (``tests/signing/data/signing.json``, sources in
``data/SOURCES.md``) so a fresh clone runs the tests on its own; ``AGENTRUN_VECTORS`` overrides
the path.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from agentrun_creds_plugin.signing import aws

HERE = Path(__file__).resolve().parent
UNSUPPORTED_PATH = HERE / "unsupported.json"


def vectors_path() -> Path:
    """Where ``signing.json`` is: ``$AGENTRUN_VECTORS`` or ``tests/signing/data/``."""
    override = os.environ.get("AGENTRUN_VECTORS")
    if override:
        return Path(override)
    return HERE / "data" / "signing.json"


@cache
def load_vectors() -> tuple[dict[str, Any], ...]:
    """All vectors, in file order."""
    with vectors_path().open(encoding="utf-8") as handle:
        document = json.load(handle)
    return tuple(document["vectors"])


@cache
def vector(vector_id: str) -> dict[str, Any]:
    """One vector by id."""
    for item in load_vectors():
        if item["id"] == vector_id:
            return item
    raise KeyError(vector_id)


@cache
def unsupported() -> dict[str, str]:
    """Vector id -> reason, for the vectors the library deliberately does not implement."""
    with UNSUPPORTED_PATH.open(encoding="utf-8") as handle:
        data: dict[str, str] = json.load(handle)
    return {key: value for key, value in data.items() if not key.startswith("_")}


def headers_of(item: dict[str, Any]) -> list[tuple[str, str]]:
    """The vector's request headers as ordered pairs."""
    return [(name, value) for name, value in item["request"]["headers"]]


def body_of(item: dict[str, Any]) -> bytes:
    """The vector's request body as bytes (``null`` is empty)."""
    return (item["request"].get("body") or "").encode("utf-8")


def signing_time(item: dict[str, Any]) -> datetime:
    """The frozen clock the vector was signed with, as an aware UTC datetime."""
    stamp = item["timestamp"]
    if "iso8601" in stamp:
        return datetime.fromisoformat(stamp["iso8601"].replace("Z", "+00:00"))
    if "x-acs-date" in stamp:
        return datetime.fromisoformat(stamp["x-acs-date"].replace("Z", "+00:00"))
    if "X-TC-Timestamp" in stamp:
        return datetime.fromtimestamp(stamp["X-TC-Timestamp"], UTC)
    raise KeyError(f"no usable timestamp in {item['id']}")


def parse_raw_request(text: str) -> tuple[str, str, list[str], list[tuple[str, str]], str]:
    """Split an aws-c-auth style request dump into comparable parts.

    Returns ``(method, path, sorted query segments, sorted (lower-name, value) headers,
    body)``; query and header order are normalized because the suites and signers
    append the auth parameters in different orders.
    """
    head, _, body = text.partition("\n\n")
    request_line, *header_lines = head.split("\n")
    method, rest = request_line.split(" ", 1)
    target = rest.rsplit(" ", 1)[0]
    path, _, query = target.partition("?")
    headers = []
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers.append((name.lower(), value))
    return method, path, sorted(query.split("&")) if query else [], sorted(headers), body


def aws_flags(item: dict[str, Any]) -> dict[str, Any]:
    """The vector's AWS signing options, as keyword values for ``aws.sign``."""
    signing = item["signing"]
    context = signing.get("request_context") or {}
    unsigned = (
        signing.get("payload_hash") == aws.UNSIGNED_PAYLOAD
        or context.get("payload_signing_enabled") is False
    )
    adds_sha = signing.get("add_x_amz_content_sha256_header") or signing.get(
        "sign_body_adds_x_amz_content_sha256"
    )
    return {
        "service": signing["service"],
        "region": signing["region"],
        "s3": signing["service"] in aws.S3_SERVICES,
        "normalize_path": signing.get("normalize_path"),
        "unsigned_payload": unsigned,
        "add_content_sha256": True if adds_sha else None,
        "omit_session_token": bool(signing.get("omit_session_token")),
        "expires": signing.get("expires"),
    }


def aws_headers_after_signing(item: dict[str, Any], flags: dict[str, Any]) -> list[tuple[str, str]]:
    """The headers on the wire after signing, built from the vector alone."""
    if item.get("headers_after_signing") is not None:
        return [(name, value) for name, value in item["headers_after_signing"]]
    headers = headers_of(item)
    names = {name.lower() for name, _ in headers}
    if "x-amz-date" not in names:
        headers.append(("X-Amz-Date", item["timestamp"]["x-amz-date"]))
    token = item["credentials"].get("session_token")
    if token and not flags["omit_session_token"] and "x-amz-security-token" not in names:
        headers.append(("X-Amz-Security-Token", token))
    if (flags["add_content_sha256"] or flags["s3"]) and "x-amz-content-sha256" not in names:
        if flags["unsigned_payload"]:
            payload = aws.UNSIGNED_PAYLOAD
        else:
            payload = hashlib.sha256(body_of(item)).hexdigest()
        headers.append(("X-Amz-Content-SHA256", payload))
    return headers
