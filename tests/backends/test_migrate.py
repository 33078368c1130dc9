"""Migrating an embedded store into PostgreSQL keeps everything a user sees."""

from __future__ import annotations

import psycopg
import pytest

import agentrun_creds_plugin as acp
from agentrun_creds_plugin.migrate import migrate_store


@pytest.mark.filterwarnings("ignore:.*Basic auth only")
def test_migrate_sqlite_to_postgres(
    store_url: str, pg_url: str, master_key: str, canary: str
) -> None:
    src = acp.CredentialStore.open(store_url, master_key=master_key)
    src.create("k", acp.ToolApiKeyCredential(api_key=canary + "1"), description="tool key")
    src.update("k", acp.ToolApiKeyCredential(api_key=canary + "2"))
    src.create("b", acp.BasicAuthCredential(username="u", password=canary + "pw"))
    src.disable("b")
    src.attach("k", "tool", "search")
    src.create_model("gpt", credential="k", model="gpt-4o-mini", temperature=0.2)
    src.resolve("k", resource="tool:search")
    before = src.audit(limit=1000)

    report = migrate_store(src, pg_url)
    assert report.ok and sorted(report.copied) == ["b", "k"]
    assert sorted(report.verified) == ["b", "k"]
    assert report.models == 1 and report.audit_events == len(before)
    assert canary not in repr(report)

    dst = acp.CredentialStore.open(pg_url, master_key=master_key)
    try:
        cred = dst.resolve("k")
        assert cred.api_key.get_secret_value() == canary + "2"  # type: ignore[attr-defined]
        info = dst.get("k")
        assert (info.version, info.description, info.enabled) == (2, "tool key", True)
        assert ("tool", "search") in dst.attachments("k")
        with pytest.raises(acp.CredentialDisabledError):
            dst.resolve("b")
        assert dst.get_model("gpt").model == "gpt-4o-mini"
        copied = [(e.action, e.name) for e in dst.audit(limit=1000) if e.at <= before[0].at]
        assert copied == [(e.action, e.name) for e in before]
    finally:
        dst.close()

    again = migrate_store(src, pg_url)  # a re-run changes nothing
    assert again.ok and again.copied == [] and sorted(again.skipped) == ["b", "k"]
    assert again.audit_events == 0
    src.close()
    with psycopg.connect(pg_url) as c:
        for table in ("credentials", "audit", "models", "attachments"):
            for row in c.execute(f'SELECT * FROM "{table}"'):
                text = " ".join(
                    bytes(v).decode("latin-1") if isinstance(v, bytes | memoryview) else str(v)
                    for v in row
                )
                assert canary not in text


@pytest.mark.filterwarnings("ignore:.*Basic auth only")
def test_cli_migrate_copies_and_verifies_without_printing_a_secret(
    store_url: str, pg_url: str, master_key: str, canary: str
) -> None:
    from click.testing import CliRunner

    from agentrun_creds_plugin.cli import cli

    with acp.CredentialStore.open(store_url, master_key=master_key) as src:
        src.create("k", acp.ToolApiKeyCredential(api_key=canary + "1"))
        src.attach("k", "tool", "search")
    env = {"AGENTRUN_CREDS_MASTER_KEYS": master_key}
    for args in (["migrate", "--to", pg_url], ["--json", "migrate", "--to", pg_url]):
        result = CliRunner().invoke(cli, ["--url", store_url, *args], obj={}, env=env)
        assert result.exit_code == 0, result.output
        assert canary not in result.output
    assert (
        "verified 1 credential(s)"
        in CliRunner()
        .invoke(cli, ["--url", store_url, "migrate", "--to", pg_url], obj={}, env=env)
        .output
    )
    with acp.CredentialStore.open(pg_url, master_key=master_key) as dst:
        assert dst.resolve("k").api_key.get_secret_value() == canary + "1"  # type: ignore[attr-defined]
        assert ("tool", "search") in dst.attachments("k")
