"""``import-env``: move keys that sit in environment variables or a ``.env`` file into the store.

Only well-known variables are picked up (their kind and provider are known); each becomes a
credential under a chosen name, and the command prints how to reference it instead of the value.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from ..kinds import credential_from_dict
from .output import emit, errors, json_option, store

#: default name, the variables read, and how they become a credential.
KNOWN: dict[str, tuple[str, tuple[str, ...]]] = {
    "OPENAI_API_KEY": ("openai", ("OPENAI_API_KEY",)),
    "ANTHROPIC_API_KEY": ("anthropic", ("ANTHROPIC_API_KEY",)),
    "AWS_ACCESS_KEY_ID": ("aws", ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")),
}


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of a ``.env`` file (``export`` and quotes allowed, # comments)."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def _credential(var: str, env: dict[str, str]) -> dict[str, Any]:
    if var == "OPENAI_API_KEY":
        return {"kind": "model_service", "provider": "openai", "api_key": env[var]}
    if var == "ANTHROPIC_API_KEY":
        return {"kind": "model_service", "provider": "anthropic", "api_key": env[var]}
    data: dict[str, Any] = {
        "kind": "cloud_ak_sk",
        "provider": "aws",
        "access_key_id": env["AWS_ACCESS_KEY_ID"],
        "access_key_secret": env["AWS_SECRET_ACCESS_KEY"],
    }
    if env.get("AWS_SESSION_TOKEN"):
        data["security_token"] = env["AWS_SESSION_TOKEN"]
    if env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"):
        data["region"] = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    return data


@click.command("import-env")
@click.option("--file", "dotenv", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--name", "names", multiple=True, metavar="VAR=NAME", help="e.g. OPENAI_API_KEY=llm")
@json_option
@click.pass_context
@errors
def import_env(ctx: click.Context, dotenv: Path | None, names: tuple[str, ...]) -> None:
    """Store OPENAI_API_KEY, ANTHROPIC_API_KEY, AWS_ACCESS_KEY_ID/SECRET as credentials."""
    if dotenv is not None and not dotenv.is_file():
        raise click.ClickException(f"{dotenv}: no such file; pass the path of your .env file")
    env = read_dotenv(dotenv) if dotenv else dict(os.environ)
    chosen = dict(KNOWN)
    for item in names:
        var, sep, name = item.partition("=")
        if not sep or var not in KNOWN:
            raise click.UsageError(f"--name takes VAR=NAME with VAR one of {', '.join(KNOWN)}")
        chosen[var] = (name, KNOWN[var][1])
    s = store(ctx)
    done = []
    for var, (name, needed) in chosen.items():
        if not all(env.get(v) for v in needed):
            continue
        info = s.create(name, credential_from_dict(_credential(var, env)))
        done.append(
            {
                "variables": list(needed),
                "name": info.name,
                "kind": info.kind,
                "preview": info.preview,
                "run": f"agentrun-creds run --env {var}={name} -- COMMAND",
                "python": f'store.resolve("{name}")',
            }
        )
    if not done:
        raise click.ClickException(
            "none of " + ", ".join(KNOWN) + " is set; export one or pass --file .env"
        )

    def human(c: Any) -> None:
        for d in done:
            c.print(
                f"imported {', '.join(d['variables'])} as {d['name']} ({d['kind']}) {d['preview']}"
            )
            c.print(f"  use: {d['run']}   or in Python: {d['python']}")
        c.print("now remove the values from your environment / .env file")

    emit(ctx, done, human)
