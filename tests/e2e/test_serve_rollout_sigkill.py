"""SIGKILL of `sloguard serve` in the middle of a rollout: after the restart on the same data
directory the rollout is at the same step with the same weights, seen through the API and
measured as real traffic through the built-in proxy (hits counted at the two upstreams);
then it is promoted to Healthy. On SQLite (the default state store) and on PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests._rollout_peers import CountingUpstream, canary_spec, traffic
from tests.e2e.conftest import E2E_CONFIG, SloguardProcess, free_port, requires_tsdb
from tests.state._pg import PgCluster

pytestmark = [pytest.mark.slow, requires_tsdb()]

N = 200  # requests per sample: at 20% the canary gets 40 +- 5.7 (binomial sd)
STEPS = "[{setWeight: 20}, {pause: {}}, {setWeight: 60}, {pause: {duration: 1}}]"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.peer)])
def state_args(request: pytest.FixtureRequest) -> list[str]:
    """The server's state store: SQLite in the data dir (the default), or a PostgreSQL database."""
    if request.param == "sqlite":
        return []
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return ["--state.url", cluster.empty_database()]


@pytest.fixture()
def upstreams() -> Iterator[tuple[CountingUpstream, CountingUpstream]]:
    pair = CountingUpstream("v1").start(), CountingUpstream("v2").start()
    yield pair
    for u in pair:
        u.stop()


def view(url: str) -> dict[str, Any]:
    r = httpx.get(f"{url}/api/v1/rollouts/web", timeout=5)
    assert r.status_code == 200, r.text
    return r.json()["data"]  # type: ignore[no-any-return]


def wait_view(url: str, check: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        v = view(url)
        if check(v):
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last view: {v}")


def sample(port: int, upstreams: tuple[CountingUpstream, CountingUpstream]) -> tuple[int, int]:
    """v1 and v2 answers to ``N`` requests through the proxy, checked against the upstreams' own counts."""
    before = [u.hits for u in upstreams]
    seen = traffic(port, N)
    hits = [u.hits - b for u, b in zip(upstreams, before, strict=True)]
    assert hits == [seen["v1"], seen["v2"]], (hits, seen)
    return hits[0], hits[1]


def events(url: str) -> list[tuple[str, str, str]]:
    data = httpx.get(f"{url}/api/v1/rollouts/web/events", timeout=5).json()["data"]
    return [(e["type"], e["reason"], e["message"]) for e in data]


def served(tmp_path: Path, config: Path, log: str, state_args: list[str]) -> SloguardProcess:
    p = SloguardProcess(tmp_path / "data", config, tmp_path / log)
    p.extra_args = state_args
    return p.start()


def test_sigkill_mid_rollout_resumes_at_the_same_step_with_the_same_weights(
    tmp_path: Path, upstreams: tuple[CountingUpstream, CountingUpstream], state_args: list[str],
) -> None:
    t0 = time.monotonic()
    config = tmp_path / "sloguard.yml"
    config.write_text(E2E_CONFIG)
    port = free_port()
    first = served(tmp_path, config, "first.log", state_args)
    try:
        r = httpx.post(f"{first.url}/api/v1/rollouts", content=canary_spec("web", *upstreams, port, steps=STEPS),
                       params={"actor": "ana"}, timeout=10)
        assert r.status_code == 201, r.text
        before = wait_view(first.url, lambda v: v["phase"] == "Paused" and v["step"] == 2, "the pause after setWeight 20")
        assert before["canaryWeight"] == 20
        stable, canary = sample(port, upstreams)
        assert 15 <= canary <= 70, (stable, canary)
        events_before = events(first.url)
        first.kill()  # SIGKILL: no shutdown code runs
    finally:
        if first.proc is not None and first.proc.poll() is None:
            first.kill()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)  # the proxy died with the server

    second = served(tmp_path, config, "second.log", state_args)
    try:
        after = view(second.url)
        for key in ("phase", "step", "canaryWeight", "stable", "canary", "stepsDetail", "headerRoutes", "mirrorRoutes"):
            assert after[key] == before[key], (key, before[key], after[key])
        stable, canary = sample(port, upstreams)  # the proxy listens again with the committed weights
        assert 15 <= canary <= 70, (stable, canary)
        assert events(second.url)[: len(events_before)] == events_before  # nothing stored was lost

        r = httpx.post(f"{second.url}/api/v1/rollouts/web/promote", json={"actor": "bo"}, timeout=10)
        assert r.status_code == 200, r.text
        done = wait_view(second.url, lambda v: v["phase"] == "Healthy", "the promotion to Healthy")
        assert done["canaryWeight"] == 100
        assert sample(port, upstreams) == (0, N)
        assert second.stop() == 0
    finally:
        if second.proc is not None and second.proc.poll() is None:
            second.kill()
    assert time.monotonic() - t0 < 40
