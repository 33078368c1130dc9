"""Which :class:`~.base.Signer` signs for which provider name.

The three built-in providers are registered on import; a third party adds its own with
:func:`register_signer` (or replaces a built-in one with ``replace=True``), and outbound
auth finds a credential's signer with :func:`get_signer` instead of an if/elif per provider.
"""

from __future__ import annotations

from .aliyun import AliyunSigner
from .aws.signer import AwsSigner
from .base import Signer
from .tencent import TencentSigner

__all__ = [
    "UnknownProviderError",
    "get_signer",
    "known_providers",
    "register_signer",
    "unregister_signer",
]

_SIGNERS: dict[str, Signer] = {}


class UnknownProviderError(LookupError):
    """No signer is registered under the provider name asked for."""


def register_signer(provider: str, signer: Signer, *, replace: bool = False) -> None:
    """Make ``signer`` the one used for credentials whose ``provider`` is ``provider``.

    Refuses to overwrite a registered provider silently: pass ``replace=True`` to swap one.
    """
    if not isinstance(provider, str) or not provider.strip() or provider != provider.strip():
        raise ValueError(
            f"signer provider name: {provider!r} is not a non-empty name without surrounding "
            "spaces; pass e.g. 'aws'"
        )
    if not isinstance(signer, Signer):
        raise TypeError(
            f"signer for {provider!r}: {type(signer).__name__} has no sign(request, key, "
            "options, keys) method; implement agentrun_creds_plugin.signing.Signer"
        )
    if provider in _SIGNERS and not replace:
        raise ValueError(
            f"signer provider {provider!r} is already registered; pass replace=True to replace it"
        )
    _SIGNERS[provider] = signer


def unregister_signer(provider: str) -> Signer | None:
    """Remove and return the signer registered for ``provider`` (``None`` if there was none)."""
    return _SIGNERS.pop(provider, None)


def get_signer(provider: str) -> Signer:
    """The signer registered for ``provider``; the error lists the ones that are known."""
    try:
        return _SIGNERS[provider]
    except KeyError:
        known = ", ".join(known_providers()) or "none"
        raise UnknownProviderError(
            f"no signer is registered for provider {provider!r} (known: {known}); register "
            "one with agentrun_creds_plugin.signing.register_signer(name, signer)"
        ) from None


def known_providers() -> tuple[str, ...]:
    """The provider names with a registered signer, sorted."""
    return tuple(sorted(_SIGNERS))


register_signer("aws", AwsSigner())
register_signer("aliyun", AliyunSigner())
register_signer("tencent", TencentSigner())
