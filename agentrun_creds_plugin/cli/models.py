"""``models list|add|show|delete``: model configurations that use an existing credential."""

from __future__ import annotations

import json

import click

from .output import emit, errors, json_option, models_table, store


@click.group()
def models() -> None:
    """Model configurations ("Use Existing Credential")."""


@models.command("list")
@json_option
@click.pass_context
@errors
def list_models(ctx: click.Context) -> None:
    """List model configurations."""
    found = store(ctx).list_models()
    emit(ctx, found, lambda c: c.print(models_table(found)))


@models.command("add")
@click.argument("name")
@click.option("--credential", required=True, help="Name of an existing credential.")
@click.option("--model", required=True, help="The provider's model id, e.g. gpt-4o-mini.")
@click.option("--base-url", default=None)
@click.option("--param", "params", multiple=True, help="KEY=VALUE (JSON values allowed).")
@json_option
@click.pass_context
@errors
def add_model(
    ctx: click.Context,
    name: str,
    credential: str,
    model: str,
    base_url: str | None,
    params: tuple[str, ...],
) -> None:
    """Add a model configuration; attaches its credential."""
    extra: dict[str, object] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.UsageError(f"--param takes KEY=VALUE, got {key!r}")
        try:
            extra[key] = json.loads(value)
        except ValueError:
            extra[key] = value
    m = store(ctx).create_model(
        name, credential=credential, model=model, base_url=base_url, **extra
    )
    emit(ctx, m, f"created model {m.name} ({m.model}) using credential {m.credential}")


@models.command("show")
@click.argument("name")
@json_option
@click.pass_context
@errors
def show_model(ctx: click.Context, name: str) -> None:
    """Show one model configuration."""
    m = store(ctx).get_model(name)
    emit(ctx, m, lambda c: c.print(models_table([m])))


@models.command("delete")
@click.argument("name")
@json_option
@click.pass_context
@errors
def delete_model(ctx: click.Context, name: str) -> None:
    """Delete a model configuration; detaches its credential."""
    store(ctx).delete_model(name)
    emit(ctx, {"deleted": name}, f"deleted model {name}")
