"""Suite-wide settings.

Under CI (``CI=true``) Hypothesis runs derandomized: the same examples every run, so a
landing is never decided by a lucky draw; locally it explores new examples each run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

from tests.state._pg import PgCluster, unavailable_reason

#: Shared fixtures kept in their own modules (``decodes``: block frame decodes counted).
pytest_plugins = ["tests._decodes"]

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


#: Files whose tests share one session fixture that is slow to start (the UI's world of
#: servers and data, the browser): under ``pytest -n N --dist loadgroup`` they run in one
#: worker, so it is started once.
_SHARED_GROUPS = {"tests/ui/": "ui"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group tests for pytest-xdist's ``loadgroup``: one group per file (its module
    fixtures start once), one for the files in ``_SHARED_GROUPS``."""
    for item in items:
        if any(m.name == "xdist_group" for m in item.iter_markers()):
            continue
        path = item.nodeid.split("::", 1)[0]
        group = next((g for prefix, g in _SHARED_GROUPS.items() if path.startswith(prefix)), path)
        item.add_marker(pytest.mark.xdist_group(group))


def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """Under ``--dist loadgroup``: stop when xdist did not tag a worker's node ids with their
    group (a pytest it does not support), since the groups would then split across the
    workers and every module fixture, the UI's world among them, start in each."""
    if node.config.getvalue("dist") == "loadgroup" and ids and "@" not in ids[0]:
        pytest.exit(f"pytest-xdist's loadgroup did not tag {ids[0]!r} with its group: this pytest "
                    f"({pytest.__version__}) and pytest-xdist do not work together (see the pin in pyproject.toml)",
                    returncode=4)
