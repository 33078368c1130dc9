"""Run the real ``agentrun-creds`` group in-process against a real SQLite store."""

from __future__ import annotations

from click.testing import CliRunner

from agentrun_creds_plugin.cli import cli


def run(
    url: str, *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--url", url, *args], input=input, obj={}, env=env)
    return result.exit_code, result.output


def add_llm(url: str, key: str, name: str = "llm") -> None:
    """``add model_service NAME --provider openai`` with ``key`` on standard input."""
    code, out = run(
        url, "add", "model_service", name, "--provider", "openai", "--stdin", input=key + "\n"
    )
    assert code == 0, out
