"""``generate-key`` and ``rotate-master-key`` (re-encrypts every record, with a progress bar)."""

from __future__ import annotations

import sys

import click
from rich.progress import Progress

from ..crypto import generate_master_key
from .output import console, emit, errors, json_option, store, wants_json


@click.command("generate-key")
@json_option
@click.pass_context
def generate_key(ctx: click.Context) -> None:
    """Print a new master key (for AGENTRUN_CREDS_MASTER_KEYS or a key file)."""
    key = generate_master_key()
    if wants_json(ctx):
        emit(ctx, {"key": key}, key)
    else:
        click.echo(key)


@click.command("rotate-master-key")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the new key from stdin.")
@json_option
@click.pass_context
@errors
def rotate_master_key(ctx: click.Context, from_stdin: bool) -> None:
    """Re-encrypt every secret under a new master key (safe to re-run)."""
    if from_stdin:
        new = sys.stdin.readline().strip()
    else:
        new = click.prompt("new master key", hide_input=True)
    s = store(ctx)
    if wants_json(ctx):
        count = s.rotate_master_key(new)
    else:
        with Progress(console=console(), transient=True) as bar:
            task = bar.add_task("re-encrypting", total=None)

            def step(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            count = s.rotate_master_key(new, progress=step)
    emit(ctx, {"re_encrypted": count}, f"re-encrypted {count} record(s)")
