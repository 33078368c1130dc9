"""Run the real ``agentrun-creds`` group in-process against a real SQLite store."""

from __future__ import annotations

from click.testing import CliRunner

from agentrun_creds_plugin.cli import cli


def run(
    url: str, *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--url", url, *args], input=input, obj={}, env=env)
    return result.exit_code, result.output
