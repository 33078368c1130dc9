"""The error tree of agentrun-creds-plugin.

Every error carries an HTTP-style ``status_code`` so a service can turn it into a response
without a lookup table, and context attributes (``name``, ``reason``...) so callers can act on
it without parsing text. No message ever contains a secret value: messages are built from names,
field paths and fixed texts only::

    CredentialError (Exception)                       status_code
    ├── CredentialNotFoundError                       404
    ├── CredentialDisabledError                       401
    ├── CredentialExpiredError                        401
    ├── CredentialExistsError                         409
    ├── CredentialInUseError                          409
    ├── VersionConflictError                          409
    ├── InvalidCredentialError (also ValueError)      422
    ├── AuthenticationError                           401   .reason
    ├── PermissionDeniedError                         403   .reason
    ├── DecryptionError                               500   one fixed message
    └── StoreUnavailableError                         503
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AuthenticationError",
    "CredentialDisabledError",
    "CredentialError",
    "CredentialExistsError",
    "CredentialExpiredError",
    "CredentialInUseError",
    "CredentialNotFoundError",
    "DecryptionError",
    "InvalidCredentialError",
    "PermissionDeniedError",
    "StoreUnavailableError",
    "VersionConflictError",
    "disabled_message",
]


def disabled_message(name: str) -> str:
    """The one text used everywhere a disabled credential is refused.

    See docs/contract.md, "Errors".
    """
    return (
        f"credential {name!r} is disabled (401); enable it with "
        f"store.enable({name!r}) or agentrun-creds enable {name}"
    )


class CredentialError(Exception):
    """Base of every error raised by the library."""

    status_code: int = 500

    def __init__(self, message: str, *, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> tuple[object, ...]:
        # Subclasses take other constructor arguments than the message, so rebuild from the
        # message and the context attributes rather than calling __init__ (pickling across
        # processes, e.g. LangChain's process pools).
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(
    cls: type[CredentialError], args: tuple[object, ...], state: dict[str, object]
) -> CredentialError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class CredentialNotFoundError(CredentialError, LookupError):
    """No credential (or model configuration) of that name exists."""

    status_code = 404

    def __init__(self, name: str, *, what: str = "credential") -> None:
        super().__init__(
            f"{what} {name!r} not found; list them with store.list() or agentrun-creds list",
            name=name,
        )
        self.what = what


class CredentialDisabledError(CredentialError):
    """The credential exists but is disabled: every use fails, like an HTTP 401."""

    status_code = 401

    def __init__(self, name: str) -> None:
        super().__init__(disabled_message(name), name=name)


class CredentialExpiredError(CredentialError):
    """The credential's ``expires_at`` has passed."""

    status_code = 401

    def __init__(self, name: str, expired_at: str) -> None:
        super().__init__(
            f"credential {name!r} expired at {expired_at} (401); store a new secret with "
            f"store.update({name!r}, ...) and a later expires_at",
            name=name,
        )
        self.expired_at = expired_at


class CredentialExistsError(CredentialError):
    """``create`` was asked for a name that is taken."""

    status_code = 409

    def __init__(self, name: str, *, what: str = "credential") -> None:
        super().__init__(
            f"{what} {name!r} already exists; use update() to change it or pick another name",
            name=name,
        )


class CredentialInUseError(CredentialError):
    """``delete`` refused because resources are still attached."""

    status_code = 409

    def __init__(self, name: str, attachments: Sequence[tuple[str, str]]) -> None:
        shown = ", ".join(f"{t}:{n}" for t, n in attachments[:5])
        more = f" and {len(attachments) - 5} more" if len(attachments) > 5 else ""
        super().__init__(
            f"credential {name!r} is attached to {shown}{more}; detach them first or "
            f"delete with force=True",
            name=name,
        )
        self.attachments = list(attachments)


class VersionConflictError(CredentialError):
    """A compare-and-swap update lost: someone else changed the credential first."""

    status_code = 409

    def __init__(self, name: str, expected: int, actual: int) -> None:
        super().__init__(
            f"credential {name!r} is at version {actual}, not the expected {expected}; "
            f"re-read it with store.get({name!r}) and retry",
            name=name,
        )
        self.expected = expected
        self.actual = actual


class InvalidCredentialError(CredentialError, ValueError):
    """Bad input: the message names the field and the problem, never the value."""

    status_code = 422

    def __init__(
        self, message: str, *, name: str | None = None, errors: Sequence[str] = ()
    ) -> None:
        super().__init__(message, name=name)
        self.errors = list(errors) or [message]


class AuthenticationError(CredentialError):
    """An inbound caller did not authenticate; ``reason`` says what was wrong."""

    status_code = 401

    def __init__(self, reason: str, *, name: str | None = None) -> None:
        super().__init__(f"authentication failed: {reason}", name=name)
        self.reason = reason


class PermissionDeniedError(CredentialError):
    """An inbound caller authenticated but is not allowed (audience, scope)."""

    status_code = 403

    def __init__(self, reason: str, *, name: str | None = None) -> None:
        super().__init__(f"permission denied: {reason}", name=name)
        self.reason = reason


class DecryptionError(CredentialError):
    """Any failure to decrypt: wrong key, tampering, a record moved to another row.

    Deliberately one fixed message (as Fernet's ``InvalidToken``): telling the cases apart
    would help an attacker more than a user.
    """

    status_code = 500
    MESSAGE = (
        "could not decrypt the credential: wrong master key, or the record was altered; "
        "check AGENTRUN_CREDS_MASTER_KEYS / the key file"
    )

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(self.MESSAGE, name=name)


class StoreUnavailableError(CredentialError):
    """The store cannot be reached or stayed locked past the timeout."""

    status_code = 503
