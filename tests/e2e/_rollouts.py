"""Real parts for the rollout end-to-end tests: versions of a service as small HTTP servers
on loopback, the built-in proxy in front of them writing its RED metrics into a real
embedded TSDB, the analysis on the embedded engine, the runner on SQLite.

Everything runs on the real clock (real servers are involved), bounded by ``deadline``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from sloguard.alerting.service import AlertingService
from sloguard.clock import SystemClock
from sloguard.delivery._controller_state import RolloutState
from sloguard.delivery._steps import Plan
from sloguard.delivery.analysis.judged import engine_series_query
from sloguard.delivery.analysis.providers import ProviderEnv
from sloguard.delivery.analysis.providers.promql import engine_query
from sloguard.delivery.policy import BudgetSource
from sloguard.delivery.routers import TrafficRouter
from sloguard.delivery.routers.proxy import ProxyConfig, ProxyRouter, Version
from sloguard.delivery.runner import RolloutRunner
from sloguard.promql.engine import PromQLEngine
from sloguard.state import SqlStateStore, open_store
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions

SERVICE = "checkout"
FLUSH_S = 0.1


@dataclass
class VersionServer:
    """One version of the service: answers ``200 <name>``, or 500 for every ``fail_every``-th
    request (0: never); ``stop()`` makes it go away (connections refused)."""

    name: str
    fail_every: int = 0
    served: int = 0
    server: asyncio.Server | None = None
    conns: set[asyncio.Task[object]] = field(default_factory=set)

    async def start(self) -> VersionServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for t in list(self.conns):
            t.cancel()
        if self.conns:
            await asyncio.wait(list(self.conns))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.conns.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(v) for k, _, v in (x.partition(":") for x in head.decode().split("\r\n"))
                               if k.lower() == "content-length"), 0)
                await reader.readexactly(length)
                self.served += 1
                status = 500 if self.fail_every and self.served % self.fail_every == 0 else 200
                body = self.name.encode()
                writer.write(b"HTTP/1.1 %d X\r\nx-version: %s\r\nContent-Length: %d\r\n\r\n%s"
                             % (status, body, len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.conns.discard(task)
            writer.close()


@dataclass
class Load:
    """Requests through the proxy, one every ``gap_s``, recorded as (version, status):
    version is the answering upstream's name, '' when the proxy answered itself (a 502)."""

    url: str
    gap_s: float = 0.01
    seen: list[tuple[str, int]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                self.seen.append(await probe_once(client, self.url))
                await asyncio.sleep(self.gap_s)

    def start(self) -> Load:
        self.task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


async def probe_once(client: httpx.AsyncClient, url: str) -> tuple[str, int]:
    r = await client.get(url)
    return r.headers.get("x-version", ""), r.status_code


async def probe(url: str, n: int = 40) -> Counter[tuple[str, int]]:
    """``n`` requests through the proxy now: how many each (version, status) answered."""
    async with httpx.AsyncClient(timeout=5) as client:
        return Counter([await probe_once(client, url) for _ in range(n)])


@dataclass
class Stack:
    """The parts of one test; ``runner`` drives rollouts through ``router`` (the proxy
    unless a test wraps it)."""

    db: TSDB
    engine: PromQLEngine
    store: SqlStateStore
    proxy: ProxyRouter
    stable: VersionServer
    canary: VersionServer
    env: ProviderEnv

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy.port}/"

    def runner(self, router: TrafficRouter | None = None, alerting: AlertingService | None = None,
               budget: BudgetSource | None = None, tick_ms: int = 100) -> RolloutRunner:
        return RolloutRunner(self.store.rollouts, router or self.proxy, self.env, SystemClock(),
                             alerting=alerting, budget=budget, tick_ms=tick_ms)

    def stored(self, name: str) -> dict[str, object]:
        rec = self.store.rollouts.get(name)
        assert rec is not None, f"no stored rollout {name!r}"
        return rec.state


@asynccontextmanager
async def stack(tmp: Path, canary_fail_every: int = 0, stable_fail_every: int = 0) -> AsyncIterator[Stack]:
    """Versions v1 (stable) and v2 (canary), each failing every ``*_fail_every``-th request,
    behind a started proxy whose metrics go into a TSDB under ``tmp``."""
    stable = await VersionServer("v1", stable_fail_every).start()
    canary = await VersionServer("v2", canary_fail_every).start()
    db = TSDB.open(tmp / "tsdb", TSDBOptions(fsync=FsyncPolicy.NEVER))
    engine = PromQLEngine(db)
    config = ProxyConfig(SERVICE, Version("v1", (stable.address,)), Version("v2", (canary.address,)),
                         flush_interval_s=FLUSH_S, seed=7)
    proxy = ProxyRouter(config)
    await proxy.start(db)
    env = ProviderEnv(engine_query(engine), series=engine_series_query(engine))
    with open_store(f"sqlite:///{tmp / 'state.db'}") as store:
        try:
            yield Stack(db, engine, store, proxy, stable, canary, env)
        finally:
            await proxy.stop()
            await stable.stop()
            await canary.stop()
            db.close()


async def drive(runner: RolloutRunner, plan: Plan, until: Callable[[RolloutState], bool],
                deadline_s: float = 20.0) -> RolloutState:
    """Tick ``plan`` every ``runner.tick_ms`` until ``until(state)``; fail after ``deadline_s``."""
    end = time.monotonic() + deadline_s
    s = await runner.tick(plan)
    while not until(s):
        if time.monotonic() > end:
            raise AssertionError(f"the rollout {plan.name!r} did not get there in {deadline_s}s: "
                                 f"{s.phase.value}, step {s.step_index}, weight {s.canary_weight}, {s.message!r}")
        await asyncio.sleep(runner.tick_ms / 1000)
        s = await runner.tick(plan)
    return s
