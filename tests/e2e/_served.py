"""Rollouts served by a real ``RolloutService``: spec text in, its own in-process proxy (on a
free loopback port, RED metrics into a real embedded TSDB), its own loop per rollout on
the real clock, state in SQLite. Tests read what a client would: the JSON views, and
requests through the proxy."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sloguard.clock import Clock, SystemClock
from sloguard.delivery.analysis.judged import engine_series_query
from sloguard.delivery.analysis.providers import ProviderEnv
from sloguard.delivery.analysis.providers.promql import engine_query
from sloguard.delivery.service import RolloutService
from sloguard.promql.engine import PromQLEngine
from sloguard.state import SqlStateStore, open_store
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions
from tests._net import free_port
from tests.e2e._rollouts import SERVICE, VersionServer

ROLLOUT = """
apiVersion: sloguard/v1
kind: Rollout
metadata: {{name: {name}}}
spec:
  service: checkout
  versions:
    stable: {{name: v1, upstreams: ["{stable}"]}}
    canary: {{name: v2, upstreams: ["{canary}"]}}
  router: {{type: proxy, proxy: {{port: {port}, flushIntervalS: 0.1}}}}
  strategy:
{strategy}
"""


@dataclass
class Served:
    """One test's world; ``open()`` makes (and later closes) a RolloutService over it."""

    db: TSDB
    engine: PromQLEngine
    store: SqlStateStore
    stable: VersionServer
    canary: VersionServer
    port: int = field(default_factory=free_port)
    services: list[RolloutService] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def text(self, name: str, strategy: str, templates: str = "") -> str:
        """A native rollout of ``checkout`` through the proxy, ``strategy`` indented 4."""
        body = "\n".join("    " + line for line in strategy.strip("\n").splitlines())
        doc = ROLLOUT.format(name=name, stable=self.stable.address, canary=self.canary.address, port=self.port,
                             strategy=body)
        return doc + (f"---\n{templates}" if templates else "")

    async def open(self, clock: Clock | None = None, **kw: Any) -> RolloutService:
        env = ProviderEnv(engine_query(self.engine), series=engine_series_query(self.engine))
        service = RolloutService(self.store.rollouts, env, clock or SystemClock(), sink=self.db,
                                 **{"tick_ms": 100, **kw})
        await service.open()
        self.services.append(service)
        return service


@asynccontextmanager
async def served(tmp: Path, *, stable_fail_every: int = 0, canary_fail_every: int = 0) -> AsyncIterator[Served]:
    stable = await VersionServer("v1", stable_fail_every).start()
    canary = await VersionServer("v2", canary_fail_every).start()
    db = TSDB.open(tmp / "tsdb", TSDBOptions(fsync=FsyncPolicy.NEVER))
    with open_store(f"sqlite:///{tmp / 'state.db'}") as store:
        world = Served(db, PromQLEngine(db), store, stable, canary)
        try:
            yield world
        finally:
            for s in world.services:
                await s.close()
            await stable.stop()
            await canary.stop()
            db.close()


async def until(service: RolloutService, name: str, check: Callable[[dict[str, Any]], bool],
                deadline_s: float = 20.0, what: str = "") -> dict[str, Any]:
    """The rollout's full view once ``check(view)`` holds; fails after ``deadline_s``."""
    end = time.monotonic() + deadline_s
    while True:
        view = service.get(name)
        if check(view):
            return view
        if time.monotonic() > end:
            raise AssertionError(f"{what or 'the awaited state'} of {name!r} not reached in {deadline_s}s: "
                                 f"{view['phase']}, weight {view['canaryWeight']}, {view['message']!r}")
        await asyncio.sleep(0.05)


def finished(view: dict[str, Any]) -> bool:
    return view["phase"] in ("Healthy", "Degraded")


__all__ = ["SERVICE", "Served", "finished", "served", "until"]
