"""A fake remote write receiver for the queue's tests: it answers from a script and keeps
what it acknowledged, decoded."""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

import cramjam

from sloguard.ingest._remote_write_proto import WriteRequest
from sloguard.remote.write import SendResponse

Series = tuple[tuple[str, str], ...]


@dataclass
class FakeReceiver:
    """``script`` answers the requests in order, then ``default`` answers the rest."""

    script: list[SendResponse] = field(default_factory=list)
    default: SendResponse = field(default_factory=lambda: SendResponse(200))
    stored: dict[Series, list[tuple[int, float]]] = field(default_factory=dict)
    metadata: list[tuple[str, int, str]] = field(default_factory=list)
    requests: int = 0
    headers: list[Mapping[str, str]] = field(default_factory=list)

    async def post(self, body: bytes, headers: Mapping[str, str]) -> SendResponse:
        self.requests += 1
        self.headers.append(dict(headers))
        resp = self.script.pop(0) if self.script else self.default
        if 200 <= resp.status < 300:
            self._store(body)
        await asyncio.sleep(0)
        return resp

    def _store(self, body: bytes) -> None:
        req = WriteRequest()
        req.ParseFromString(bytes(cramjam.snappy.decompress_raw(body)))
        for ts in req.timeseries:
            key = tuple((lb.name, lb.value) for lb in ts.labels)
            self.stored.setdefault(key, []).extend((s.timestamp, s.value) for s in ts.samples)
        self.metadata += [(m.metric_family_name, m.type, m.help) for m in req.metadata]

    def samples(self) -> int:
        return sum(len(v) for v in self.stored.values())

    def by_name(self) -> dict[str, list[tuple[int, float]]]:
        return {dict(k)["__name__"]: v for k, v in self.stored.items()}


def factory(receiver: FakeReceiver) -> Callable[[object], FakeReceiver]:
    return lambda _cfg: receiver


async def until(cond: Callable[[], bool], what: str, rounds: int = 3000) -> None:
    """Let the queue's tasks and worker threads run until ``cond()`` (no clock involved:
    a bounded number of short event-loop turns)."""
    for _ in range(rounds):
        if cond():
            return
        await asyncio.sleep(0.002)
    raise AssertionError(f"timed out waiting for {what}")


def sync(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test body with ``asyncio.run`` (the suite has no asyncio plugin)."""

    @functools.wraps(fn)
    def run(*args: Any, **kw: Any) -> None:
        asyncio.run(fn(*args, **kw))

    return run


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))
