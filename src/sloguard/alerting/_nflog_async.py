"""The notification log as the stages call it: awaitable, and batched in a server.

:class:`InlineNflog` runs each call on its own (through ``run_db``: inline under a manual
clock, or in a thread). :class:`BatchedNflog` collects the calls that concurrent flushes
make in one round of the event loop and runs them in one transaction (one commit for
hundreds of flushes instead of three each), in the order they were made. Each call still
returns only after its transaction committed, so a notification is logged as sent before
its flush ends, and a claim is settled before the flush sends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol, TypeVar, cast

from sloguard.state import NflogEntry, NflogReceiver, NotificationLog
from sloguard.state.nflog import (
    NflogClaim,
    NflogDecide,
    NflogDecision,
    NflogOp,
    NflogQuery,
    NflogRecord,
    NflogResult,
)

__all__ = ["AsyncNflog", "BatchedNflog", "Blocking", "InlineNflog", "run_inline"]

log = logging.getLogger("sloguard.alerting")

T = TypeVar("T")
MAX_BATCH = 1000


class Blocking(Protocol):
    """Runs a blocking state-store call for a stage (inline, or in a thread: ``asyncio.to_thread``)."""

    def __call__(self, fn: Callable[[], T], /) -> Awaitable[T]: ...


async def run_inline(fn: Callable[[], T]) -> T:
    """Run ``fn`` on the event loop (deterministic under a manual clock)."""
    return fn()


class AsyncNflog(Protocol):
    """The calls the dedup (with the HA claim) and set-notifies stages make (each to await)."""

    def query(self, receiver: NflogReceiver, group_key: str) -> Awaitable[NflogEntry | None]: ...

    def decide(self, receiver: NflogReceiver, group_key: str, holder: str, *, expires_at: int,
               decide: Callable[[NflogEntry | None], str | None]) -> Awaitable[NflogDecision]: ...

    def claim(self, receiver: NflogReceiver, group_key: str, flush_id: str, holder: str,
              *, expires_at: int) -> Awaitable[bool]: ...

    def log(self, receiver: NflogReceiver, group_key: str, firing: Iterable[int], resolved: Iterable[int],
            *, expires_at: int, timestamp: int) -> Awaitable[None]: ...


class _Calls:
    """The calls as operations; subclasses say how an operation runs. Each call is the
    operation's awaitable itself (no coroutine of its own): ``NotificationLog.run`` answers
    a query with its entry or None, a decide with its decision, a claim with a bool, a
    record with None."""

    def _one(self, op: NflogOp) -> Awaitable[NflogResult]:
        raise NotImplementedError

    def query(self, receiver: NflogReceiver, group_key: str) -> Awaitable[NflogEntry | None]:
        return cast("Awaitable[NflogEntry | None]", self._one(NflogQuery(receiver, group_key)))

    def decide(self, receiver: NflogReceiver, group_key: str, holder: str, *, expires_at: int,
               decide: Callable[[NflogEntry | None], str | None]) -> Awaitable[NflogDecision]:
        return cast("Awaitable[NflogDecision]", self._one(NflogDecide(receiver, group_key, holder, expires_at, decide)))

    def claim(self, receiver: NflogReceiver, group_key: str, flush_id: str, holder: str,
              *, expires_at: int) -> Awaitable[bool]:
        return cast("Awaitable[bool]", self._one(NflogClaim(receiver, group_key, flush_id, holder, expires_at)))

    def log(self, receiver: NflogReceiver, group_key: str, firing: Iterable[int], resolved: Iterable[int],
            *, expires_at: int, timestamp: int) -> Awaitable[None]:
        entry = NflogEntry(receiver, group_key, timestamp, tuple(sorted(set(firing))),
                           tuple(sorted(set(resolved))), expires_at)
        return cast("Awaitable[None]", self._one(NflogRecord(entry)))


class InlineNflog(_Calls):
    """Each call in its own transaction, run by ``run_db``."""

    def __init__(self, nflog: NotificationLog, run_db: Blocking = run_inline) -> None:
        self._nflog = nflog
        self._run_db = run_db

    async def _one(self, op: NflogOp) -> NflogResult:
        return (await self._run_db(lambda: self._nflog.run([op])))[0]


class BatchedNflog(_Calls):
    """The calls of one event-loop round in one transaction (at most ``max_batch``), in a
    thread; a failed transaction fails every call in it (the flushes report it and retry)."""

    def __init__(self, nflog: NotificationLog, run_db: Blocking = asyncio.to_thread,
                 max_batch: int = MAX_BATCH) -> None:
        self._nflog = nflog
        self._run_db = run_db
        self._max = max_batch
        self._pending: list[tuple[NflogOp, asyncio.Future[NflogResult]]] = []
        self._worker: asyncio.Task[None] | None = None
        #: Transactions run and operations in them (for /metrics and tests).
        self.batches = 0
        self.operations = 0

    def _one(self, op: NflogOp) -> Awaitable[NflogResult]:
        """The operation's future (awaited by the caller directly: no coroutine of its own)."""
        fut: asyncio.Future[NflogResult] = asyncio.get_running_loop().create_future()
        self._pending.append((op, fut))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain(), name="nflog-batch")
        return fut

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # let the other flushes of this round queue their calls
        while self._pending:
            batch, self._pending = self._pending[:self._max], self._pending[self._max:]
            ops = [op for op, _ in batch]
            try:
                results = await self._run_db(lambda ops=ops: self._nflog.run(ops))  # type: ignore[misc]
            except Exception as e:  # noqa: BLE001 - handed to every caller, who reports it
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(e)
                continue
            self.batches += 1
            self.operations += len(ops)
            for (_, fut), result in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(result)
