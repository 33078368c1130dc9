"""The public surface is explicit and pinned; importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import agentrun_creds_plugin as acp

EXPECTED = [
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


def test_all_is_pinned() -> None:
    assert sorted(acp.__all__) == sorted(EXPECTED)
    for name in acp.__all__:
        assert getattr(acp, name) is not None


def test_import_does_not_pull_integrations() -> None:
    code = (
        "import sys, agentrun_creds_plugin\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('langchain_core', 'langchain', 'langchain_openai', 'langchain_anthropic', 'openai', "
        "'anthropic', 'httpx', 'httpx2', 'requests', 'psycopg', 'click')]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_error_tree_and_status_codes() -> None:
    expected = {
        acp.CredentialNotFoundError: 404,
        acp.CredentialDisabledError: 401,
        acp.CredentialExistsError: 409,
        acp.CredentialInUseError: 409,
        acp.VersionConflictError: 409,
        acp.CredentialExpiredError: 401,
        acp.InvalidCredentialError: 422,
        acp.AuthenticationError: 401,
        acp.PermissionDeniedError: 403,
        acp.DecryptionError: 500,
        acp.StoreUnavailableError: 503,
    }
    for cls, code in expected.items():
        assert issubclass(cls, acp.CredentialError)
        assert cls.status_code == code
    assert issubclass(acp.InvalidCredentialError, ValueError)
    assert acp.AuthenticationError("missing header").reason == "missing header"
    assert acp.PermissionDeniedError("missing scope read").status_code == 403


def test_errors_pickle_with_their_context() -> None:
    import pickle

    errors = [
        acp.CredentialDisabledError("k"),
        acp.CredentialNotFoundError("k"),
        acp.VersionConflictError("k", 1, 2),
        acp.CredentialInUseError("k", [("tool", "t")]),
        acp.InvalidCredentialError("api_key: bad"),
        acp.AuthenticationError("expired"),
        acp.DecryptionError(name="k"),
        acp.CredentialExpiredError("k", "2026-01-01T00:00:00"),
    ]
    for error in errors:
        again = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
        assert type(again) is type(error) and str(again) == str(error)
        assert again.__dict__ == error.__dict__ and again.status_code == error.status_code


def test_the_store_is_a_credential_resolver(store: acp.CredentialStore) -> None:
    """Outbound, inbound and integrations type against the protocol, not the store class."""
    from agentrun_creds_plugin.resolver import CredentialResolver

    assert isinstance(store, CredentialResolver)
