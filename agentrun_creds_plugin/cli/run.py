"""``run --env VAR=NAME -- COMMAND``: start a program with resolved secrets in its environment.

For programs that only read environment variables (``OPENAI_API_KEY``...): the values go to the
child's environment and are never printed. Every credential is resolved before the program
starts, so a disabled or expired one refuses to start it (with the library's 401 text).
"""

from __future__ import annotations

import os
import subprocess

import click

from .fields import kind_of, secret_fields
from .output import errors, store


def _value(credential: object, field: str | None) -> str:
    kind = kind_of(credential)  # type: ignore[arg-type]
    if field is None:
        required = [n for n, req in secret_fields(kind) if req]
        if len(required) != 1 or isinstance(getattr(credential, required[0]), dict):
            raise click.UsageError(
                f"a {kind} credential has several values; use VAR=NAME:FIELD "
                f"(fields: {', '.join(n for n, _ in secret_fields(kind))})"
            )
        field = required[0]
    if not hasattr(credential, field):
        raise click.UsageError(f"{kind} has no field {field!r}")
    value = getattr(credential, field)
    if value is None:
        raise click.UsageError(f"{field} is not set on this credential")
    return str(value.get_secret_value() if hasattr(value, "get_secret_value") else value)


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--env", "envs", multiple=True, required=True, metavar="VAR=NAME[:FIELD]")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
@errors
def run(ctx: click.Context, envs: tuple[str, ...], command: tuple[str, ...]) -> None:
    """Run COMMAND with credentials in its environment (e.g. --env OPENAI_API_KEY=llm)."""
    s = store(ctx)
    child = dict(os.environ)
    for item in envs:
        var, sep, ref = item.partition("=")
        if not sep or not var or not ref:
            raise click.UsageError(f"--env takes VAR=NAME, got {item!r}")
        name, _, field = ref.partition(":")
        credential = s.resolve(name, resource=f"cli:run:{command[0]}")
        child[var] = _value(credential, field or None)
    try:
        code = subprocess.call(list(command), env=child)
    except FileNotFoundError:
        raise click.ClickException(f"{command[0]}: command not found; check the PATH") from None
    ctx.exit(code)
