"""``migrate --to URL``: copy the store into another one (an embedded store into PostgreSQL)."""

from __future__ import annotations

import click

from ..migrate import migrate_store
from .output import emit, errors, json_option, store


@click.command("migrate")
@click.option("--to", "target", required=True, help="URL of the target store (postgresql://...).")
@json_option
@click.pass_context
@errors
def migrate(ctx: click.Context, target: str) -> None:
    """Copy every credential, attachment, model and audit event, then verify each resolves."""
    report = migrate_store(store(ctx), target)
    data = {
        "target": report.target,
        "copied": report.copied,
        "skipped": report.skipped,
        "conflicts": report.conflicts,
        "attachments": report.attachments,
        "models": report.models,
        "audit_events": report.audit_events,
        "verified": report.verified,
        "mismatched": report.mismatched,
        "ok": report.ok,
    }
    human = (
        f"copied {len(report.copied)}, skipped {len(report.skipped)} already there, "
        f"{report.attachments} attachment(s), {report.models} model(s), "
        f"{report.audit_events} audit event(s); verified {len(report.verified)} credential(s)"
    )
    emit(ctx, data, human)
    if not report.ok:
        problems = ", ".join(report.conflicts + report.mismatched)
        raise click.ClickException(
            f"not migrated cleanly: {problems} differ in the target; "
            "inspect them with `agentrun-creds --url TARGET show NAME`"
        )
