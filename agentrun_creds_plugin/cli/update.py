"""``update NAME``: change a credential's fields with the same named options as ``add``.

The kind is the stored credential's, known only once the store is open, so ``update`` declares
the options of every kind and refuses one that is not a field of this credential's kind. Fields
not given keep their current values. Secrets are read again (hidden prompt, ``--stdin`` or
``--from-env``), since rotating a key is what ``update`` is mostly for; ``--keep-secrets``
changes only the non-secret fields.
"""

from __future__ import annotations

import json
import typing
from typing import Any

import click

from ..errors import CredentialNotFoundError
from ..kinds import KINDS, credential_from_dict
from . import fields as F
from .output import emit, errors, json_option, row, store

_SECRETS = {k: {n for n, _ in F.secret_fields(k)} for k in KINDS}


def _field_kinds() -> dict[str, list[str]]:
    """Non-secret field name -> the kinds that have it (``kind`` itself left out)."""
    found: dict[str, list[str]] = {}
    for kind, model in KINDS.items():
        for name in model.model_fields:
            if name != "kind" and name not in _SECRETS[kind]:
                found.setdefault(name, []).append(kind)
    return found


FIELD_KINDS = _field_kinds()
#: ``custom_headers``: the header names whose values are secrets.
_KEY_OPTIONS = {
    f"{f}_names": kind for kind in KINDS for f in _SECRETS[kind] if F._is_mapping_secret(kind, f)
}


def _options() -> list[click.Option]:
    opts = [
        click.Option(
            ["--" + name.replace("_", "-"), name],
            multiple=True,
            default=(),
            help=f"{name} ({'every kind' if len(kinds) == len(KINDS) else ', '.join(kinds)})",
        )
        for name, kinds in sorted(FIELD_KINDS.items())
    ]
    for opt_name, kind in _KEY_OPTIONS.items():
        field = opt_name.removesuffix("_names")
        opts.append(
            click.Option(
                [f"--{field.replace('_', '-')}-name", opt_name],
                multiple=True,
                default=(),
                help=f"a key of {field} ({kind}); its value is prompted for (repeat)",
            )
        )
    return opts


def _flags(kind: str) -> str:
    names = [n for n, kinds in FIELD_KINDS.items() if kind in kinds]
    names += [o.removesuffix("_names") + "_name" for o, k in _KEY_OPTIONS.items() if k == kind]
    return ", ".join("--" + n.replace("_", "-") for n in sorted(names)) or "none"


def _set_items(kind: str, items: tuple[str, ...]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.UsageError(f"--set takes FIELD=VALUE, got {key!r}")
        if key in _SECRETS[kind]:
            raise click.UsageError(
                f"{key} is secret: do not pass it on the command line; it is prompted for "
                "(or read with --stdin / --from-env VAR)"
            )
        data[key] = json.loads(value) if value[:1] in "[{" else value
    return data


def _singles(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The given field options of ``kind``: one value each, except for list fields."""
    model = KINDS[kind]
    out: dict[str, Any] = {}
    for k, v in params.items():
        if not v or k not in model.model_fields:
            continue
        tp = F._strip_none(model.model_fields[k].annotation)
        if typing.get_origin(tp) is list:
            out[k] = tuple(v)
        elif len(v) > 1:
            raise click.UsageError(f"--{k.replace('_', '-')}: give it once")
        else:
            out[k] = v[0]
    return out


@click.pass_context
@errors
def _update(
    ctx: click.Context,
    /,
    name: str,
    sets: tuple[str, ...],
    clear: tuple[str, ...],
    description: str | None,
    keep_secrets: bool,
    expected_version: int | None,
    from_stdin: bool,
    from_env: tuple[str, ...],
    **params: Any,
) -> None:
    s = store(ctx)
    rec = s.backend.get(name)
    if rec is None:  # before any prompt
        raise CredentialNotFoundError(name)
    kind = rec.kind
    given = {k for k, v in params.items() if v}
    foreign = sorted(
        k
        for k in given
        if (k in _KEY_OPTIONS and _KEY_OPTIONS[k] != kind)
        or (k in FIELD_KINDS and kind not in FIELD_KINDS[k])
    )
    if foreign:
        shown = ", ".join("--" + k.replace("_", "-") for k in foreign)
        raise click.UsageError(
            f"{shown}: not a field of {name} ({kind}); its options: {_flags(kind)}"
        )
    current = s._load(rec)
    data = {
        k: v for k, v in current.model_dump().items() if k != "kind" and k not in _SECRETS[kind]
    }
    for field in clear:
        if field not in data:
            raise click.UsageError(f"--clear {field}: not a non-secret field of {kind}")
        data.pop(field)
    data = {k: v for k, v in data.items() if v is not None}
    data.update(F.non_secret_values(kind, _singles(kind, params)))
    data.update(_set_items(kind, sets))
    mapping = [f for f in _SECRETS[kind] if F._is_mapping_secret(kind, f)]
    keys = [k for f in mapping for k in params.get(f"{f}_names", ())]
    if mapping and not keys:
        keys = [k for f in mapping for k in (getattr(current, f) or {})]
    F.validate_before_prompt(kind, name, data, keys)
    if keep_secrets:
        if params.get(f"{mapping[0]}_names") if mapping else False:
            raise click.UsageError("--keep-secrets keeps the header values: drop --headers-name")
        data.update({f: getattr(current, f) for f in _SECRETS[kind]})
        data = {k: v for k, v in data.items() if v is not None}
    else:
        data.update(F.read_secrets(kind, from_stdin, from_env, keys))
    info = s.update(
        name,
        credential_from_dict(dict(data, kind=kind)),
        description=description,
        expected_version=expected_version,
    )
    emit(ctx, info, f"updated {row(info)}")


def _command() -> click.Command:
    params: list[click.Parameter] = [click.Argument(["name"]), *_options()]
    params += [
        click.Option(["--set", "sets"], multiple=True, help="A non-secret field, FIELD=VALUE."),
        click.Option(
            ["--clear"], multiple=True, metavar="FIELD", help="Reset a field to its default."
        ),
        click.Option(["--description"], default=None, help="A new description."),
        click.Option(
            ["--keep-secrets"], is_flag=True, help="Keep the secret values; change fields only."
        ),
        click.Option(["--expected-version"], type=int, default=None, help="Compare-and-swap."),
        *F.secret_source_options(),
    ]
    cmd = click.Command(
        "update",
        callback=_update,
        params=params,
        help=(
            "Change a credential (same kind): the options of `add KIND` for its fields, the "
            "others keep their values; secrets are asked for again unless --keep-secrets."
        ),
    )
    return json_option(cmd)


update = _command()
