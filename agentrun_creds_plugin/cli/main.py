"""The ``agentrun-creds`` group: global options, and the commands of the sibling modules."""

from __future__ import annotations

import click

from .audit import audit
from .bundle import export, import_
from .credentials import COMMANDS
from .demo import demo
from .import_env import import_env
from .keys import generate_key, rotate_master_key
from .migrate import migrate
from .models import models
from .output import json_option
from .run import run


@click.group()
@click.option("--url", envvar="AGENTRUN_CREDS_URL", help="Store URL (default: settings).")
@json_option
@click.pass_context
def cli(ctx: click.Context, url: str | None) -> None:
    """Manage the encrypted credential store (secrets never appear in output but `reveal`)."""
    ctx.ensure_object(dict)
    ctx.obj["url"] = url


for _cmd in [
    *COMMANDS,
    audit,
    models,
    generate_key,
    rotate_master_key,
    run,
    import_env,
    migrate,
    export,
    import_,
    demo,
]:
    cli.add_command(_cmd)


def main() -> None:
    """Entry point of ``agentrun-creds``."""
    cli(obj={})
