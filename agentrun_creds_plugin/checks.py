"""``store.check(name)``: what is wrong with a credential and how to fix it, without using it.

Kept apart from the store because a check may go to the network (a JWT credential's
``jwks_url`` is fetched once to see that it serves a usable key set).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from .backends.base import Record
from .errors import DecryptionError, InvalidCredentialError
from .info import CheckReport
from .kinds import CredentialBase, JwtCredential

if TYPE_CHECKING:
    import ssl

__all__ = ["EXPIRY_WARNING", "check_record", "jwks_url_problem"]

EXPIRY_WARNING = timedelta(days=7)


def check_record(
    rec: Record,
    load: Callable[[Record], CredentialBase],
    ssl_context: Callable[[], ssl.SSLContext],
    *,
    now: float | None = None,
) -> CheckReport:
    """Check one stored record; ``load`` decrypts it, ``ssl_context`` gives https trust."""
    name = rec.name
    problems: list[str] = []
    notes: list[str] = []
    if not rec.enabled:
        problems.append(f"disabled: enable it with store.enable({name!r})")
    if rec.expires_at is not None:
        left = rec.expires_at - (time.time() if now is None else now)
        if left <= 0:
            problems.append("expired: store a new secret with a later expires_at")
        elif left < EXPIRY_WARNING.total_seconds():
            notes.append(f"expires in {timedelta(seconds=int(left))}: plan a rotation")
    try:
        cred = load(rec)
    except DecryptionError:
        problems.append("cannot be decrypted: wrong master key or an altered record")
        return CheckReport(name, tuple(problems), tuple(notes))
    except InvalidCredentialError as exc:
        problems.append(f"stored value no longer valid: {exc}")
        return CheckReport(name, tuple(problems), tuple(notes))
    if isinstance(cred, JwtCredential) and cred.jwks_url:
        problem = jwks_url_problem(cred.jwks_url, ssl_context())
        if problem:
            problems.append(problem)
    return CheckReport(name, tuple(problems), tuple(notes))


def jwks_url_problem(url: str, context: ssl.SSLContext) -> str | None:
    """None when ``url`` serves a usable JWKS over verified HTTPS, else what to fix."""
    try:
        import urllib.request

        with urllib.request.urlopen(url, timeout=10, context=context) as resp:  # noqa: S310 - https enforced by JwtCredential
            body = json.loads(resp.read(1 << 20))
    except (OSError, ValueError) as exc:
        return (
            f"jwks_url unreachable or not JSON ({type(exc).__name__}): check the URL "
            "and the TLS trust (SSL_CERT_FILE, AGENTRUN_CREDS_CA_FILE)"
        )
    try:
        JwtCredential(jwks=body)
    except InvalidCredentialError as exc:
        return f"jwks_url serves an unusable key set: {exc}"
    return None
