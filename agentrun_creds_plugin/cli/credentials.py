"""Credential commands: add, create, list, show, enable, disable, delete, attachments, check
and reveal (``update`` has its own module).

Secrets come only from a hidden prompt, ``--stdin`` or ``--from-env VAR``: argv is visible to
every user through ``ps`` and lands in shell history. Names and non-secret fields are checked
before any prompt so that a typo does not cost a retyped key. ``reveal`` is the only command that
prints a secret.
"""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console

from ..errors import CredentialExistsError
from ..kinds import KINDS, credential_from_dict
from . import fields as F
from .output import (
    attachments_table,
    audit_table,
    credentials_table,
    emit,
    errors,
    json_option,
    row,
    store,
    wants_json,
)
from .update import update

secret_source = [
    click.option(
        "--stdin", "from_stdin", is_flag=True, help="Read secrets from stdin, a line each."
    ),
    click.option(
        "--from-env",
        "from_env",
        multiple=True,
        metavar="[FIELD=]VAR",
        help="Read a secret from an environment variable.",
    ),
]


def _with(options: list[Any], fn: Any) -> Any:
    for opt in reversed(options):
        fn = opt(fn)
    return fn


class KindGroup(click.Group):
    """``add KIND``: an unknown kind is a usage error that lists the kinds."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            raise click.UsageError(f"unknown kind {args[0]!r}; use one of {', '.join(KINDS)}", ctx)
        return super().resolve_command(ctx, args)


@click.group("add", cls=KindGroup)
def add() -> None:
    """Add a credential: `add KIND NAME --field ...`; secrets are prompted for."""


def _add_command(kind: str) -> click.Command:
    secrets = ", ".join(n for n, _ in F.secret_fields(kind)) or "none"

    @click.pass_context
    @errors
    def callback(
        ctx: click.Context,
        /,
        name: str,
        description: str,
        from_stdin: bool,
        from_env: tuple[str, ...],
        **params: Any,
    ) -> None:
        keys = [k for f, _ in F.secret_fields(kind) for k in params.get(f"{f}_names", ())]
        data = F.non_secret_values(kind, params)
        F.validate_before_prompt(kind, name, data, keys)
        s = store(ctx)
        if s.backend.get(name) is not None:  # say so before asking for the secret
            raise CredentialExistsError(name)
        data.update(F.read_secrets(kind, from_stdin, from_env, keys))
        info = s.create(name, credential_from_dict(dict(data, kind=kind)), description=description)
        emit(ctx, info, f"created {row(info)}")

    params: list[click.Parameter] = [click.Argument(["name"])]
    params += F.field_options(kind)
    params += [
        click.Option(["--description"], default=""),
        *F.secret_source_options(),
    ]
    cmd = click.Command(
        kind,
        callback=callback,
        params=params,
        help=f"Add a {KINDS[kind].__name__} ({KINDS[kind].category}); secret: {secrets}.",
    )
    return json_option(cmd)


for _kind in KINDS:
    add.add_command(_add_command(_kind))


def _fields_from_set(kind: str, items: tuple[str, ...]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    secrets = {n for n, _ in F.secret_fields(kind)}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.UsageError(f"--set takes FIELD=VALUE, got {key!r}")
        if key in secrets:
            raise click.UsageError(
                f"{key} is secret: do not pass it on the command line; it is prompted for "
                "(or read with --stdin / --from-env VAR)"
            )
        data[key] = json.loads(value) if value[:1] in "[{" else value
    return data


@click.command()
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(sorted(KINDS)))
@click.option("--set", "fields", multiple=True, help="A non-secret field, FIELD=VALUE.")
@click.option("--description", default="")
@json_option
@click.pass_context
@errors
def create(
    ctx: click.Context,
    name: str,
    kind: str,
    fields: tuple[str, ...],
    description: str,
    from_stdin: bool,
    from_env: tuple[str, ...],
) -> None:
    """Create a credential with --set FIELD=VALUE (see `add KIND` for named options)."""
    data = _fields_from_set(kind, fields)
    F.validate_before_prompt(kind, name, data, [])
    data.update(F.read_secrets(kind, from_stdin, from_env, []))
    info = store(ctx).create(
        name, credential_from_dict(dict(data, kind=kind)), description=description
    )
    emit(ctx, info, f"created {row(info)}")


create = _with(secret_source, create)


@click.command("list")
@click.option("--category", type=click.Choice(["service", "third_party"]))
@click.option("--kind", type=click.Choice(sorted(KINDS)))
@json_option
@click.pass_context
@errors
def list_(ctx: click.Context, category: str | None, kind: str | None) -> None:
    """List credentials with masked previews."""
    infos = store(ctx).list(category=category, kind=kind)
    emit(ctx, infos, lambda c: c.print(credentials_table(infos)))


@click.command()
@click.argument("name")
@json_option
@click.pass_context
@errors
def show(ctx: click.Context, name: str) -> None:
    """Show a credential: details, masked preview, attachments, recent audit events."""
    s = store(ctx)
    info = s.get(name)
    events = s.audit(name, limit=10)

    def human(c: Console) -> None:
        c.print(f"[bold]{info.name}[/bold]  {info.category}/{info.kind}  {row(info)}")
        c.print(f"  description: {info.description}")
        c.print(f"  created {info.created_at.isoformat()}  updated {info.updated_at.isoformat()}")
        if info.expires_at:
            c.print(f"  expires {info.expires_at.isoformat()}")
        for rtype, rname in info.attachments:
            c.print(f"  attached: {rtype}:{rname}")
        c.print(audit_table(events))

    emit(ctx, {"credential": info, "recent_audit": events}, human)


@click.command()
@click.argument("name")
@json_option
@click.pass_context
@errors
def enable(ctx: click.Context, name: str) -> None:
    """Enable a credential: takes effect on the next use everywhere."""
    info = store(ctx).enable(name)
    emit(ctx, info, f"enabled {row(info)}")


@click.command()
@click.argument("name")
@json_option
@click.pass_context
@errors
def disable(ctx: click.Context, name: str) -> None:
    """Disable a credential: every use fails with 401 from the next call on."""
    info = store(ctx).disable(name)
    emit(ctx, info, f"disabled {row(info)}")


@click.command()
@click.argument("name")
@click.option("--force", is_flag=True, help="Delete even while resources are attached.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@click.pass_context
@errors
def delete(ctx: click.Context, name: str, force: bool, yes: bool) -> None:
    """Delete a credential (irreversible); refused while resources are attached."""
    s = store(ctx)
    info = s.get(name)  # unknown -> 404 before any question
    if info.attachments and not force:
        s.delete(name)  # raises 409 naming what is attached
    if not yes and not click.confirm(f"Delete {name} (irreversible)?"):
        raise click.ClickException("not deleted; pass --yes to skip the question")
    s.delete(name, force=force)
    emit(ctx, {"deleted": name}, f"deleted {name}")


@click.command()
@click.argument("name")
@json_option
@click.pass_context
@errors
def attachments(ctx: click.Context, name: str) -> None:
    """The resources (models, tools, agents) attached to a credential."""
    att = store(ctx).attachments(name)
    emit(
        ctx,
        [{"type": t, "name": n} for t, n in att],
        lambda c: c.print(attachments_table(name, att)),
    )


@click.command()
@click.argument("name")
@json_option
@click.pass_context
@errors
def check(ctx: click.Context, name: str) -> None:
    """Validate a credential without using it; exit 1 when it has problems.

    A service credential's report says how callers present it; a JWT credential's key set
    (JWKS URL or OIDC issuer) is fetched and its usable keys listed."""
    report = store(ctx).check(name)
    data = {
        "name": name,
        "ok": report.ok,
        "problems": report.problems,
        "warnings": report.warnings,
        "details": report.details,
    }
    emit(ctx, data, str(report))
    if not report.ok:
        ctx.exit(1)


@click.command()
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@click.pass_context
@errors
def reveal(ctx: click.Context, name: str, yes: bool) -> None:
    """Print a credential's secret values: the only command that does."""
    if wants_json(ctx) and not yes:
        raise click.ClickException("reveal --json prints secrets for a script; add --yes to agree")
    s = store(ctx)
    s.get(name)
    if not yes and not click.confirm(f"Print the secret of {name} on this terminal?"):
        raise click.ClickException("nothing revealed")
    cred = s.resolve(name, resource="cli:reveal")
    values: dict[str, Any] = {}
    for field, _ in F.secret_fields(F.kind_of(cred)):
        v = getattr(cred, field)
        if isinstance(v, dict):
            values[field] = {k: x.get_secret_value() for k, x in v.items()}
        elif v is not None:
            values[field] = v.get_secret_value()
    if wants_json(ctx):
        click.echo(json.dumps(values, indent=2))
    else:
        for k, v in values.items():
            click.echo(f"{k}: {v}")


COMMANDS = [add, create, list_, show, update, enable, disable, delete, attachments, check, reveal]
__all__ = ["COMMANDS"]
