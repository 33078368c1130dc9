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


class Headers:
    """Lower-cased names to the list of values sent under that name."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, list[str]]) -> None:
        self._values = values

    def get(self, name: str) -> str | None:
        """The value of ``name``; a header sent twice is refused (ambiguous credentials)."""
        values = self._values.get(name.lower())
        if not values:
            return None
        if len(values) > 1:
            raise AuthenticationError(f"header {name} sent more than once; send it once")
        return values[0]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values


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
        raise AuthenticationError(
            "headers could not be read; pass a mapping, a list of (name, value) pairs or "
            "ASGI raw headers"
        ) from None
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
