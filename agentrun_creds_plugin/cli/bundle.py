"""``export FILE`` / ``import FILE``: an encrypted bundle for backups and for moving machines.

The passphrase comes from a hidden prompt (asked twice on export, since a typo there would lock
the bundle for good), from standard input or from ``--passphrase-env VAR``; never from an
argument, which ``ps`` and the shell history would show.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any

import click

from ..bundle import (
    BundleConflictError,
    BundleError,
    BundleFileExistsError,
    export_bundle,
    import_bundle,
)
from .output import emit, errors, json_option, store

_sources = [
    click.option(
        "--passphrase-stdin", is_flag=True, help="Read the passphrase from stdin (one line)."
    ),
    click.option(
        "--passphrase-env",
        metavar="VAR",
        help="Read the passphrase from this environment variable.",
    ),
]


def _with_sources(fn: Any) -> Any:
    for opt in reversed(_sources):
        fn = opt(fn)
    return fn


def _passphrase(from_stdin: bool, env: str | None, *, twice: bool) -> str:
    if env is not None:
        if env not in os.environ:
            raise click.UsageError(f"--passphrase-env {env}: that environment variable is not set")
        return os.environ[env]
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = click.prompt(
        "bundle passphrase", hide_input=True, confirmation_prompt=twice, err=True
    )
    return value


def _plain_errors(fn: Any) -> Any:
    """Bundle errors carry their own advice: print them without the generic hint."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (BundleError, BundleConflictError, BundleFileExistsError) as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


@click.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
@json_option
@click.pass_context
@errors
@_plain_errors
def export(
    ctx: click.Context, path: str, force: bool, passphrase_stdin: bool, passphrase_env: str | None
) -> None:
    """Write every credential and model to an encrypted bundle FILE (mode 0600)."""
    s = store(ctx)
    if os.path.exists(path) and not force:  # before asking for a passphrase
        raise BundleFileExistsError(path)
    secret = _passphrase(passphrase_stdin, passphrase_env, twice=True)
    report = export_bundle(s, path, secret, force=force)
    data = {
        "path": report.path,
        "credentials": report.credentials,
        "models": report.models,
        "attachments": report.attachments,
    }
    emit(
        ctx,
        data,
        f"exported {len(report.credentials)} credential(s), {len(report.models)} model(s) to "
        f"{report.path}; keep the passphrase apart from the file",
    )


export = _with_sources(export)


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--on-conflict",
    type=click.Choice(["fail", "skip", "replace"]),
    default="fail",
    show_default=True,
    help="A name the store already has: stop (nothing imported), keep the store's, or replace.",
)
@json_option
@click.pass_context
@errors
@_plain_errors
def import_(
    ctx: click.Context,
    path: str,
    on_conflict: str,
    passphrase_stdin: bool,
    passphrase_env: str | None,
) -> None:
    """Add the credentials and models of an encrypted bundle FILE to the store."""
    s = store(ctx)
    secret = _passphrase(passphrase_stdin, passphrase_env, twice=False)
    report = import_bundle(s, path, secret, on_conflict=on_conflict)  # type: ignore[arg-type]
    data = {
        "created": report.created,
        "replaced": report.replaced,
        "skipped": report.skipped,
        "models": report.models,
        "attachments": report.attachments,
    }
    emit(
        ctx,
        data,
        f"imported: {len(report.created)} created, {len(report.replaced)} replaced, "
        f"{len(report.skipped)} skipped, {len(report.models)} model(s)",
    )


import_ = _with_sources(import_)
