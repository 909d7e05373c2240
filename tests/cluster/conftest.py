"""Async tests here run on asyncio (anyio's pytest plugin)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("anyio") is None and getattr(item, "obj", None) is not None:
            import inspect

            if inspect.iscoroutinefunction(item.obj):
                item.add_marker(pytest.mark.anyio)
