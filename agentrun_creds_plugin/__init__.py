"""agentrun-creds-plugin: encrypted credentials, used by name.

Keep API keys, tokens and cloud access keys in one encrypted store and reference them by name
from LangChain agents, openai and anthropic clients and tool code. A secret is decrypted on the
call that needs it, so an edit, a rotation or a disable reaches every agent and process on the
next call. Integrations live in ``agentrun_creds_plugin.integrations`` and are imported only when
used: importing this package imports none of langchain, openai or anthropic.
"""

from .crypto import generate_master_key
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
