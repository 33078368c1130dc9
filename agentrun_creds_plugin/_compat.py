"""The one place the core reaches into pydantic's internals.

Rebuilding a credential on every ``resolve`` through ``model_validate`` costs tens of
microseconds; the record codec instead fills a new instance the way ``model_construct`` does,
from a template that was validated in full once. That relies on pydantic v2 keeping a model
instance's state in four attributes. ``tests/test_compat.py`` checks that an instance built
here is indistinguishable from a validated one, so a pydantic release that changes this fails
the tests instead of producing half-built credentials.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["PYDANTIC_STATE", "construct_validated"]

M = TypeVar("M", bound=BaseModel)

#: The instance attributes a pydantic v2 model keeps its state in.
PYDANTIC_STATE = (
    "__dict__",
    "__pydantic_fields_set__",
    "__pydantic_extra__",
    "__pydantic_private__",
)

_set = object.__setattr__


def construct_validated(cls: type[M], values: dict[str, Any], fields_set: frozenset[str]) -> M:
    """An instance of ``cls`` holding ``values``, which the caller has already validated.

    What ``model_construct`` does minus its generic work (defaults, aliases, extra handling):
    the caller passes every field, from a template validated by pydantic itself.
    """
    obj = cls.__new__(cls)
    _set(obj, "__dict__", values)
    _set(obj, "__pydantic_fields_set__", set(fields_set))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj
