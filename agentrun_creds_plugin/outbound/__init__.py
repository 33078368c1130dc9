"""Outbound auth: credentials added to requests the agent makes, resolved per request.

- :mod:`.plan`: the pure step (what a credential adds to one request).
- :mod:`.cloud`: cloud AK/SK signing options and dispatch to the signers.
- :mod:`.httpx_flow`, :mod:`.requests_auth`: the adapters; :mod:`.auth` joins them.
- :mod:`.aws_flow`: the httpx adapter's SigV4 fast path (same headers, a fraction of the cost).
- :mod:`.redaction`: query-parameter keys redacted in HTTP client logs, switched on by the
  adapters when they first send a key in a URL.

This package types against :class:`~agentrun_creds_plugin.resolver.CredentialResolver` and
never imports the store; ``store.http_auth`` delegates here.
"""

from __future__ import annotations

from ..resolver import CredentialResolver
from .auth import CredentialAuth
from .cloud import SigningOptions, sign_cloud
from .plan import AuthPlan, apply_credential, redact_url, set_headers

__all__ = [
    "AuthPlan",
    "CredentialAuth",
    "SigningOptions",
    "apply_credential",
    "http_auth",
    "redact_url",
    "set_headers",
    "sign_cloud",
]


def http_auth(
    resolver: CredentialResolver,
    name: str,
    *,
    resource: str | None = None,
    service: str | None = None,
    region: str | None = None,
    action: str | None = None,
    version: str | None = None,
    unsigned_payload: bool = False,
) -> CredentialAuth:
    """A per-request auth object for httpx2, httpx and requests (see ``store.http_auth``).

    On a redirect to another origin the credential's headers are dropped by ``requests``
    (a response hook) and by httpx/httpx2 clients carrying :func:`.redirects.guard_client`;
    a bare httpx client with ``follow_redirects=True`` strips only ``Authorization``.
    """
    signing = SigningOptions(service, region, action, version, unsigned_payload)
    return CredentialAuth(resolver, name, resource=resource, signing=signing)
