"""Async tests here run on asyncio (anyio's pytest plugin)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fn = getattr(item, "obj", None)
        if item.get_closest_marker("anyio") is None and fn is not None:
            import inspect

            if inspect.iscoroutinefunction(fn):
                item.add_marker(pytest.mark.anyio)
