"""Plans from rollout specs, judged by running them: each spec is loaded, made a plan and
driven through the runner on a manual clock over a recording router."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sloguard.clock import ManualClock
from sloguard.delivery._steps import Plan
from sloguard.delivery.analysis.providers import ProviderEnv
from sloguard.delivery.controller import RolloutPhase, RolloutState
from sloguard.delivery.plan import PlanBuildError, plan_from_spec
from sloguard.delivery.runner import RolloutRunner
from sloguard.delivery.spec import CanaryStrategy, load_bundle, load_bundle_files
from sloguard.state import SqlStateStore, open_store
from tests.delivery._rollout import T0, FakeRouter, S, World

P = RolloutPhase
DATA = Path(__file__).parent / "data"

TEMPLATES = """
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: success-rate}
spec:
  args: [{name: service-name}]
  metrics:
  - name: success-rate
    successCondition: result >= 0.95
    provider: {prometheus: {query: 'ok{service="{{args.service-name}}"}'}}
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: latency}
spec:
  metrics:
  - name: latency
    successCondition: result < 0.5
    provider: {prometheus: {query: 'p99'}}
"""


def rollout(strategy: str, name: str = "checkout-v2") -> str:
    head = f"""apiVersion: sloguard/v1
kind: Rollout
metadata: {{name: {name}}}
spec:
  service: checkout
  versions:
    stable: {{name: v1, upstreams: ["127.0.0.1:9001"]}}
    canary: {{name: v2, upstreams: ["127.0.0.1:9002"]}}
  strategy:
"""
    return head + "\n".join("    " + line for line in strategy.strip("\n").splitlines()) + "\n" + TEMPLATES


def build(text: str, **kw: Any) -> Plan:
    b = load_bundle(text, "test.yaml")
    assert not b.errors, b.errors
    [spec] = b.rollouts
    return plan_from_spec(spec, b.templates, **kw)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStateStore]:
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as s:
        yield s


class Drive:
    """A plan on the runner: ``tick_for(seconds)`` ticks once a second on the manual clock."""

    def __init__(self, store: SqlStateStore, plan: Plan, values: dict[str, float] | None = None, **env: Any) -> None:
        self.values = values if values is not None else {'ok{service="checkout"}': 0.99, "p99": 0.2}
        self.world, self.clock, self.plan = World(), ManualClock(T0), plan
        e = ProviderEnv(query=lambda q, t: self.values[q], **env)
        self.runner = RolloutRunner(store.rollouts, FakeRouter(self.world), e, self.clock)
        self.state = asyncio.run(self.runner.start(plan))

    def tick_for(self, seconds: int) -> RolloutState:
        for _ in range(seconds):
            if self.state.phase.finished:
                break
            asyncio.run(self.clock.advance(S))
            self.state = asyncio.run(self.runner.tick(self.plan))
        return self.state

    def weights(self) -> list[int]:
        return [int(c.split()[1]) for c in self.world.calls if c.startswith("weight")]

    def promote(self) -> RolloutState:
        self.state = asyncio.run(self.runner.promote(self.plan, "alice"))
        return self.state


CANARY = """
canary:
  steps:
  - setWeight: 10
  - pause: {duration: 30s}
  - analysis:
      templates: [{templateName: success-rate}, {templateName: latency}]
      args: {service-name: checkout}
  - setWeight: 50
  - pause: {}
  - setWeight: 80
