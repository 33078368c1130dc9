"""``agentrun-creds demo``: the quick start, end to end, on loopback, in a few seconds.

It opens an embedded SQLite store in a temporary folder (with a master key made for the run),
starts a local OpenAI-compatible server that accepts only the current key, and runs the steps
of :mod:`.demo_story`, one line each: green ``ok`` or red ``FAIL`` on a terminal, plain text
when piped. The folder is removed and the server stopped whatever happens; the exit code is 1
when any step did not behave.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import time
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from ..crypto import generate_master_key
from ..errors import CredentialError
from ..store import CredentialStore
from .output import console, json_option, wants_json


@click.command("demo")
@json_option
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Run the quick start on a throwaway store and a loopback LLM server."""
    try:
        import langchain_openai  # noqa: F401
    except ImportError:
        raise click.ClickException(
            "the demo calls a LangChain chat model: pip install 'agentrun-creds-plugin[langchain]'"
        ) from None
    from ..testing.openai_server import OpenAICompatibleServer
    from .demo_story import Demo, StepFailed

    as_json = wants_json(ctx)
    out = console()
    if as_json:
        out = Console(file=io.StringIO())  # the lines go to the JSON document instead
    steps: list[dict[str, object]] = []
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="agentrun-creds-demo-"))
    failed = False
    try:
        url = f"sqlite:///{folder / 'credentials.db'}"
        with (
            CredentialStore.open(url, master_key=generate_master_key()) as store,
            OpenAICompatibleServer() as server,
        ):
            out.print(
                f"[bold]agentrun-creds demo[/bold]: store {escape(url)}, server {server.base_url}"
            )
            story = Demo(store, server)
            for n, step in enumerate(story.steps(), 1):
                try:
                    line = step()
                except (StepFailed, CredentialError, AssertionError) as exc:
                    out.print(f"[red]FAIL[/red] {n}. {step.__name__}: {escape(str(exc))}")
                    steps.append({"step": n, "ok": False, "line": f"{step.__name__}: {exc}"})
                    failed = True
                    break
                out.print(f"[green]ok[/green]   {n}. {escape(line)}")
                steps.append({"step": n, "ok": True, "line": line})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    gone = not folder.exists()
    elapsed = time.perf_counter() - started
    tail = "removed" if gone else "NOT removed"
    out.print(f"cleaned up: server stopped, {escape(str(folder))} {tail} ({elapsed:.1f} s)")
    if as_json:
        ok = not failed and gone
        doc = {"ok": ok, "steps": steps, "cleaned_up": gone, "seconds": round(elapsed, 2)}
        click.echo(json.dumps(doc, indent=2))
    if failed or not gone:
        raise click.ClickException("the demo did not behave as described; see the FAIL line")
