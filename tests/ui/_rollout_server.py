"""A running sloguard for the rollout pages' browser tests: the whole HTTP app (pages and
API) served by uvicorn on 127.0.0.1 in a thread, over a real ``RolloutService`` on SQLite
in a temporary directory (rollouts over the built-in proxy in front of two tiny
upstreams). Its judges look every second (the server's default is 30 s) at counters from
``judge_series``, so a verdict exists within seconds."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from sloguard.api import ServerContext, create_app
from sloguard.api._engine_setup import make_engine
from sloguard.clock import SystemClock
from sloguard.delivery.analysis.providers import ProviderEnv
from sloguard.delivery.routers._proxy_metrics import RedMetrics
from sloguard.delivery.service import RolloutService
from sloguard.state import open_store
from sloguard.tsdb.testing import MemoryStorage
from tests._net import free_port
from tests._rollout_peers import CountingUpstream, canary_spec

#: Judges over requests through the proxy: both versions err 0.5% of the time.
JUDGES = """
    canary:
      judges:
      - name: errors
        judge: exact
        baseline:
          errors: sum(increase(http_requests_total{version="v1",code=~"5.."}[{{.window}}]))
          total: sum(increase(http_requests_total{version="v1"}[{{.window}}]))
        canary:
          errors: sum(increase(http_requests_total{version="v2",code=~"5.."}[{{.window}}]))
          total: sum(increase(http_requests_total{version="v2"}[{{.window}}]))
      steps:"""


def judge_series(q: str, t: int) -> list[tuple[dict[str, str], float]]:
    """200 requests a second on each version since the look's window began, 0.5% of them 5xx."""
    window = int(q.split("[")[1].split("s]")[0])
    total = 200.0 * window
    return [({}, total * 0.005 if "5.." in q else total)]


class RolloutServer:
    """``start()`` serves the app at ``url``; ``stop()`` stops the service and the upstreams."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stable, self.canary = CountingUpstream("v1"), CountingUpstream("v2")
        self._server: uvicorn.Server | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self._error: BaseException | None = None
        #: The TSDB the proxies write their RED metrics to and the query API reads.
        self.storage = MemoryStorage()

    async def _serve(self) -> None:
        store = open_store(data_dir=self.data_dir)
        service = RolloutService(store.rollouts, ProviderEnv(series=judge_series), SystemClock(),
                                 sink=self.storage, tick_ms=100, judge_interval_ms=1000)
        try:
            await service.open()
            ctx = ServerContext(storage=self.storage, engine=make_engine(self.storage), serve_demo=False)
            ctx.rollouts = service
            config = uvicorn.Config(create_app(ctx), host="127.0.0.1", port=self.port, log_level="warning",
                                    lifespan="off", access_log=False)
            self._server = uvicorn.Server(config)
            await self._server.serve()
        except BaseException as e:  # reported by start()
            self._error = e
        finally:
            await service.close()
            store.close()

    def start(self) -> RolloutServer:
        self.stable.start()
        self.canary.start()
        self._thread.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._error is not None:
                raise AssertionError(f"the test server failed to start: {self._error!r}")
            try:
                if httpx.get(f"{self.url}/api/v1/rollouts", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"the test server on {self.url} did not answer within 15 s")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(timeout=15)
        self.stable.stop()
        self.canary.stop()

    def start_rollout(self, name: str, judged: bool = False,
                      steps: str = "[{setWeight: 20}, {pause: {}}, {setWeight: 60}, {pause: {}}]") -> dict[str, Any]:
        """A canary rollout of service ``name`` over its own built-in proxy, started over the API."""
        spec = canary_spec(name, self.stable, self.canary, free_port(), steps=steps)
        if judged:
            spec = spec.replace("\n    canary:\n      steps:", JUDGES)
        r = httpx.post(f"{self.url}/api/v1/rollouts", content=spec, params={"actor": "ana"}, timeout=10)
        assert r.status_code == 201, r.text
        return r.json()["data"]  # type: ignore[no-any-return]

    def write_traffic(self, service: str, seconds: int, per_5s: dict[str, int]) -> None:
        """The proxy's RED metrics of the last ``seconds``, as its writer flushes them every 5 s:
        ``per_5s`` requests per version in each 5 s."""
        red = RedMetrics(service)
        now = int(time.time() * 1000)
        for t in range(now - seconds * 1000, now + 1, 5000):
            for version, n in per_5s.items():
                for _ in range(n):
                    red.observe(version, 200, 0.01)
            red.flush(self.storage, t)

    def view(self, name: str) -> dict[str, Any]:
        r = httpx.get(f"{self.url}/api/v1/rollouts/{name}", timeout=5)
        assert r.status_code == 200, r.text
        return r.json()["data"]  # type: ignore[no-any-return]

    def until(self, name: str, what: str, check: Any, timeout_s: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            v = self.view(name)
            if check(v):
                return v
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; last view: {v}")
            time.sleep(0.05)
