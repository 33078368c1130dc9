"""Output of the ``agentrun-creds`` command: rich tables for people, ``--json`` for scripts.

Every command prints through here, and nothing here ever receives a secret: rows are built from
:class:`CredentialInfo`, :class:`ModelConfig` and :class:`AuditEvent`, which hold masked previews.
Library errors become one line on standard error and exit code 1.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from ..errors import CredentialError
from ..info import AuditEvent, CredentialInfo, ModelConfig
from ..store import CredentialStore

F = TypeVar("F", bound=Callable[..., Any])

#: What to do next, per library status code, appended to the one-line error message.
_NEXT = {
    404: "run `agentrun-creds list` to see the names",
    409: "see `agentrun-creds attachments NAME`, or pass --force",
    422: "fix the value and run the command again",
    503: "check --url / AGENTRUN_CREDS_URL and that the folder is writable",
}


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(dict)
        ctx.obj["json"] = True


json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_json,
    help="Print JSON for scripts instead of a table.",
)


def wants_json(ctx: click.Context) -> bool:
    return bool((ctx.find_root().obj or {}).get("json"))


def store(ctx: click.Context) -> CredentialStore:
    """The store named by ``--url`` (opened once per command, closed at exit)."""
    obj = ctx.find_root().obj
    opened = obj.get("store")
    if opened is None:
        opened = CredentialStore.open(obj.get("url"))
        obj["store"] = opened
        ctx.find_root().call_on_close(opened.close)
    return opened  # type: ignore[no-any-return]


def errors(fn: F) -> F:
    """Turn library errors into a one-line message that says what to do next, exit 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CredentialError as exc:
            hint = _NEXT.get(exc.status_code)
            text = f"{exc} [{exc.status_code}]" + (f"; {hint}" if hint else "")
            raise click.ClickException(text) from None
        except OSError as exc:
            raise click.ClickException(
                f"cannot use the store: {exc.strerror or exc}; check --url and permissions"
            ) from None

    return wrapper  # type: ignore[return-value]


def console() -> Console:
    """Colour on a terminal; when piped, plain text wide enough that no column is cut."""
    probe = Console()
    return Console(highlight=False, width=None if probe.is_terminal else 200)


def plain(value: Any) -> Any:
    """A JSON-ready copy of a dataclass, datetime or container (never holding a secret)."""
    if is_dataclass(value) and not isinstance(value, type):
        data = asdict(value)
        if isinstance(value, CredentialInfo):
            data["status"] = value.status
        return plain(data)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def emit(ctx: click.Context, data: Any, human: Callable[[Console], None] | str) -> None:
    """Print ``data`` as JSON with ``--json``, else the human form."""
    if wants_json(ctx):
        click.echo(json.dumps(plain(data), indent=2, sort_keys=True))
    elif isinstance(human, str):
        console().print(human)
    else:
        human(console())


def _when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S") if dt else "-"


def _status(info: CredentialInfo) -> str:
    colour = {"enabled": "green", "disabled": "red", "expired": "yellow"}[info.status]
    return f"[{colour}]{info.status}[/{colour}]"


def row(info: CredentialInfo) -> str:
    """One line about a credential (for messages after a write)."""
    return f"{info.name} ({info.kind}, {_status(info)}, v{info.version}) {info.preview}"


def credentials_table(infos: Iterable[CredentialInfo]) -> Table:
    table = Table(title="credentials")
    for col in ("name", "category", "kind", "enabled", "version", "attachments", "updated"):
        table.add_column(col)
    table.add_column("preview")
    for i in infos:
        att = ", ".join(f"{t}:{n}" for t, n in i.attachments) or "-"
        table.add_row(
            i.name,
            i.category,
            i.kind,
            _status(i),
            f"v{i.version}",
            att,
            _when(i.updated_at),
            i.preview,
        )
    return table


def models_table(models: Sequence[ModelConfig]) -> Table:
    table = Table(title="models")
    for col in ("name", "model", "credential", "base_url", "created"):
        table.add_column(col)
    for m in models:
        table.add_row(m.name, m.model, m.credential, m.base_url or "-", _when(m.created_at))
    return table


def audit_table(events: Sequence[AuditEvent]) -> Table:
    table = Table(title="audit (newest first)")
    for col in ("at", "action", "name", "resource", "reason", "pid", "host"):
        table.add_column(col)
    for e in events:
        table.add_row(
            _when(e.at),
            e.action,
            e.name or "-",
            e.resource or "-",
            e.reason or "",
            str(e.pid),
            e.host,
        )
    return table


def attachments_table(name: str, attachments: Sequence[tuple[str, str]]) -> Table:
    table = Table(title=f"resources attached to {name}")
    table.add_column("type")
    table.add_column("name")
    for rtype, rname in attachments:
        table.add_row(rtype, rname)
    return table
