"""``audit [NAME]``: who used or changed which credential, newest first."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from .output import audit_table, emit, errors, json_option, store


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "use an ISO date or time, e.g. 2026-01-31 or 2026-01-31T12:00"
        ) from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@click.command()
@click.argument("name", required=False)
@click.option("--limit", default=50, show_default=True)
@click.option("--since", default=None, help="ISO date/time (UTC unless a zone is given).")
@click.option("--action", default=None, help="created, updated, used, use_failed, attached, ...")
@click.option("--resource", default=None, help="e.g. model:gpt or tool:get_weather")
@json_option
@click.pass_context
@errors
def audit(
    ctx: click.Context,
    name: str | None,
    limit: int,
    since: str | None,
    action: str | None,
    resource: str | None,
) -> None:
    """Show audit events, newest first."""
    events = store(ctx).audit(
        name, limit=limit, since=_since(since), action=action, resource=resource
    )
    emit(ctx, events, lambda c: c.print(audit_table(events)))
