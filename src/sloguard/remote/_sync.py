"""The ruler's read-your-writes over the remote-write queues: ``sync`` returns once every
queue has had acknowledged what the WAL held when it was called.

It runs on a rule worker thread while the queues run on the event loop: it asks each queue
to cut its buffered samples into batches now (rather than at ``batch_send_deadline``),
then waits for the queue's stored WAL position (advanced only after acknowledgements) to
reach the WAL's end as it was (``QueueManager.flush_now`` and ``stored_position``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from sloguard.remote._queue import QueueManager
from sloguard.remote._walwatch import WALPosition, wal_end


def _at_least(pos: WALPosition | None, target: WALPosition) -> bool:
    return pos is not None and (pos.segment, pos.offset) >= (target.segment, target.offset)


class QueueSync:
    """``WriteBack`` over the queues of a ``WriteStorage`` (all must deliver); ``queues`` may
    be a function giving the current ones (they change on a reload)."""

    def __init__(self, queues: Sequence[QueueManager] | Callable[[], Sequence[QueueManager]], wal_dir: Path,
                 loop: asyncio.AbstractEventLoop, poll_s: float = 0.005) -> None:
        fixed = [] if callable(queues) else list(queues)
        self._queues = queues if callable(queues) else (lambda: fixed)
        self.wal_dir, self.loop, self.poll_s = wal_dir, loop, poll_s

    @property
    def queues(self) -> list[QueueManager]:
        return list(self._queues())

    def sync(self, timeout_s: float) -> bool:
        target = wal_end(self.wal_dir)
        deadline = time.monotonic() + timeout_s
        while True:
            if all(_at_least(q.stored_position, target) for q in self.queues):
                return True
            if time.monotonic() >= deadline or self.loop.is_closed():
                return False
            self._cut_now(deadline)
            time.sleep(self.poll_s)

    def _cut_now(self, deadline: float) -> None:
        queues = self.queues

        async def cut() -> None:
            for q in queues:
                await q.flush_now()

        future = asyncio.run_coroutine_threadsafe(cut(), self.loop)
        try:
            future.result(max(0.0, deadline - time.monotonic()))
        except (concurrent.futures.TimeoutError, RuntimeError):
            future.cancel()
