"""``store.check(name)``: what is wrong with a credential and how to fix it, without using it.

Kept apart from the store because a check may go to the network: a JWT credential's key set
(its ``jwks_url``, or its OIDC issuer's discovery document and ``jwks_uri``) is fetched once
with the verifier's own client and the usable keys are reported (``inbound/report.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from .backends.base import Record
from .errors import DecryptionError, InvalidCredentialError
from .info import CheckReport
from .kinds import CredentialBase

if TYPE_CHECKING:
    import ssl

__all__ = ["EXPIRY_WARNING", "check_record"]

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
    if cred.category != "service":
        return CheckReport(name, tuple(problems), tuple(notes))
    from .inbound.report import describe_service  # lazily: pyjwt, and maybe the network

    seen = describe_service(name, cred, ssl_context)
    return CheckReport(
        name, tuple(problems + seen.problems), tuple(notes + seen.warnings), tuple(seen.details)
    )
