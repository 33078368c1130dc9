"""PostgreSQL fixtures: one server per test session, a fresh database per test."""

from __future__ import annotations

import sys
import uuid
import warnings
from collections.abc import Iterator

import pytest

from tests.support import postgres as pg


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[pg.PostgresCluster | None]:
    """The throwaway cluster (None when the tests use ``AGENTRUN_CREDS_TEST_POSTGRES_URL``)."""
    if pg.EXTERNAL_URL:
        yield None
        return
    cluster, reason = pg.start_cluster()
    if cluster is None:
        assert reason
        if pg.REQUIRED:
            pytest.fail(f"AGENTRUN_CREDS_REQUIRE_POSTGRES=1 but {reason}", pytrace=False)
        print(f"\n*** {reason} ***", file=sys.stderr)
        warnings.warn(reason, stacklevel=1)
        pytest.skip(reason)
    yield cluster
    cluster.destroy()


@pytest.fixture(scope="session")
def pg_server_url(pg_cluster: pg.PostgresCluster | None) -> str:
    """A URL of the server's maintenance database."""
    if pg_cluster is None:
        assert pg.EXTERNAL_URL
        return pg.EXTERNAL_URL
    return pg_cluster.url


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = pg_server_url.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(pg_server_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
