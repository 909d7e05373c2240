"""Suite-wide settings.

Under CI (``CI=true``) Hypothesis runs derandomized: the same examples every run, so a
landing is never decided by a lucky draw; locally it explores new examples each run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests.state._pg import PgCluster, unavailable_reason

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One temporary PostgreSQL cluster (initdb/pg_ctl on a loopback port) for the whole
    session; tests take a fresh database each with ``empty_database()``."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    cluster = PgCluster()
    try:
        yield cluster
    finally:
        cluster.destroy()