"""


def test_a_canary_waits_its_pause_in_seconds_then_analyses_then_waits_for_promote(store: SqlStateStore) -> None:
    d = Drive(store, build(rollout(CANARY)))
    assert d.tick_for(25).canary_weight == 10  # 30 s pause: still waiting after 25 s
    s = d.tick_for(10)
    assert s.canary_weight == 50 and s.phase is P.PAUSED
    [key] = [k for k in s.analyses if k.startswith("step-2")]
    run = s.analyses[key]
    assert run["phase"] == "Successful" and {r["name"] for r in run["results"]} == {"success-rate", "latency"}
    assert d.tick_for(60).canary_weight == 50  # pause: {} waits for a person
    d.promote()
    assert d.tick_for(5).phase is P.HEALTHY
    assert d.weights() == [10, 50, 80, 100]


def test_each_template_of_an_analysis_decides_a_failing_second_one_aborts(store: SqlStateStore) -> None:
    d = Drive(store, build(rollout(CANARY)), {'ok{service="checkout"}': 0.99, "p99": 0.9})
    s = d.tick_for(60)
    assert s.phase is P.DEGRADED and "latency" in s.abort_reason
    assert d.weights() == [10, 0]


def test_template_arguments_reach_the_queries(store: SqlStateStore) -> None:
    text = rollout(CANARY).replace("args: {service-name: checkout}", "args: {service-name: payments}")
    d = Drive(store, build(text), {'ok{service="payments"}': 0.5, "p99": 0.2})
    assert d.tick_for(60).phase is P.DEGRADED


def test_metric_names_shared_by_two_templates_are_refused() -> None:
    text = rollout(CANARY).replace("- name: latency\n", "- name: success-rate\n")
    with pytest.raises(PlanBuildError, match=r"'checkout-v2'.*steps\[2\]\.analysis: two metrics are named 'success-rate'"):
        build(text)


BACKGROUND = """
canary:
  steps:
  - setWeight: 10
  - pause: {duration: 10s}
  - setWeight: 40
  - pause: {duration: 10s}
  analysis:
    templates: [{templateName: success-rate}]
    args: {service-name: checkout}
    startingStep: 2
"""


def test_a_background_analysis_starts_at_its_starting_step_and_aborts_from_there(store: SqlStateStore) -> None:
    d = Drive(store, build(rollout(BACKGROUND)), {'ok{service="checkout"}': 0.5})
    assert "background" not in d.tick_for(5).analyses  # step 1 still: not started, so no abort
    s = d.tick_for(30)
    assert s.phase is P.DEGRADED and "background analysis ended Failed" in s.abort_reason
    assert d.weights() == [10, 40, 0]


def test_a_background_from_the_first_step_aborts_before_any_weight_moves_past_the_first(store: SqlStateStore) -> None:
    d = Drive(store, build(rollout(BACKGROUND.replace("startingStep: 2", "startingStep: 0"))),
              {'ok{service="checkout"}': 0.5})
    assert d.tick_for(30).phase is P.DEGRADED
    assert d.weights() == [10, 0]


JUDGED = """
canary:
  steps:
  - setWeight: 50
  - pause: {duration: 5m}
  judges:
  - name: errors
    judge: JUDGE
    settings: SETTINGS
    baseline:
      errors: sum(increase(http_requests_total{version="v1",code=~"5.."}[{{.window}}]))
      total: sum(increase(http_requests_total{version="v1"}[{{.window}}]))
    canary:
      errors: sum(increase(http_requests_total{version="v2",code=~"5.."}[{{.window}}]))
      total: sum(increase(http_requests_total{version="v2"}[{{.window}}]))
"""


class Traffic:
    """Counters by the queries' version and code, growing with the window asked for."""

    def __init__(self, canary_error_rate: float) -> None:
        self.rate = {"v1": 0.01, "v2": canary_error_rate}
        self.asked: list[str] = []

    def series(self, q: str, t: int) -> list[tuple[dict[str, str], float]]:
        self.asked.append(q)
        version = "v2" if 'version="v2"' in q else "v1"
        window = int(q.split("[")[1].split("s]")[0])
        total = 100.0 * window
        return [({}, total * self.rate[version] if "5.." in q else total)]


@pytest.mark.parametrize(("judge", "settings"), [("proportions", "{alpha: 0.01}"), ("sequential", "{alpha: 0.05}")])
def test_judges_abort_a_canary_with_more_errors_and_pass_an_equal_one(store: SqlStateStore, judge: str, settings: str) -> None:
    text = rollout(JUDGED.replace("JUDGE", judge).replace("SETTINGS", settings))
    bad = Traffic(0.05)
    d = Drive(store, build(text, judge_interval_ms=10 * S), series=bad.series)
    s = d.tick_for(120)
    assert s.phase is P.DEGRADED and "background analysis ended Failed" in s.abort_reason
    assert any("[10s]" in q for q in bad.asked) and not any("{{" in q for q in bad.asked)
    good = Traffic(0.01)
    d2 = Drive(store, build(text.replace("checkout-v2", "checkout-v3"), judge_interval_ms=10 * S), series=good.series)
    assert d2.tick_for(400).phase is P.HEALTHY


