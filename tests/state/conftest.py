"""Fixtures: every state test runs on SQLite and on a real PostgreSQL (the session's one
cluster, ``pg_cluster`` in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.state._pg import PgCluster


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to a new, empty state database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.empty_database()


class FakeClock:
    """A settable clock (UTC epoch ms) for silences and the notification log."""

    def __init__(self, now: int = 1_700_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
