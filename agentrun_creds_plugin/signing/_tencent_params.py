"""The query string Tencent Cloud's official SDK builds from GET parameters, byte for byte.

A caller that builds its URL with :func:`encode_params` signs exactly what the SDK's
``CommonClient`` would send.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._request import form_urlencode

__all__ = ["encode_params"]


def encode_params(params: Mapping[str, object] | None) -> str:
    """The query string the official SDK sends for these GET parameters, byte for byte.

    ``urlencode`` of the parameters after the SDK's flattening of nested values
    (``{"Filters": [{"Name": "zone"}]}`` -> ``Filters.0.Name=zone``), so a caller that
    builds the URL with it signs exactly what ``CommonClient`` would: ``f"https://{host}/?"
    + encode_params(params)``. Flat ``str``/``int`` parameters, the usual case, skip the
    flattening (and :func:`~._request.form_urlencode` skips ``quote_plus`` for plain
    ones).
    """
    if params is None:
        return ""
    if not isinstance(params, dict):
        return form_urlencode(params)  # the SDK sends a non-dict as it is
    for name, value in params.items():
        if type(name) is not str or (type(value) is not str and type(value) is not int):
            flat: dict[str, object] = {}
            _flatten(None, params, flat)
            return form_urlencode(flat)
    return form_urlencode(params)


def _flatten(prefix: str | None, value: object, out: dict[str, object]) -> None:
    # The SDK's AbstractClient._format_params (its "{0}.{1}".format is this f-string),
    # writing into one dict: the same keys in the same first-seen order with the same
    # last-written values as its dict.update of each nested result.
    if value is None:
        return  # the SDK drops a None at any depth
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _flatten(f"{prefix}.{index}" if prefix else f"{index}", item, out)
    elif isinstance(value, dict):
        for name, item in value.items():
            _flatten(f"{prefix}.{name}" if prefix else f"{name}", item, out)
    else:
        out[prefix] = value  # type: ignore[index]