def test_a_judge_of_raw_samples_cannot_be_a_judge_metric() -> None:
    text = rollout(JUDGED.replace("JUDGE", "mann-whitney").replace("SETTINGS", "{}")
                   .replace("errors: sum", "samples: sum").replace("total: sum(increase(", "#"))
    b = load_bundle(text)
    assert not b.errors, b.errors  # the reader takes samples queries; the plan cannot measure them
    with pytest.raises(PlanBuildError, match="raw samples"):
        plan_from_spec(b.rollouts[0], b.templates)


def blue_green(extra: str) -> str:
    return rollout(f"""
blueGreen:
  prePromotionAnalysis:
    templates: [{{templateName: success-rate}}]
    args: {{service-name: checkout}}
  scaleDownDelaySeconds: 20
{extra}""")


def test_blue_green_without_auto_promotion_waits_for_a_person(store: SqlStateStore) -> None:
    d = Drive(store, build(blue_green("  autoPromotionEnabled: false")))
    s = d.tick_for(120)
    assert (s.phase, s.canary_weight) == (P.PAUSED, 0)
    d.promote()
    s = d.tick_for(10)
    assert (s.phase, s.canary_weight) == (P.PROGRESSING, 100)  # the scale-down delay (20 s)
    assert d.tick_for(15).phase is P.HEALTHY
    assert d.weights() == [100, 100]


def test_blue_green_auto_promotes_after_its_seconds(store: SqlStateStore) -> None:
    d = Drive(store, build(blue_green("  autoPromotionSeconds: 40")))
    assert d.tick_for(35).canary_weight == 0
    assert d.tick_for(10).canary_weight == 100


def test_blue_green_auto_promotes_at_once_without_seconds(store: SqlStateStore) -> None:
    d = Drive(store, build(blue_green("")))
    assert d.tick_for(3).canary_weight == 100


def test_a_failing_pre_promotion_analysis_never_switches(store: SqlStateStore) -> None:
    d = Drive(store, build(blue_green("")), {'ok{service="checkout"}': 0.2})
    assert d.tick_for(10).phase is P.DEGRADED
    assert d.weights() == [0]


def test_argo_rollouts_from_the_docs_become_plans() -> None:
    b = load_bundle_files([DATA / "argo-bluegreen.yaml", DATA / "argo-canary.yaml"])
    plans = {s.name: plan_from_spec(s, b.templates) for s in b.rollouts}
    assert plans and all(p.effective_steps() for p in plans.values())


def test_a_starting_step_past_the_steps_is_refused_by_the_reader_and_by_the_plan() -> None:
    b = load_bundle(rollout(BACKGROUND.replace("startingStep: 2", "startingStep: 9")))
    assert [p.path.rsplit(".", 1)[-1] for p in b.errors] == ["startingStep"]
    good = load_bundle(rollout(BACKGROUND))
    spec = good.rollouts[0]
    assert isinstance(spec.strategy, CanaryStrategy) and spec.strategy.analysis is not None
    bad = replace(spec, strategy=replace(spec.strategy, analysis=replace(spec.strategy.analysis, starting_step=9)))
    with pytest.raises(PlanBuildError, match=r"startingStep is 9, outside its 4 steps"):
        plan_from_spec(bad, good.templates)


def test_judges_without_a_background_template_make_their_own_analysis() -> None:
    text = rollout(JUDGED.replace("JUDGE", "exact").replace("SETTINGS", "{}"))
    plan = build(text, judge_interval_ms=7 * S)
    assert plan.background is not None and plan.background_start == 0
    [m] = plan.background.metrics
    assert (m.name, m.interval_ms, m.initial_delay_ms, m.count) == ("errors", 7 * S, 7 * S, None)


def test_the_spec_s_judge_interval_sets_how_often_the_judges_look() -> None:
    text = rollout(JUDGED.replace("JUDGE", "exact").replace("SETTINGS", "{}").replace("  judges:", "  judgeInterval: 12s\n  judges:"))
    [m] = build(text, judge_interval_ms=7 * S).background.metrics  # type: ignore[union-attr]
    assert (m.interval_ms, m.initial_delay_ms) == (12 * S, 12 * S)
    bad = load_bundle(text.replace("judgeInterval: 12s", "judgeInterval: 0s"))
    assert [p.path for p in bad.errors] == ["documents[0].spec.strategy.canary.judgeInterval"]
    assert "at least 1s" in bad.errors[0].message
