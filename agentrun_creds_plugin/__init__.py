"""agentrun-creds-plugin: encrypted credentials, used by name.

Keep API keys, tokens and cloud access keys in one encrypted store and reference them by name
from LangChain agents, openai and anthropic clients and tool code. A secret is decrypted on the
call that needs it, so an edit, a rotation or a disable reaches every agent and process on the
next call. Integrations live in ``agentrun_creds_plugin.integrations`` and are imported only when
used: importing this package imports none of langchain, openai or anthropic.
"""

from typing import TYPE_CHECKING, Any

from .errors import (
    AuthenticationError,
    CredentialDisabledError,
    CredentialError,
    CredentialExistsError,
    CredentialExpiredError,
    CredentialInUseError,
    CredentialNotFoundError,
    DecryptionError,
    InvalidCredentialError,
    PermissionDeniedError,
    StoreUnavailableError,
    VersionConflictError,
)

if TYPE_CHECKING:
    from .crypto import generate_master_key
    from .info import AuditEvent, CheckReport, CredentialInfo, ModelConfig
    from .kinds import (
        ApiKeyCredential,
        BasicAuthCredential,
        CloudAccessKeyCredential,
        Credential,
        CredentialBase,
        CustomHeadersCredential,
        JwtCredential,
        ModelServiceCredential,
        ToolApiKeyCredential,
    )
    from .selection import use_credential, use_credentials
    from .settings import Settings
    from .store import BasicAuthWarning, CredentialStore

#: Where each lazily imported public name lives. Importing the package loads only the errors:
#: pydantic (the kinds, ``Settings``), cryptography and sqlite3 are imported when a name that
#: needs them is first used, so a process that only handles our errors, or a CLI printing its
#: help, does not pay for them (see docs/performance.md, "Cold start").
_LAZY = {
    "generate_master_key": "crypto",
    "AuditEvent": "info",
    "CheckReport": "info",
    "CredentialInfo": "info",
    "ModelConfig": "info",
    "ApiKeyCredential": "kinds",
    "BasicAuthCredential": "kinds",
    "CloudAccessKeyCredential": "kinds",
    "Credential": "kinds",
    "CredentialBase": "kinds",
    "CustomHeadersCredential": "kinds",
    "JwtCredential": "kinds",
    "ModelServiceCredential": "kinds",
    "ToolApiKeyCredential": "kinds",
    "use_credential": "selection",
    "use_credentials": "selection",
    "Settings": "settings",
    "BasicAuthWarning": "store",
    "CredentialStore": "store",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__version__ = "0.1.0"

__all__ = [
    "ApiKeyCredential",
    "AuditEvent",
    "AuthenticationError",
    "BasicAuthCredential",
    "BasicAuthWarning",
    "CheckReport",
    "CloudAccessKeyCredential",
    "Credential",
    "CredentialBase",
    "CredentialDisabledError",
    "CredentialError",
    "CredentialExistsError",
    "CredentialExpiredError",
    "CredentialInUseError",
    "CredentialInfo",
    "CredentialNotFoundError",
    "CredentialStore",
    "CustomHeadersCredential",
    "DecryptionError",
    "InvalidCredentialError",
    "JwtCredential",
    "ModelConfig",
    "ModelServiceCredential",
    "PermissionDeniedError",
    "Settings",
    "StoreUnavailableError",
    "ToolApiKeyCredential",
    "VersionConflictError",
    "__version__",
    "generate_master_key",
    "use_credential",
    "use_credentials",
]
