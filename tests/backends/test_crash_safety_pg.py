"""The crash campaign of writers beside master-key rotations, on PostgreSQL.

Same campaign as tests/test_crash_safety.py (``rotation_campaign``): writer processes create and
update while another process rotates the master key, each SIGKILLed at random moments, many
times; afterwards every committed credential resolves with the keys the key file holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_crash_safety import rotation_campaign


@pytest.mark.slow
def test_writers_beside_master_key_rotations_lose_nothing_on_postgres(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTRUN_CREDS_KEY_FILE", "")
    summary = rotation_campaign(pg_url, tmp_path, None, kills=40)
    print(f"\ncrash safety, rotation beside writers (PostgreSQL): {summary}")
