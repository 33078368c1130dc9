"""HTML tables for notebooks (``_repr_html_``): the same masked fields the CLI shows.

Values are escaped, and only metadata reaches this module (names, kinds, masked previews,
audit rows), so a notebook output never holds a secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

__all__ = ["html_table"]


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (list, tuple)):
        return ", ".join(
            ":".join(str(p) for p in v) if isinstance(v, tuple) else str(v) for v in value
        )
    return str(value)


def html_table(columns: Sequence[str], rows: Iterable[Sequence[object]], title: str = "") -> str:
    """A small escaped HTML table."""
    import html  # only when a notebook renders one, not on every import of the store

    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    caption = f"<caption>{html.escape(title)}</caption>" if title else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
