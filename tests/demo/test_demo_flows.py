"""The demo's spec files validate as shipped and once filled in; the flows judge the
rollouts' ends against what is expected (driven here by a fake rollout service)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sloguard.delivery.plan import plan_from_spec
from sloguard.delivery.spec import load_bundle, load_bundle_files
from sloguard.demo.flows import EXPECTED, judge_lines, run_flow, run_flows
from sloguard.demo.service import DemoError
from sloguard.demo.specfiles import ROLLOUTS, Addresses, rollout_text, spec_dir
from sloguard.slo.loader import load_files

ADDR = Addresses(4321, {"v1": "127.0.0.1:5001", "v2": "127.0.0.1:5002", "v3": "127.0.0.1:5003"})


def test_the_shipped_rollouts_and_slos_validate_as_they_are() -> None:
    b = load_bundle_files([spec_dir() / f for f in ROLLOUTS.values()])
    assert not b.problems
    assert sorted(r.name for r in b.rollouts) == ["checkout-v2", "checkout-v3"]
    slos, problems = load_files([str(spec_dir() / "slos.yml")])
    assert not [p for p in problems if p.is_error]
    assert {s.name for s in slos} == {"checkout-availability", "checkout-latency"}


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_a_filled_in_rollout_names_the_real_addresses_and_scaled_pauses(version: str) -> None:
    text = rollout_text(version, ADDR, pause_scale=0.5)
    b = load_bundle(text)
    assert not b.errors
    (spec,) = b.rollouts
    assert spec.stable is not None and spec.stable.upstreams == ("127.0.0.1:5001",)
    assert spec.canary is not None and spec.canary.upstreams == (ADDR.versions[version],)
    assert spec.router is not None and spec.router.config["port"] == 4321
    plan = plan_from_spec(spec, b.templates)
    pauses = [s.duration_ms for s in plan.steps if hasattr(s, "duration_ms")]
    full = [s.duration_ms for s in plan_from_spec(load_bundle(rollout_text(version, ADDR)).rollouts[0], {}).steps
            if hasattr(s, "duration_ms")]
    assert pauses == [round(d / 2000) * 1000 for d in full] and all(p >= 1000 for p in pauses)
    assert plan.background is not None and {m.name for m in plan.background.metrics} == {"errors", "latency-p99"}


def test_filling_in_refuses_an_unknown_version_or_a_missing_address() -> None:
    with pytest.raises(DemoError, match="no rollout of version 'v9'"):
        rollout_text("v9", ADDR)
    with pytest.raises(DemoError, match="no address for version 'v3'"):
        rollout_text("v3", Addresses(1, {"v1": "127.0.0.1:1"}))


VERDICT = {"judge": "exact", "outcome": "fail", "p_value": 0.002, "likelihood_ratio": 140.0,
           "reason": "canary 17 errors in 900 vs baseline 14 in 3,000"}


class FakeRollouts:
    """Each started rollout walks through ``script[version]`` (one view per get)."""

    def __init__(self, script: dict[str, list[dict[str, Any]]]) -> None:
        self.script, self.started, self.aborted = script, [], []
        self._views: dict[str, list[dict[str, Any]]] = {}

    async def start(self, text: str, *, source: str = "<api>", name: str | None = None,
                    force: Any = None, actor: str = "api") -> dict[str, Any]:
        (spec,) = load_bundle(text).rollouts
        assert spec.canary is not None
        self.started.append(spec.name)
        self._views[spec.name] = [dict(v, name=spec.name) for v in self.script[spec.canary.name]]
        return self._views[spec.name][0]

    def get(self, name: str) -> dict[str, Any]:
        if name not in self._views:
            e = LookupError(name)
            e.status = 404  # type: ignore[attr-defined]  # as RolloutServiceError
            raise e
        views = self._views[name]
        return views.pop(0) if len(views) > 1 else views[0]

    async def abort(self, name: str, actor: str, reason: str) -> dict[str, Any]:
        self.aborted.append((name, reason))
        return {"name": name, "phase": "Degraded", "abortReason": reason}

    def proxy_port(self, service: str) -> int | None:
        return 4321


def _run(fake: FakeRollouts, timeout_s: float = 5.0) -> list[Any]:
    seen: list[tuple[str, str]] = []
    out = asyncio.run(run_flows(fake, ADDR, timeout_s=timeout_s, poll_s=0.001,
                                on_view=lambda n, v: seen.append((n, v["phase"]))))
    assert seen and seen[-1][0] == "checkout-v3"
    return out


ABORTED = [{"phase": "Progressing"}, {"phase": "Paused"},
           {"phase": "Degraded", "abortReason": "The background analysis ended Failed: errors",
            "analyses": [{"key": "background", "metrics": [{"name": "errors", "measurements": [{"verdict": VERDICT}]}]}]}]
PROMOTED = [{"phase": "Progressing"}, {"phase": "Healthy", "message": "Promoted."}]


def test_v2_aborted_and_v3_promoted_is_what_the_demo_expects() -> None:
    results = _run(FakeRollouts({"v2": ABORTED, "v3": PROMOTED}))
    assert [(r.name, r.phase, r.ok) for r in results] == [("checkout-v2", "Degraded", True), ("checkout-v3", "Healthy", True)]
    assert results[0].reason == "The background analysis ended Failed: errors"
    assert results[0].judges == ("errors: exact fail (p = 0.002, likelihood ratio 140): canary 17 errors in 900 vs baseline 14 in 3,000",)


def test_a_v2_that_is_promoted_is_not_what_the_demo_expects() -> None:
    results = _run(FakeRollouts({"v2": PROMOTED, "v3": PROMOTED}))
    assert [r.ok for r in results] == [False, True]


def test_a_rollout_held_for_a_person_or_too_slow_is_aborted_and_reported() -> None:
    held = [{"phase": "Progressing"}, {"phase": "Paused", "hold": "The background analysis was inconclusive: x"}]
    fake = FakeRollouts({"v2": held, "v3": [{"phase": "Progressing"}]})
    results = _run(fake, timeout_s=0.05)
    assert [r.ok for r in results] == [False, False]
    assert [n for n, _ in fake.aborted] == ["checkout-v2", "checkout-v3"]
    assert "inconclusive" in results[0].phase and "did not finish within 0.05 s" in results[1].phase


def test_judge_lines_read_every_judge_metric_of_every_analysis() -> None:
    view = {"analyses": [{"metrics": [{"name": "a", "measurements": [{"verdict": VERDICT}, {"phase": "Error"}]},
                                      {"name": "b", "measurements": []}]}]}
    assert judge_lines(view) == (f"a: exact fail (p = 0.002, likelihood ratio 140): {VERDICT['reason']}",)
    assert EXPECTED == (("v2", "Degraded"), ("v3", "Healthy"))


class PolicyError409(Exception):
    status = 409


class BudgetSpentRollouts(FakeRollouts):
    """Refuses every start without a force, as the error-budget policy does once v2's canary spent it."""

    def __init__(self, script: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__(script)
        self.forces: list[Any] = []

    async def start(self, text: str, *, source: str = "<api>", name: str | None = None,
                    force: Any = None, actor: str = "api") -> dict[str, Any]:
        if force is None:
            raise PolicyError409("The error budget of the service 'checkout' is exhausted (-20.0% left); ...")
        self.forces.append(force)
        return await super().start(text, source=source, name=name, force=force, actor=actor)


def test_the_fix_is_forced_past_a_spent_budget_with_who_and_why_and_the_refusal_is_reported() -> None:
    fake = BudgetSpentRollouts({"v2": ABORTED, "v3": PROMOTED})
    with pytest.raises(PolicyError409):  # v2 is not the fix: its refusal is not overridden
        _run(fake)
    fake = BudgetSpentRollouts({"v2": ABORTED, "v3": PROMOTED})
    result = asyncio.run(run_flow(fake, "v3", "Healthy", ADDR, timeout_s=5.0, poll_s=0.001))
    assert result.ok and [f.actor for f in fake.forces] == ["demo"] and "regression" in fake.forces[0].reason
    assert result.forced.startswith("The error budget of the service 'checkout' is exhausted") and "Forced by demo" in result.forced
