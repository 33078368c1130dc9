"""The PostgreSQL backend runs the conformance suite, plus what only a shared server shows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentrun_creds_plugin.backends.postgres import PostgresBackend
from agentrun_creds_plugin.testing.conformance import BackendConformance


class TestPostgresConformance(BackendConformance):
    @pytest.fixture
    def backend(self, pg_url: str) -> Iterator[PostgresBackend]:
        b = PostgresBackend(pg_url)
        yield b
        b.close()

    @pytest.fixture
    def second(self, backend: PostgresBackend, pg_url: str) -> Iterator[PostgresBackend]:
        b = PostgresBackend(pg_url)
        yield b
        b.close()
