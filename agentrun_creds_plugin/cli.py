"""The ``agentrun-creds`` command: manage the store from a shell.

Secrets are never taken from the command line (argv is visible to every user through ``ps``
and lands in shell history): ``create`` and ``update`` read them from a hidden prompt, or from
standard input with ``--stdin``. No command prints a secret; ``show`` prints the masked preview.
Errors print the library's message (which never holds a secret) and exit with 1, or 2 for
usage errors.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

try:
    import click
except ImportError:  # pragma: no cover - the [cli] extra is missing
    sys.exit("agentrun-creds needs the cli extra: pip install 'agentrun-creds-plugin[cli]'")

from .crypto import generate_master_key
from .errors import CredentialError
from .info import CredentialInfo
from .kinds import KINDS, credential_from_dict
from .store import CredentialStore

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])

#: For each kind, its secret fields: read from the prompt or stdin, never from argv.
_SECRET_FIELDS = {
    "api_key": ("api_key",),
    "basic": ("password",),
    "model_service": ("api_key",),
    "tool_api_key": ("api_key",),
    "cloud_ak_sk": ("access_key_secret",),
}


def _store(ctx: click.Context) -> CredentialStore:
    store = ctx.obj.get("store")
    if store is None:
        store = CredentialStore.open(ctx.obj.get("url"))
        ctx.obj["store"] = store
        ctx.call_on_close(store.close)
    return store  # type: ignore[no-any-return]


def _errors(fn: F) -> F:
    """Turn library errors into a one-line message and exit code 1."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CredentialError as exc:
            raise click.ClickException(f"{exc} [{exc.status_code}]") from None

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper  # type: ignore[return-value]


def _row(info: CredentialInfo) -> str:
    return f"{info.name:24s} {info.kind:15s} {info.status:9s} v{info.version:<4d} {info.preview}"


@click.group()
@click.option("--url", envvar="AGENTRUN_CREDS_URL", help="Store URL (default: settings).")
@click.pass_context
def cli(ctx: click.Context, url: str | None) -> None:
    """Manage the encrypted credential store."""
    ctx.ensure_object(dict)
    ctx.obj["url"] = url


@cli.command("list")
@click.option("--category", type=click.Choice(["service", "third_party"]))
@click.option("--kind", type=click.Choice(sorted(KINDS)))
@click.pass_context
@_errors
def list_(ctx: click.Context, category: str | None, kind: str | None) -> None:
    """List credentials (masked)."""
    for info in _store(ctx).list(category=category, kind=kind):
        click.echo(_row(info))


@cli.command()
@click.argument("name")
@click.pass_context
@_errors
def show(ctx: click.Context, name: str) -> None:
    """Show one credential's metadata (masked), attachments included."""
    info = _store(ctx).get(name)
    click.echo(_row(info))
    click.echo(f"  description: {info.description}")
    click.echo(f"  created {info.created_at.isoformat()}  updated {info.updated_at.isoformat()}")
    if info.expires_at:
        click.echo(f"  expires {info.expires_at.isoformat()}")
    for rtype, rname in info.attachments:
        click.echo(f"  attached: {rtype}:{rname}")


