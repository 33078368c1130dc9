"""What a decorated tool gets injected: the credential object, or an HTTP client whose
auth resolves the credential on every request (chosen from the parameter's annotation).
"""

from __future__ import annotations

import inspect
import types
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ...kinds import CredentialBase

if TYPE_CHECKING:
    pass


ClientKind = Literal["sync", "async"]


# -- what to inject -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Injection:
    """How to produce the injected value: a credential object, or a client of ``factory``."""

    factory: type | None = None  # None: the credential object
    client_kind: ClientKind = "sync"
    kinds: tuple[type[CredentialBase], ...] = ()  # expected kinds; empty: any


def _client_classes() -> list[tuple[type, ClientKind]]:
    """The HTTP client classes that are installed, with how they are used."""
    found: list[tuple[type, ClientKind]] = []
    for module, sync_name, async_name in (
        ("httpx2", "Client", "AsyncClient"),
        ("httpx", "Client", "AsyncClient"),
        ("requests", "Session", None),
    ):
        try:
            mod = __import__(module)
        except ImportError:
            continue
        found.append((getattr(mod, sync_name), "sync"))
        if async_name is not None:
            found.append((getattr(mod, async_name), "async"))
    return found


def _members(annotation: Any) -> list[Any]:
    """The types an annotation allows: ``Annotated`` and ``Optional`` unwrapped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                out.extend(_members(arg))
        return out
    return [annotation]


def _injection_for(annotation: Any, *, where: str, is_async: bool) -> _Injection:
    if annotation is inspect.Parameter.empty:
        return _Injection()
    if isinstance(annotation, str):
        raise TypeError(
            f"requires_credential: cannot resolve the annotation {annotation!r} of {where}; "
            "import its type at module level (or drop the annotation to get the credential)"
        )
    members = _members(annotation)
    clients = _client_classes()
    matched: list[tuple[type, ClientKind]] = []
    for member in members:
        for cls, kind in clients:
            if isinstance(member, type) and issubclass(member, cls):
                matched.append((member, kind))
                break
    if matched:
        if len(members) != 1:
            raise TypeError(
                f"requires_credential: {where} must be annotated with one HTTP client class "
                "(e.g. httpx2.Client), not a union"
            )
        factory, kind = matched[0]
        if kind == "async" and not is_async:
            raise TypeError(
                f"requires_credential: {where} asks for an {factory.__name__}; an async client "
                "needs an 'async def' function (or annotate it with the sync Client)"
            )
        return _Injection(factory=factory, client_kind=kind)
    kinds = tuple(m for m in members if isinstance(m, type) and issubclass(m, CredentialBase))
    if len(kinds) == len(members) and CredentialBase not in kinds:
        return _Injection(kinds=kinds)
    return _Injection()


def _kind_id(cred: CredentialBase) -> str:
    return str(type(cred).model_fields["kind"].default)
