"""The test cluster helper says why when no PostgreSQL can be had."""

from __future__ import annotations

import pytest

from tests.support import postgres as pg


def test_no_initdb_gives_one_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg, "find_bin_dir", lambda: None)
    cluster, reason = pg.start_cluster()
    assert cluster is None and reason is not None
    assert "skipped" in reason and "initdb" in reason and "\n" not in reason
