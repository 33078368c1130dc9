"""The I/O half of outbound auth: resolve the credential by name, per request.

Nothing is decrypted at construction: each request (and each retry an SDK makes) resolves
the credential again, so a rotation or a disable reaches the very next request and the auth
object holds no plaintext. The name may be overridden per run (``use_credential``).
"""

from __future__ import annotations

from typing import Any

from ..kinds import CredentialBase
from ..resolver import CredentialResolver
from ..selection import selected_name
from .cloud import SigningOptions
from .plan import jwt_outbound_error

__all__ = ["ResolvingAuth"]


class ResolvingAuth:
    """Resolves the named credential on each request; adapters build on it."""

    requires_response_body = False

    def __init__(
        self,
        resolver: CredentialResolver,
        name: str,
        *,
        resource: str | None = None,
        signing: SigningOptions | None = None,
    ) -> None:
        info = resolver.get(name)
        if info.kind == "jwt":
            raise jwt_outbound_error()
        self._resolver = resolver
        self.name = name
        self.resource = resource
        self.signing = signing or SigningOptions()
        self.requires_request_body = (
            info.kind == "cloud_ak_sk" and not self.signing.unsigned_payload
        )
        # What each URL implies for SigV4 (host, canonical path and query, target): public
        # facts, fixed for this auth's signing options (see .aws_flow).
        self._aws_urls: dict[Any, Any] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def _resolve(self) -> CredentialBase:
        return self._resolver.resolve(selected_name(self.name), resource=self.resource)

    async def _aresolve(self) -> CredentialBase:
        return await self._resolver.aresolve(selected_name(self.name), resource=self.resource)
