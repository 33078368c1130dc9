"""What ``store.check`` says about a service credential: how callers must present it and, for
a JWT credential, what its key set holds right now.

A JWT credential with a JWKS URL or an OIDC issuer is fetched once, with the same client the
verifier uses (``fetch.py``), so a check that passes means a verify can get the keys. The
result names the usable keys (``kid`` and algorithms) or what is wrong and how to fix it; it
never holds a secret (not the API key, not the password, not a ``jwks_headers`` value).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..kinds import ApiKeyCredential, BasicAuthCredential, CredentialBase, JwtCredential
from .basic import BASIC_WARNING
from .fetch import FetchError, JwksRequest, fetch_key_set, same_origin
from .jwks import usable_keys
from .jwt import key_algorithms

__all__ = ["ServiceReport", "describe_service"]


@dataclass
class ServiceReport:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)


def describe_service(
    name: str, cred: CredentialBase, ssl_context: Callable[[], ssl.SSLContext]
) -> ServiceReport:
    """The report for one service credential (no network unless its key set is fetched)."""
    report = ServiceReport()
    if isinstance(cred, ApiKeyCredential):
        value = f"{cred.prefix} <key>" if cred.prefix else "<key>"
        report.details.append(f"callers send the header {cred.header_name}: {value}")
    elif isinstance(cred, BasicAuthCredential):
        report.details.append(
            f"callers send Authorization: Basic base64({cred.username}:<password>)"
        )
        report.warnings.append(BASIC_WARNING.format(name=name))
    elif isinstance(cred, JwtCredential):
        _describe_jwt(cred, ssl_context, report)
    return report


def _describe_jwt(
    cred: JwtCredential, ssl_context: Callable[[], ssl.SSLContext], report: ServiceReport
) -> None:
    report.details.append("callers send Authorization: Bearer <jwt>")
    if cred.jwks is not None:
        _describe_keys("jwks", cred.jwks, cred, report)
        return
    request = JwksRequest.of(cred)
    try:
        doc, where = fetch_key_set(request, ssl_context(), timeout=10.0)
    except FetchError as exc:
        report.problems.append(str(exc))
        return
    except Exception as exc:  # an unexpected failure still says which fetch, never a secret
        report.problems.append(f"{request.where}: fetch failed ({type(exc).__name__})")
        return
    if cred.oidc_issuer is not None:
        report.details.append(f"oidc_issuer {cred.oidc_issuer} publishes jwks_uri {where}")
        customised = request.headers or request.method != "GET" or request.body is not None
        if customised and not same_origin(where, cred.oidc_issuer):
            report.warnings.append(
                "jwks_uri is on another origin than oidc_issuer: jwks_headers, jwks_method "
                "and jwks_body are not used for it (secret headers stay with the issuer)"
            )
    _describe_keys(f"fetched {where}", doc, cred, report)


def _describe_keys(source: str, doc: Any, cred: JwtCredential, report: ServiceReport) -> None:
    listed = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(listed, list):
        report.problems.append(
            f"{source}: not a JWKS (no 'keys' array); the URL must serve {{\"keys\": [...]}}"
        )
        return
    keys = usable_keys(doc)
    allowed = set(cred.algorithms) if cred.algorithms else None
    usable = []
    for key in keys:
        algs = [a for a in key_algorithms(key) if allowed is None or a in allowed]
        if algs:
            usable.append(f"{key.key_id or '(no kid)'} ({', '.join(algs)})")
    skipped = len(listed) - len(usable)
    if not usable:
        why = f" allowing {', '.join(sorted(allowed))}" if allowed else ""
        report.problems.append(
            f"{source}: no usable public signing key{why} among {len(listed)} key(s); publish "
            "RSA, EC or OKP public keys with use 'sig' (no private or symmetric keys)"
        )
        return
    report.details.append(f"{source}: {len(usable)} usable key(s): {'; '.join(usable)}")
    if skipped:
        report.warnings.append(
            f"{source}: {skipped} key(s) skipped (private, symmetric, not for signing, or an "
            "algorithm outside 'algorithms')"
        )
