"""The event loop of the long-running commands (sloguard/_eventloop.py)."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from sloguard import _eventloop
from sloguard._eventloop import resolve, run


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_auto_is_uvloop_when_installed_and_each_choice_runs_on_its_loop() -> None:
    assert importlib.util.find_spec("uvloop") is not None, "uvloop is a dependency (pyproject.toml)"
    assert resolve("auto") == "uvloop"
    assert run(_loop_module(), "auto").startswith("uvloop")
    assert run(_loop_module(), "uvloop").startswith("uvloop")
    assert run(_loop_module(), "asyncio").startswith("asyncio")


def test_without_uvloop_auto_falls_back_and_uvloop_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_eventloop.importlib.util, "find_spec", lambda name: None)
    assert resolve("auto") == "asyncio"
    with pytest.raises(ValueError, match="uvloop is not installed"):
        resolve("uvloop")


def test_an_unknown_choice_names_the_flag_and_the_choices() -> None:
    with pytest.raises(ValueError, match=r"invalid --event-loop 'libev': expected one of auto, asyncio, uvloop"):
        resolve("libev")