def _read_secret(field: str, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = click.prompt(field, hide_input=True, confirmation_prompt=False)
    return value


def _build(kind: str, fields: tuple[str, ...], from_stdin: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": kind}
    for item in fields:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.UsageError(f"--set takes FIELD=VALUE, got {key!r}")
        if key in _SECRET_FIELDS.get(kind, ()) or key in ("password", "security_token"):
            raise click.UsageError(
                f"{key} is secret: do not pass it on the command line; it is prompted for "
                "(or read from standard input with --stdin)"
            )
        data[key] = json.loads(value) if value[:1] in "[{" else value
    for secret in _SECRET_FIELDS.get(kind, ()):
        data[secret] = _read_secret(secret, from_stdin)
    return data


@cli.command()
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(sorted(KINDS)))
@click.option("--set", "fields", multiple=True, help="A non-secret field, FIELD=VALUE.")
@click.option("--description", default="")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the secret from stdin.")
@click.pass_context
@_errors
def create(
    ctx: click.Context,
    name: str,
    kind: str,
    fields: tuple[str, ...],
    description: str,
    from_stdin: bool,
) -> None:
    """Create a credential; its secret is prompted for (or read with --stdin)."""
    credential = credential_from_dict(_build(kind, fields, from_stdin))
    info = _store(ctx).create(name, credential, description=description)
    click.echo(f"created {_row(info)}")


@cli.command()
@click.argument("name")
@click.option("--set", "fields", multiple=True, help="A non-secret field, FIELD=VALUE.")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the secret from stdin.")
@click.option("--expected-version", type=int, default=None)
@click.pass_context
@_errors
def update(
    ctx: click.Context,
    name: str,
    fields: tuple[str, ...],
    from_stdin: bool,
    expected_version: int | None,
) -> None:
    """Replace a credential's secret (same kind); bumps the version."""
    store = _store(ctx)
    kind = store.get(name).kind
    credential = credential_from_dict(_build(kind, fields, from_stdin))
    info = store.update(name, credential, expected_version=expected_version)
    click.echo(f"updated {_row(info)}")


@cli.command()
@click.argument("name")
@click.pass_context
@_errors
def enable(ctx: click.Context, name: str) -> None:
    """Enable a credential: takes effect on the next use everywhere."""
    click.echo(f"enabled {_row(_store(ctx).enable(name))}")


@cli.command()
@click.argument("name")
@click.pass_context
@_errors
def disable(ctx: click.Context, name: str) -> None:
    """Disable a credential: every use fails with 401 from the next call on."""
    click.echo(f"disabled {_row(_store(ctx).disable(name))}")


@cli.command()
@click.argument("name")
@click.option("--force", is_flag=True, help="Delete even while resources are attached.")
@click.confirmation_option(prompt="Deleting is irreversible. Continue?")
@click.pass_context
@_errors
def delete(ctx: click.Context, name: str, force: bool) -> None:
    """Delete a credential (irreversible)."""
    _store(ctx).delete(name, force=force)
    click.echo(f"deleted {name}")


@cli.command()
@click.argument("name")
@click.pass_context
@_errors
def check(ctx: click.Context, name: str) -> None:
    """Validate a credential without using it; exit 1 when it has problems."""
    report = _store(ctx).check(name)
    click.echo(str(report))
    if not report.ok:
        ctx.exit(1)


@cli.command()
@click.argument("name", required=False)
@click.option("--limit", default=50, show_default=True)
@click.option("--action", default=None)
@click.option("--resource", default=None)
@click.pass_context
@_errors
def audit(
    ctx: click.Context, name: str | None, limit: int, action: str | None, resource: str | None
) -> None:
    """Show audit events, newest first."""
    for e in _store(ctx).audit(name, limit=limit, action=action, resource=resource):
        extra = " ".join(x for x in (e.resource or "", e.reason or "") if x)
        click.echo(f"{e.at.isoformat()} {e.action:10s} {e.name or '-':24s} {extra}".rstrip())


@cli.command("models")
@click.pass_context
@_errors
def models(ctx: click.Context) -> None:
    """List model configurations."""
    for m in _store(ctx).list_models():
        click.echo(f"{m.name:24s} {m.model:24s} credential={m.credential}")


@cli.command("generate-key")
def generate_key() -> None:
    """Print a new master key (for AGENTRUN_CREDS_MASTER_KEYS or a key file)."""
    click.echo(generate_master_key())


@cli.command("rotate-master-key")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the new key from stdin.")
@click.pass_context
@_errors
def rotate_master_key(ctx: click.Context, from_stdin: bool) -> None:
    """Re-encrypt every secret under a new master key (safe to re-run)."""
    new = _read_secret("new master key", from_stdin)
    count = _store(ctx).rotate_master_key(new)
    click.echo(f"re-encrypted {count} record(s)")


def main() -> None:
    """Entry point of ``agentrun-creds``."""
    cli(obj={})
