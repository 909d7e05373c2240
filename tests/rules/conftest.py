from __future__ import annotations

import pytest

from sloguard.promql.engine import PromQLEngine
from sloguard.rules import ManagerOptions, engine_query_func
from sloguard.tsdb.testing import MemoryStorage


@pytest.fixture
def storage() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def opts(storage: MemoryStorage) -> ManagerOptions:
    return ManagerOptions(query=engine_query_func(PromQLEngine(storage)), storage=storage)
