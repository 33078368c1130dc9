"""Headers in any shape a caller has them, looked up by case-insensitive name.

A verifier may be fed a ``dict`` (Flask, a test), a list of ``(name, value)`` pairs, or the ASGI
``scope["headers"]`` list of raw byte pairs. Values that cannot be read are refused with a 401
rather than an unexpected exception, whatever the input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import AuthenticationError

__all__ = ["Headers", "HeadersInput", "authorization", "normalise_headers"]

HeadersInput = Mapping[Any, Any] | Iterable[tuple[Any, Any]]

MAX_HEADER_BYTES = 16 * 1024


_UNREADABLE = (
    "headers could not be read; pass a mapping, a list of (name, value) pairs or ASGI raw headers"
)


class Headers:
    """Lower-cased names to the list of values sent under that name.

    ASGI raw headers (a list of byte pairs) are not indexed up front: a verifier looks up one
    or two names, so those are found by a scan and only they are decoded and checked. That
    keeps an API-key check within a few microseconds on a request with many headers.
    """

    __slots__ = ("_raw", "_values")

    def __init__(
        self, values: dict[str, list[str]], raw: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        self._values = values
        self._raw = raw

    def _scan(self, raw: list[tuple[bytes, bytes]], name: str) -> tuple[str | None, bool]:
        """The first raw value sent under ``name`` and whether another follows: one scan,
        no list built (this runs on every request)."""
        target = _target(name)
        found: bytes | None = None
        try:
            for key, value in raw:
                if key == target or (len(key) == len(target) and key.lower() == target):
                    if found is not None:
                        return _checked(name, found), True
                    found = value
            return (None if found is None else _checked(name, found)), False
        except AuthenticationError:
            raise
        except Exception:
            raise AuthenticationError(_UNREADABLE) from None

    @property
    def raw(self) -> list[tuple[bytes, bytes]] | None:
        """The ASGI raw headers as given (not yet checked), or ``None`` for other inputs."""
        return self._raw

    def get(self, name: str) -> str | None:
        """The value of ``name``; a header sent twice is refused (ambiguous credentials)."""
        raw = self._raw
        value: str | None
        if raw is None:
            values = self._values.get(name.lower())
            value, repeated = (values[0], len(values) > 1) if values else (None, False)
        else:
            value, repeated = self._scan(raw, name)
        if repeated:
            raise AuthenticationError(f"header {name} sent more than once; send it once")
        return value

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if self._raw is None:
            return bool(self._values.get(name.lower()))
        return self._scan(self._raw, name)[0] is not None


_TARGETS: dict[str, bytes] = {}


def _target(name: str) -> bytes:
    """``name`` as the lower-case bytes ASGI servers send (verifiers ask for a few names)."""
    target = _TARGETS.get(name)
    if target is None:
        target = name.lower().encode("latin-1", "replace")
        if len(_TARGETS) < 64:
            _TARGETS[name] = target
    return target


def _checked(name: str, value: bytes) -> str:
    """A found raw value as text. Only found pairs are type-checked: a name that is not
    bytes never equals the bytes asked for, and anything unreadable is a 401."""
    if type(value) is not bytes:
        raise TypeError("header values must be bytes")
    if len(value) > MAX_HEADER_BYTES:
        raise AuthenticationError(f"header {name!r} is longer than {MAX_HEADER_BYTES} bytes")
    return value.decode("latin-1")


def _text(item: Any) -> str:
    if isinstance(item, bytes | bytearray | memoryview):
        return bytes(item).decode("latin-1")
    if isinstance(item, str):
        return item
    raise TypeError("header names and values must be str or bytes")


def normalise_headers(headers: HeadersInput | Headers) -> Headers:
    """Read ``headers`` into :class:`Headers`; any malformed input is a 401."""
    if isinstance(headers, Headers):
        return headers
    if type(headers) is list and headers and type(headers[0]) is tuple:
        first = headers[0]
        if len(first) == 2 and type(first[0]) is bytes and type(first[1]) is bytes:
            return Headers({}, headers)  # ASGI raw headers: a found pair checked when scanned
    try:
        pairs: Iterable[tuple[Any, Any]] = (
            headers.items() if isinstance(headers, Mapping) else headers
        )
        values: dict[str, list[str]] = {}
        for pair in pairs:
            name, value = pair
            text = _text(value)
            if len(text) > MAX_HEADER_BYTES:
                raise AuthenticationError(
                    f"header {_text(name)[:64]!r} is longer than {MAX_HEADER_BYTES} bytes"
                )
            values.setdefault(_text(name).lower(), []).append(text)
    except AuthenticationError:
        raise
    except Exception:
        raise AuthenticationError(_UNREADABLE) from None
    return Headers(values)


def authorization(
    name: str, headers: Headers, scheme: str, shape: str, *, label: str | None = None
) -> str:
    """The credentials of ``Authorization: <scheme> <credentials>`` (scheme matched without
    regard to case), or a 401 saying what is wrong; ``shape`` is what the caller should send,
    e.g. ``<jwt>``."""
    value = headers.get("Authorization")
    if value is None:
        raise AuthenticationError(f"missing header Authorization ({label or scheme})", name=name)
    if value != value.strip():
        raise AuthenticationError(
            "white space around the value of header Authorization; remove it", name=name
        )
    given, _, credentials = value.partition(" ")
    if given.lower() != scheme.lower() or not credentials:
        raise AuthenticationError(f"expected 'Authorization: {scheme} {shape}'", name=name)
    return credentials
