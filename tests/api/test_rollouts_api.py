"""/api/v1/rollouts over the real RolloutService on SQLite in a temporary directory: a
rollout over the built-in proxy in front of two tiny upstreams, driven over HTTP, with the
traffic through the proxy counted at the upstreams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sloguard.api import ServerContext, create_app
from sloguard.clock import SystemClock
from sloguard.delivery.analysis.providers import ProviderEnv
from sloguard.delivery.service import RolloutService
from sloguard.state import open_store
from sloguard.tsdb.testing import MemoryStorage
from tests._net import free_port
from tests._rollout_peers import CountingUpstream, canary_spec, traffic_async

N = 200  # requests per traffic sample: at 20% the canary's count is 40 +- 5.7 (binomial sd)


class ExhaustedBudget:
    def remaining_budget(self, service: str) -> float | None:
        return -0.2

    def firing_page_alert(self, service: str) -> str | None:
        return None


@dataclass
class Served:
    http: httpx.AsyncClient
    service: RolloutService
    stable: CountingUpstream
    canary: CountingUpstream
    proxy_port: int
    sink: MemoryStorage
    ctx: ServerContext

    def spec(self, name: str = "web", **kw: Any) -> str:
        return canary_spec(name, self.stable, self.canary, self.proxy_port, **kw)

    async def post(self, path: str, **kw: Any) -> httpx.Response:
        return await self.http.post(f"/api/v1/rollouts{path}", **kw)

    async def view(self, name: str = "web") -> dict[str, Any]:
        r = await self.http.get(f"/api/v1/rollouts/{name}")
        assert r.status_code == 200, r.text
        return r.json()["data"]  # type: ignore[no-any-return]

    async def until(self, what: str, check: Callable[[dict[str, Any]], bool], name: str = "web") -> dict[str, Any]:
        for _ in range(400):  # bounded: ~10 s
            v = await self.view(name)
            if check(v):
                return v
            await asyncio.sleep(0.025)
        raise AssertionError(f"timed out waiting for {what}; last view: {v}")


@asynccontextmanager
async def served(tmp_path: Path, budget: Any = None) -> AsyncIterator[Served]:
    store = open_store(data_dir=tmp_path)
    sink = MemoryStorage()
    service = RolloutService(store.rollouts, ProviderEnv(), SystemClock(), budget=budget, sink=sink, tick_ms=20)
    await service.open()
    ctx = ServerContext(storage=MemoryStorage())
    ctx.rollouts = service
    stable, canary = CountingUpstream("v1").start(), CountingUpstream("v2").start()
    transport = httpx.ASGITransport(app=create_app(ctx))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://sloguard", timeout=10) as http:
            yield Served(http, service, stable, canary, free_port(), sink, ctx)
    finally:
        await service.close()
        stable.stop()
        canary.stop()
        store.close()


def run(tmp_path: Path, scenario: Callable[[Served], Awaitable[None]], budget: Any = None) -> None:
    async def main() -> None:
        async with served(tmp_path, budget) as s:
            await scenario(s)

    asyncio.run(main())


def paused_at(step: int, weight: int) -> Callable[[dict[str, Any]], bool]:
    return lambda v: v["phase"] == "Paused" and v["step"] == step and v["canaryWeight"] == weight


def test_a_rollout_started_over_http_moves_real_traffic_and_obeys_every_command(tmp_path: Path) -> None:
    async def scenario(s: Served) -> None:
        r = await s.post("", content=s.spec(), params={"actor": "ana"})
        assert r.status_code == 201, r.text
        assert r.json()["data"]["name"] == "web"
        v = await s.until("the first pause", paused_at(2, 20))
        assert [d["state"] for d in v["stepsDetail"]] == ["done", "current", "pending", "pending"]
        assert v["proxy"] == {"port": s.proxy_port}
        seen = await traffic_async(s.proxy_port, N)
        assert seen["v1"] + seen["v2"] == N and 15 <= seen["v2"] <= 70, seen
        assert (s.stable.hits, s.canary.hits) == (seen["v1"], seen["v2"])  # every answer came from the upstream

        listed = (await s.http.get("/api/v1/rollouts")).json()["data"]
        assert [(x["name"], x["phase"], x["canaryWeight"], x["stable"], x["canary"]) for x in listed] == [
            ("web", "Paused", 20, "v1", "v2")]

        r = await s.post("/web/promote", json={"actor": "bo"})
        assert r.status_code == 200, r.text
        await s.until("the second pause", paused_at(4, 60))

        r = await s.post("/web/abort", json={"reason": "the tail looks slow", "actor": "cy"})
        assert r.status_code == 200, r.text
        v = await s.until("the abort", lambda v: v["phase"] == "Degraded" and v["canaryWeight"] == 0)
        assert "the tail looks slow" in v["abortReason"] + v["message"]
        assert (await traffic_async(s.proxy_port, 20))["v2"] == 0

        events = (await s.http.get("/api/v1/rollouts/web/events")).json()["data"]
        actors = {(e["type"], e["actor"]) for e in events}
        assert ("RolloutPromoteRequested", "bo") in actors and ("RolloutAbortRequested", "cy") in actors
        assert any(e["type"] == "RolloutAborted" for e in events)

        text = (await s.http.get("/api/v1/rollouts/web/explain")).json()["data"]["text"]
        assert "web" in text and "the tail looks slow" in text

        r = await s.post("/web/retry")
        assert r.status_code == 200, r.text
        await s.until("the retried rollout's first pause", paused_at(2, 20))

    run(tmp_path, scenario)


def test_pause_and_resume_hold_a_timed_step(tmp_path: Path) -> None:
    async def scenario(s: Served) -> None:
        spec = s.spec(steps="[{setWeight: 30}, {pause: {duration: 1h}}, {setWeight: 70}, {pause: {}}]")
        assert (await s.post("", content=spec)).status_code == 201
        await s.until("the timed pause", lambda v: v["step"] == 2 and v["canaryWeight"] == 30)
        r = await s.post("/web/pause", json={"reason": "lunch"})
        assert r.status_code == 200, r.text
        v = await s.until("the person's pause", lambda v: v["phase"] == "Paused" and "lunch" in (v["hold"] + v["message"]))
        assert v["canaryWeight"] == 30
        assert (await s.post("/web/resume")).status_code == 200
        await s.until("the resumed rollout", lambda v: "lunch" not in v["hold"])
        r = await s.post("/web/promote", json={"full": True})
        assert r.status_code == 200, r.text
        v = await s.until("the full promotion", lambda v: v["phase"] == "Healthy")
        assert v["canaryWeight"] == 100
        seen = await traffic_async(s.proxy_port, 20)
        assert seen == {"v2": 20}

    run(tmp_path, scenario)


def test_a_bad_spec_is_400_with_every_problem_at_its_key_path(tmp_path: Path) -> None:
    async def scenario(s: Served) -> None:
        bad = s.spec(steps="[{setWeight: 150}, {pauze: {}}]")
        r = await s.post("", content=bad)
        assert r.status_code == 400, r.text
        body = r.json()
        assert body["errorType"] == "bad_data"
        paths = [p["path"] for p in body["problems"]]
        assert any(p.endswith("steps[0].setWeight") for p in paths), paths
        assert any(p.endswith("steps[1].pauze") for p in paths), paths
        assert (await s.http.get("/api/v1/rollouts")).json()["data"] == []

    run(tmp_path, scenario)


def test_unknown_rollouts_are_404(tmp_path: Path) -> None:
    async def scenario(s: Served) -> None:
        for r in (await s.http.get("/api/v1/rollouts/nope"), await s.http.get("/api/v1/rollouts/nope/events"),
                  await s.http.get("/api/v1/rollouts/nope/explain"), await s.post("/nope/promote"),
                  await s.post("/nope/abort", json={"reason": "x"})):
            assert r.status_code == 404, r.text
            assert r.json()["errorType"] == "not_found" and "nope" in r.json()["error"]

    run(tmp_path, scenario)


def test_a_second_start_of_a_running_rollout_is_409(tmp_path: Path) -> None:
    async def scenario(s: Served) -> None:
        assert (await s.post("", content=s.spec())).status_code == 201
        await s.until("the first pause", paused_at(2, 20))
        r = await s.post("", content=s.spec())
        assert r.status_code == 409, r.text
        assert r.json()["errorType"] == "conflict" and "web" in r.json()["error"]
        assert (await s.view())["step"] == 2  # the running one is untouched

    run(tmp_path, scenario)


@pytest.mark.parametrize("forced", [False, True])
def test_the_error_budget_policy_refuses_a_start_unless_forced_with_a_reason(tmp_path: Path, forced: bool) -> None:
    async def scenario(s: Served) -> None:
        if not forced:
            r = await s.post("", content=s.spec())
            assert r.status_code == 409, r.text
            assert r.json()["errorType"] == "conflict" and "error budget" in r.json()["error"]
            return
        r = await s.post("", content=s.spec(), params={"force": "true", "actor": "ana", "reason": "security fix"})
        assert r.status_code == 201, r.text
        events = (await s.http.get("/api/v1/rollouts/web/events")).json()["data"]
        overridden = [e for e in events if e["type"] == "RolloutPolicyOverridden"]
        assert [(e["actor"], "security fix" in e["message"]) for e in overridden] == [("ana", True)]

    run(tmp_path, scenario, budget=ExhaustedBudget())


def test_a_rollout_of_the_servers_rollout_files_starts_by_name_without_a_body(tmp_path: Path) -> None:
    async def scenario(s: Served) -> None:
        r = await s.post("", params={"name": "web"})
        assert r.status_code == 400 and "rollout_files" in r.json()["error"]  # the server has none
        s.ctx.settings["rollout_files"] = lambda: (s.spec("other") + "---\n" + s.spec("web"), "rollouts/shop.yaml")
        r = await s.post("", params={"name": "web", "actor": "ana"})
        assert r.status_code == 201, r.text
        assert r.json()["data"]["name"] == "web"
        events = (await s.http.get("/api/v1/rollouts/web/events")).json()["data"]
        assert events[0]["message"] == "Start requested from rollouts/shop.yaml."
        assert (await s.http.get("/api/v1/rollouts/other")).status_code == 404  # known, not started

    run(tmp_path, scenario)
