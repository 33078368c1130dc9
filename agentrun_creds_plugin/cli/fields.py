"""Command-line options derived from the kinds' pydantic models.

Each kind's non-secret fields become options of ``add KIND`` (``--provider``, ``--header-name``,
``--jwks-url``...), its secret fields (every field typed ``SecretStr``, or a mapping of them) are
read from a hidden prompt, standard input or an environment variable, never from argv. Deriving
both lists from the models means a new field of a kind reaches the command without an edit here.
"""

from __future__ import annotations

import json
import os
import sys
import types
import typing
from typing import Any, Literal

import click
from pydantic import SecretStr

from ..errors import InvalidCredentialError
from ..kinds import KINDS, CredentialBase, check_name, credential_from_dict

#: Fields every kind has that the command handles itself or leaves out.
_SKIP = {"kind"}
_PLACEHOLDER = "placeholder-secret-0123456789"


def _args(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp)


def _holds_secret(tp: Any) -> bool:
    if tp is SecretStr:
        return True
    return any(_holds_secret(a) for a in _args(tp))


def secret_fields(kind: str) -> list[tuple[str, bool]]:
    """``(field, required)`` for every secret field of ``kind``, from its model."""
    model = KINDS[kind]
    return [
        (n, f.is_required())
        for n, f in model.model_fields.items()
        if n not in _SKIP and _holds_secret(f.annotation)
    ]


def _is_mapping_secret(kind: str, field: str) -> bool:
    ann = _strip_none(KINDS[kind].model_fields[field].annotation)
    return typing.get_origin(ann) is dict


def _strip_none(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in _args(tp) if a is not type(None)]
        return rest[0] if len(rest) == 1 else tp
    return tp


def _option(name: str, annotation: Any, required: bool, default: Any) -> click.Option:
    tp = _strip_none(annotation)
    flag = "--" + name.replace("_", "-")
    kwargs: dict[str, Any] = {"required": required, "default": None}
    origin = typing.get_origin(tp)
    help_default = "" if default is None or required else f" (default: {default!r})"
    if origin is Literal:
        kwargs["type"] = click.Choice([str(a) for a in _args(tp)])
    elif tp is int:
        kwargs["type"] = int
    elif origin is list or (origin in (typing.Union, types.UnionType)):
        kwargs["multiple"] = True
        kwargs["default"] = ()
        help_default += " (repeat for several)"
    elif origin is dict:
        help_default += " (JSON)"
    kwargs["help"] = f"{name}{help_default}"
    return click.Option([flag, name], **kwargs)


def field_options(kind: str) -> list[click.Option]:
    """Click options for every non-secret field of ``kind``."""
    model = KINDS[kind]
    secrets = {n for n, _ in secret_fields(kind)}
    opts = []
    for n, f in model.model_fields.items():
        if n in _SKIP or n in secrets:
            continue
        opts.append(_option(n, f.annotation, f.is_required(), f.default))
    for n, required in secret_fields(kind):
        if _is_mapping_secret(kind, n):
            opts.append(
                click.Option(
                    [f"--{n.replace('_', '-')}-name", f"{n}_names"],
                    multiple=True,
                    required=required,
                    help=f"a key of {n}; its value is prompted for (repeat for several)",
                )
            )
    return opts


def non_secret_values(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The given non-secret option values as model input (unset options left out)."""
    model = KINDS[kind]
    out: dict[str, Any] = {}
    for n, f in model.model_fields.items():
        if n not in params or params[n] in (None, ()):
            continue
        value = params[n]
        tp = _strip_none(f.annotation)
        if typing.get_origin(tp) is dict:
            try:
                value = json.loads(value)
            except ValueError:
                raise InvalidCredentialError(f"{n}: not valid JSON; pass a JSON object") from None
        elif isinstance(value, tuple):
            value = list(value) if typing.get_origin(tp) is list or len(value) > 1 else value[0]
        out[n] = value
    return out


def validate_before_prompt(kind: str, name: str, data: dict[str, Any], keys: list[str]) -> None:
    """Raise (422) on a bad name or non-secret field, before any secret is asked for.

    The model is built with placeholder secrets and only errors about non-secret fields count.
    """
    check_name(name)
    trial = dict(data, kind=kind)
    for field, required in secret_fields(kind):
        if _is_mapping_secret(kind, field):
            if keys or required:
                trial[field] = {k: _PLACEHOLDER for k in keys}
        elif required:
            trial[field] = _PLACEHOLDER
    try:
        credential_from_dict(trial)
    except InvalidCredentialError as exc:
        secrets = tuple(f for f, _ in secret_fields(kind))
        bad = [m for m in exc.errors if not m.startswith(secrets)]
        if bad:
            raise InvalidCredentialError(
                f"invalid {KINDS[kind].__name__}: " + "; ".join(bad)
            ) from None


def secret_source_options() -> list[click.Option]:
    """Where secret values may come from besides the hidden prompt (never an argument)."""
    return [
        click.Option(["--stdin", "from_stdin"], is_flag=True, help="Read secrets from stdin."),
        click.Option(
            ["--from-env", "from_env"],
            multiple=True,
            metavar="[FIELD=]VAR",
            help="Read a secret from an environment variable.",
        ),
    ]


def _env(var: str) -> str:
    if var not in os.environ:
        raise click.UsageError(f"--from-env {var}: that environment variable is not set")
    return os.environ[var]


def read_secrets(
    kind: str, from_stdin: bool, from_env: tuple[str, ...], keys: list[str]
) -> dict[str, Any]:
    """Read every secret field of ``kind`` from env, stdin or a hidden prompt."""
    env_map: dict[str, str] = {}
    plain_env = []
    for item in from_env:
        field, sep, var = item.partition("=")
        if sep:
            env_map[field] = var
        else:
            plain_env.append(item)
    out: dict[str, Any] = {}
    for field, required in secret_fields(kind):
        if _is_mapping_secret(kind, field):
            if keys or required:
                out[field] = {
                    k: _one(f"{field}[{k}]", True, from_stdin, env_map.get(k)) for k in keys
                }
            continue
        source = env_map.get(field) or (plain_env.pop(0) if plain_env and required else None)
        value = _one(field, required, from_stdin, source)
        if value is not None:
            out[field] = value
    return out


def _one(label: str, required: bool, from_stdin: bool, var: str | None) -> str | None:
    if var is not None:
        return _env(var)
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        return line if line or required else None
    value: str = click.prompt(
        label if required else f"{label} (optional, Enter to skip)",
        hide_input=True,
        default="" if not required else None,
        show_default=False,
    )
    return value if value or required else None


def kind_of(credential: CredentialBase) -> str:
    return str(getattr(credential, "kind"))  # noqa: B009
