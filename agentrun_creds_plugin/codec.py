"""The plaintext of a stored record: what is encrypted, and how it is read back fast.

Layout: the credential's public fields as compact JSON, then each secret value after a NUL
byte. Every secret field refuses control characters, so a NUL cannot occur inside one, and the
public part never holds a secret. The public part of each distinct record content is parsed
and validated in full once and kept as a secret-free template, so a ``resolve`` only splits
bytes, wraps the secrets in ``SecretStr`` and fills a new instance (``_compat``): that is
what keeps a resolve in the microseconds.

Nor does the first read of a shape run pydantic's validators: the record was validated when it
was written and its bytes are authenticated by AES-GCM (a changed byte does not decrypt), so
its JSON is turned into field values directly (``SecretStr`` for secrets, ``datetime`` for
timestamps). That spares a cold start building the kind's pydantic schema (milliseconds, plus
pydantic's scan of every installed package for plugins). A record whose fields are not exactly
the kind's (written by another version) is validated in full, and ``check`` always validates.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from ._compat import construct_validated
from .errors import InvalidCredentialError
from .kinds import KINDS, CredentialBase, CustomHeadersCredential

__all__ = ["credential_from_plaintext", "credential_to_plaintext"]

_SEP = b"\x00"
_TEMPLATE_LIMIT = 65536


class _Template:
    """The secret-free part of a stored credential, parsed and validated once.

    Keyed by the public JSON bytes themselves (no secret in the key or the value).
    """

    __slots__ = ("base", "cls", "fields", "fields_set", "headers", "maps", "mutable")

    def __init__(
        self,
        cred: CredentialBase,
        fields: list[str],
        headers: list[str] | None,
        maps: dict[str, list[str]],
    ) -> None:
        self.cls = type(cred)
        self.fields = fields
        self.headers = headers
        self.maps = maps
        hidden = {*fields, *maps, "headers"}
        # secrets keep their place as None, filled in on each read, so every instance has
        # its fields in declaration order (repr and JSON dumps read that order)
        base = {k: None if k in hidden else v for k, v in cred.__dict__.items()}
        self.fields_set = frozenset(cred.model_fields_set)
        self.mutable = any(isinstance(v, dict | list) for v in base.values())
        # a copy: the first instance's lists and dicts are the caller's to change
        self.base = copy.deepcopy(base) if self.mutable else base


_TEMPLATES: dict[bytes, _Template] = {}


def credential_to_plaintext(credential: CredentialBase) -> bytes:
    """Serialise with secrets revealed: only ever fed straight into encryption."""
    cls = type(credential)
    exclude = set(cls.secret_fields) | set(cls.secret_maps)
    if isinstance(credential, CustomHeadersCredential):
        exclude.add("headers")
    public = credential.model_dump(mode="json", exclude=exclude)
    if isinstance(credential, CustomHeadersCredential):
        public["$headers"] = list(credential.headers)
        secrets = [v.get_secret_value() for v in credential.headers.values()]
    else:
        present = [f for f in cls.secret_fields if getattr(credential, f) is not None]
        public["$secrets"] = present
        secrets = [getattr(credential, f).get_secret_value() for f in present]
        maps = {
            f: getattr(credential, f) for f in sorted(cls.secret_maps) if getattr(credential, f)
        }
        if maps:  # only then: records of kinds without secret maps keep their exact bytes
            public["$maps"] = {f: list(m) for f, m in maps.items()}
            secrets += [v.get_secret_value() for m in maps.values() for v in m.values()]
    head = json.dumps(public, separators=(",", ":"), sort_keys=True).encode()
    return head + b"".join(_SEP + s.encode() for s in secrets)


def credential_from_plaintext(
    kind: str, payload: bytes, *, validate: bool = False
) -> CredentialBase:
    """Rebuild a kind from decrypted bytes; ``validate`` runs pydantic's validators too."""
    parts = payload.split(_SEP)
    tpl = None if validate else _TEMPLATES.get(parts[0])
    if tpl is None:
        return _first_load(kind, parts, validate)
    data = copy.deepcopy(tpl.base) if tpl.mutable else dict(tpl.base)
    if tpl.headers is not None:
        data["headers"] = {
            h: SecretStr(p.decode()) for h, p in zip(tpl.headers, parts[1:], strict=True)
        }
    else:
        values = iter(parts[1:])
        for f in tpl.fields:
            data[f] = SecretStr(next(values).decode())
        for f, names in tpl.maps.items():
            data[f] = {n: SecretStr(next(values).decode()) for n in names}
    return construct_validated(tpl.cls, data, tpl.fields_set)


def _first_load(kind: str, parts: list[bytes], validate: bool) -> CredentialBase:
    cls = KINDS.get(kind)
    if cls is None:
        raise InvalidCredentialError(f"stored credential has an unknown kind {kind!r}")
    try:
        public = json.loads(parts[0])
        headers = public.pop("$headers", None)
        fields = public.pop("$secrets", [])
        maps: dict[str, list[str]] = public.pop("$maps", {})
        values = [p.decode() for p in parts[1:]]
        if headers is not None:
            public["headers"] = dict(zip(headers, values, strict=True))
        else:
            n_map = sum(len(names) for names in maps.values())
            if len(values) != len(fields) + n_map:
                raise ValueError("secret count")
            public.update(zip(fields, values, strict=False))
            rest = iter(values[len(fields) :])
            for f, names in maps.items():
                public[f] = {n: next(rest) for n in names}
    except (ValueError, TypeError, AttributeError):
        raise InvalidCredentialError(f"stored {kind} credential is malformed") from None
    cred = None if validate else _trusted(cls, public)
    if cred is None:
        cred = cls(**public)
    if len(_TEMPLATES) >= _TEMPLATE_LIMIT:
        _TEMPLATES.clear()
    _TEMPLATES[parts[0]] = _Template(cred, list(fields), headers, maps)
    return cred


def _trusted(cls: type[CredentialBase], public: dict[str, Any]) -> CredentialBase | None:
    """The instance pydantic would build from ``public``, without validating; None to validate.

    Only for a record holding exactly the kind's fields: then every value is the JSON form of
    a validated value, and only secrets and timestamps need turning back into objects.
    ``tests/test_import_light.py`` checks, kind by kind, that the result equals validation's.
    """
    fields = cls.model_fields
    if public.keys() != fields.keys():
        return None
    data = {name: public[name] for name in fields}  # declaration order, as validation gives
    try:
        secret = (*cls.secret_fields, *cls.secret_maps)
        if cls is CustomHeadersCredential:
            secret += ("headers",)
        for name in secret:
            value = data.get(name)
            if isinstance(value, str):
                data[name] = SecretStr(value)
            elif isinstance(value, dict):
                data[name] = {k: SecretStr(v) for k, v in value.items()}
        for name in _datetime_fields(cls):
            if data[name] is not None:
                data[name] = datetime.fromisoformat(data[name]).astimezone(UTC)
    except (TypeError, ValueError):
        return None
    return construct_validated(cls, data, frozenset(public))


_DATETIMES: dict[type[CredentialBase], tuple[str, ...]] = {}


def _datetime_fields(cls: type[CredentialBase]) -> tuple[str, ...]:
    found = _DATETIMES.get(cls)
    if found is None:
        found = tuple(
            n for n, f in cls.model_fields.items() if f.annotation in (datetime, datetime | None)
        )
        _DATETIMES[cls] = found
    return found
