"""The event loop the long-running commands (``sloguard serve``, ``sloguard demo``) run on.

``auto`` (the default) is uvloop when it is installed (a dependency on Linux and macOS),
else asyncio's own loop; ``asyncio`` and ``uvloop`` choose one. uvloop runs the same
asyncio code with the loop's callbacks, timers and sockets in C (libuv): the server spends
less CPU per request and per notification (bench/RESULTS.md, alerting). Everything else
sloguard runs (CLI commands, tests with a simulated clock) stays on asyncio's loop.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["EVENT_LOOPS", "resolve", "run"]

T = TypeVar("T")

EVENT_LOOPS = ("auto", "asyncio", "uvloop")


def resolve(choice: str) -> str:
    """The loop ``choice`` runs on (``asyncio`` or ``uvloop``); ``ValueError`` for an unknown
    choice, or for ``uvloop`` when it is not installed."""
    if choice not in EVENT_LOOPS:
        raise ValueError(f"invalid --event-loop {choice!r}: expected one of {', '.join(EVENT_LOOPS)}")
    available = importlib.util.find_spec("uvloop") is not None
    if choice == "uvloop" and not available:
        raise ValueError("--event-loop uvloop: uvloop is not installed (pip install uvloop, or use asyncio)")
    if choice == "auto":
        return "uvloop" if available else "asyncio"
    return choice


def run(main: Coroutine[Any, Any, T], choice: str = "auto") -> T:
    """``asyncio.run(main)`` on the loop ``choice`` resolves to."""
    if resolve(choice) == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(main)
    return asyncio.run(main)
