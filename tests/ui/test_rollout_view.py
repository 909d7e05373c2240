"""The rollout pages' shaping of the API's JSON: commands per phase, the weight timeline
from the events, measurement values as numbers, and judge verdicts as table rows."""

from __future__ import annotations

import math
from typing import Any

import pytest

from sloguard.delivery.judges import Counts, ExactSettings, rate_ratio
from sloguard.ui._rollout_view import (
    allowed,
    figure,
    list_order,
    metric_charts,
    number,
    seconds,
    traffic_query,
    verdict_rows,
    weight_series,
)

T0 = "2026-12-03T21:00:00.000Z"


def at(s: int) -> str:
    return f"2026-12-03T21:00:{s:02d}.000Z"


@pytest.mark.parametrize(("phase", "hold", "enabled"), [
    ("Progressing", "", {"promote", "promote-full", "pause", "abort"}),
    ("Paused", "", {"promote", "promote-full", "pause", "abort"}),
    ("Paused", "An analysis was inconclusive.", {"promote", "promote-full", "resume", "abort"}),
    ("Degraded", "", {"retry"}),
    ("Healthy", "", set()),
])
def test_commands_are_enabled_as_the_phase_allows(phase: str, hold: str, enabled: set[str]) -> None:
    got = allowed({"phase": phase, "hold": hold, "strategy": "canary"})
    assert {k for k, v in got.items() if v} == enabled


def test_a_rollout_whose_spec_cannot_be_rebuilt_offers_no_command() -> None:
    for phase in ("Paused", "Degraded"):
        assert not any(allowed({"phase": phase, "hold": "", "strategy": None}).values())


def test_the_weight_timeline_steps_at_each_weight_event_and_ends_at_the_current_weight() -> None:
    view = {"phase": "Degraded", "canaryWeight": 0, "updatedAt": at(30), "events": [
        {"time": at(0), "type": "RolloutStarted", "message": "started"},
        {"time": at(1), "type": "RolloutStepCompleted", "message": "Step 1 done: The canary takes 20% of the traffic."},
        {"time": at(2), "type": "RolloutStepCompleted", "message": "Step 2 done: paused 1s."},
        {"time": at(10), "type": "RolloutAborted", "message": "Aborted by bo"},
    ]}
    w = weight_series(view, now=10_000_000_000.0)
    t0 = seconds(T0)
    assert t0 is not None
    assert [round(t - t0, 3) for t in w["timestamps"]] == [0, 1, 1.001, 10, 10.001, 30]
    assert w["values"] == [0, 0, 20, 20, 0, 0]


def test_a_running_rollout_weight_reaches_now_and_no_events_give_no_points() -> None:
    view = {"phase": "Paused", "canaryWeight": 20, "events": [
        {"time": at(0), "type": "RolloutStepCompleted", "message": "Step 1 done: The canary takes 20% of the traffic."}]}
    now = (seconds(at(0)) or 0) + 60
    w = weight_series(view, now)
    assert w["timestamps"][-1] == now and w["values"] == [0, 0, 20, 20]
    assert weight_series({"events": []}, now) == {"timestamps": [], "values": []}


@pytest.mark.parametrize(("raw", "want"), [
    ("0.97", 0.97), ("[0.5]", 0.5), (3, 3.0), ("NaN", None), ("[1, 2]", None), ('{"baseline": 1}', None), (True, None),
])
def test_measurement_values_become_numbers_only_when_they_are_one_finite_number(raw: Any, want: float | None) -> None:
    assert number(raw) == want


def test_figures_keep_four_digits_and_name_infinity() -> None:
    assert (figure(0.65624999), figure("+Inf"), figure(None), figure(math.inf), figure(1234567.0)) == (
        "0.6562", "∞", "-", "∞", "1.235e+06")


def _judged_view() -> dict[str, Any]:
    v = rate_ratio(Counts(events=0, exposure=2000), Counts(events=6, exposure=2000), ExactSettings(alpha=0.05))
    ms = [{"phase": "Successful", "value": "{}", "startedAt": at(1), "finishedAt": at(1), "verdict": v.to_dict()},
          {"phase": "Failed", "value": "{}", "startedAt": at(2), "finishedAt": at(2), "verdict": v.to_dict()}]
    plain = [{"phase": "Successful", "value": "[0.99]", "startedAt": at(1), "finishedAt": at(1)},
             {"phase": "Error", "value": "", "startedAt": at(2), "finishedAt": at(2), "message": "down"}]
    return {"analyses": [{"key": "background", "phase": "Failed", "message": "", "metrics": [
        {"name": "errors", "phase": "Failed", "measurements": ms},
        {"name": "success-rate", "phase": "Running", "measurements": plain},
        {"name": "text", "phase": "Running", "measurements": [{"value": "ok", "startedAt": at(1)}]}]}]}


def test_verdict_rows_carry_the_judges_figures_newest_first() -> None:
    rows, total = verdict_rows(_judged_view(), limit=1)
    assert total == 2 and len(rows) == 1 and rows[0].time == at(2)
    r = rows[0]
    assert (r.judge, r.outcome, r.p_value, r.likelihood_ratio) == ("exact", "fail", "0.0156", "-")
    assert r.effect == "canary/baseline rate ratio = ∞" and r.interval.endswith("at 95%") and r.samples == "2000 / 2000"
    assert "exact p = 0.0156" in r.reason


def test_each_metric_with_numbers_gets_a_chart_of_its_p_value_or_its_value() -> None:
    charts = metric_charts(_judged_view())
    assert [(c.metric, c.label, c.threshold) for c in charts] == [("errors", "p-value", 0.05), ("success-rate", "value", None)]
    assert charts[0].values == [pytest.approx(0.015625)] * 2 and charts[1].values == [0.99, None]


def test_the_list_puts_running_rollouts_first_then_the_latest_updated() -> None:
    rs = [{"name": "a", "phase": "Healthy", "updatedAt": at(9)}, {"name": "b", "phase": "Paused", "updatedAt": at(1)},
          {"name": "c", "phase": "Progressing", "updatedAt": at(5)}, {"name": "d", "phase": "Degraded", "updatedAt": at(3)}]
    assert [r["name"] for r in list_order(rs)] == ["c", "b", "a", "d"]


def test_the_traffic_query_covers_the_rollout_and_names_its_service_safely() -> None:
    t0 = seconds(at(0)) or 0.0
    running = traffic_query({"service": 'we"b', "phase": "Paused", "createdAt": at(0)}, now=t0 + 3600)
    assert running["query"] == 'sum by (version) (rate(http_requests_total{service="we\\"b"}[76s]))'
    assert (running["start"], running["end"], running["step"]) == (t0 - 60, t0 + 3600, 19)
    done = traffic_query({"service": "web", "phase": "Healthy", "createdAt": at(0), "updatedAt": at(30)}, now=t0 + 86400)
    assert (done["start"], done["end"], done["step"]) == (t0 + 90 - 300, t0 + 90, 2)
    assert done["query"].endswith("[30s]))")
