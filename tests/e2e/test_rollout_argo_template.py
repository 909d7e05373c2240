"""Argo Rollouts' own documentation, run unchanged: the success-rate AnalysisTemplate of
docs/analysis/prometheus.md as the background analysis of the guestbook canary of
docs/features/analysis.md, measured on the embedded engine over generated Istio request
counters. Healthy traffic completes the rollout; a success rate under 95% fails the fourth
measurement (``failureLimit: 3``) and aborts it. Simulated time (ManualClock): the
template measures every 5 minutes and the canary pauses 10 minutes between weights."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sloguard.clock import ManualClock
from sloguard.delivery._controller_state import RolloutState
from sloguard.delivery._steps import BACKGROUND
from sloguard.delivery.analysis.judged import engine_series_query
from sloguard.delivery.analysis.providers import ProviderEnv
from sloguard.delivery.analysis.providers.promql import engine_query
from sloguard.delivery.controller import RolloutPhase
from sloguard.delivery.plan import plan_from_spec
from sloguard.delivery.runner import RolloutRunner
from sloguard.delivery.spec import load_bundle
from sloguard.labels import Labels
from sloguard.promql.engine import PromQLEngine
from sloguard.state import open_store
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions
from tests.delivery._rollout import FakeRouter, World

DATA = Path(__file__).parent / "data"
T0 = 1_700_000_000_000
S, M = 1_000, 60_000
SERVICE = "guestbook-svc.default.svc.cluster.local"


def _bundle_text() -> str:
    return "---\n".join((DATA / f).read_text() for f in ("argo-guestbook-background.yaml",
                                                         "argo-prometheus-success-rate.yaml"))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[TSDB]:
    d = TSDB.open(tmp_path / "tsdb", TSDBOptions(fsync=FsyncPolicy.NEVER))
    yield d
    d.close()


def _istio(db: TSDB, error_ratio: dict[int, float]) -> None:
    """Istio's ``istio_requests_total`` as its sidecars report it, 20 requests a second from
    T0 - 10m to T0 + 60m; ``error_ratio`` maps a start time to the 503 share from then on."""
    ts = np.arange(T0 - 10 * M, T0 + 60 * M + 1, 15 * S, dtype=np.int64)
    share = np.zeros(len(ts))
    for since, ratio in sorted(error_ratio.items()):
        share[ts >= since] = ratio
    per_step = 20 * 15
    app = db.appender()
    for code, part in (("200", 1 - share), ("503", share)):
        labels = Labels.of(name__="istio_requests_total", reporter="source", destination_service=SERVICE,
                           response_code=code, source_app="frontend")
        app.append_many(labels, ts, np.cumsum(per_step * part))
    assert not app.commit().rejected_total


async def _run(db: TSDB, tmp: Path) -> tuple[list[str], RolloutState, World]:
    bundle = load_bundle(_bundle_text(), "argo-docs.yaml")
    assert [p for p in bundle.problems if p.is_error] == [], bundle.problems
    (spec,) = bundle.rollouts
    plan = plan_from_spec(spec, bundle.templates, embedded_prometheus=True)
    engine = PromQLEngine(db)
    clock, world = ManualClock(T0), World()
    with open_store(f"sqlite:///{tmp / 'state.db'}") as store:
        runner = RolloutRunner(store.rollouts, FakeRouter(world),
                               ProviderEnv(engine_query(engine), series=engine_series_query(engine)), clock)
        s = await runner.start(plan)
        while not s.phase.finished and clock.now_ms() < T0 + 60 * M:
            await clock.advance(30 * S)
            s = await runner.tick(plan)
        phases = [m["phase"] for m in s.analyses[BACKGROUND]["results"][0]["measurements"]]
        return phases, s, world


def test_the_argo_docs_template_passes_on_healthy_traffic(db: TSDB, tmp_path: Path) -> None:
    _istio(db, {T0 - 10 * M: 0.01})
    phases, s, world = asyncio.run(_run(db, tmp_path))
    assert s.phase is RolloutPhase.HEALTHY, s.message
    assert len(phases) >= 4 and set(phases) == {"Successful"}, phases
    assert [c for c in world.calls if c.startswith("weight")] == [
        "weight 20", "weight 40", "weight 60", "weight 80", "weight 100"]


def test_the_argo_docs_template_aborts_after_its_failure_limit(db: TSDB, tmp_path: Path) -> None:
    _istio(db, {T0 - 10 * M: 0.01, T0 + 5 * M: 0.2})  # a success rate of 80% from minute 5
    phases, s, world = asyncio.run(_run(db, tmp_path))
    assert s.phase is RolloutPhase.DEGRADED, s.message
    assert phases == ["Failed"] * 4, "failureLimit 3: the fourth failed measurement fails the run"
    assert "success-rate" in s.abort_reason
    assert world.weight == 0 and "weight 100" not in world.calls
