"""``explain``: every decision of a run with its evidence, as lines and as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sloguard.delivery.analysis import AnalysisPhase, Metric, start_run
from sloguard.delivery.analysis.condition import Condition
from sloguard.delivery.analysis.providers import PromQLConfig, ProviderEnv
from sloguard.delivery.explain import explain_json, explain_lines
from tests.delivery.analysis._judged_data import SLOW, T0, Arm
from tests.delivery.analysis.test_judged import _env, drive, errors, latency


@pytest.fixture
def worse(tmp_path: Path) -> Iterator[ProviderEnv]:
    yield from _env(tmp_path, {"baseline": Arm(), "canary": Arm(error_share=0.02, latency=SLOW)})


def test_lines_name_the_evidence_of_each_measurement(worse: ProviderEnv) -> None:
    run = drive(start_run("canary-1", [errors(), latency()], T0), worse)
    assert run.phase is AnalysisPhase.FAILED
    lines = explain_lines(run)
    text = "\n".join(lines)
    verdicts = [m.verdict for r in run.results for m in r.measurements if m.verdict]
    assert len(verdicts) >= 2
    assert text.count("statistic: ") == text.count("effect: ") == text.count("p-value = ") == len(verdicts)
    for v in verdicts:
        assert v.reason in text and v.statistic_name in text and v.effect_name in text
        assert v.interval is not None and str(v.interval) in text
    assert lines[0] == "Analysis run canary-1: Failed"
    assert lines[-1].startswith("Decision at ") and run.message in lines[-1]
    assert any(line.startswith("  ended: failed (1) > failureLimit (0)") for line in lines)


def test_json_matches_the_run_and_is_json_safe(worse: ProviderEnv) -> None:
    run = drive(start_run("canary-1", [errors()], T0), worse)
    got = json.loads(json.dumps(explain_json(run)))
    (metric,) = got["metrics"]
    assert metric["kind"] == "judge exact" and metric["phase"] == "Failed"
    assert metric["ended_by"] == run.results[0].message
    steps = metric["steps"]
    assert [s["phase"] for s in steps] == [m.phase.value for m in run.results[0].measurements]
    last = steps[-1]["verdict"]
    assert last["outcome"] == "fail" and isinstance(last["p_value"], float) and last["interval"]["low"] > 1
    assert steps[0]["offset_s"] == 60.0 and got["message"] == run.message


def test_condition_metrics_show_value_and_reason() -> None:
    metric = Metric("ok", PromQLConfig("vector(1)"), success_condition=Condition.compile("result[0] > 2"))
    from sloguard.delivery.analysis import Measurement, MeasurementPhase, reconcile

    run = start_run("r", [metric], T0)
    run = reconcile(run, T0, {"ok": Measurement(MeasurementPhase.FAILED, T0, T0, "[1]")})
    lines = explain_lines(run)
    assert "Metric ok [promql]: Failed" in lines and "  1. +0m00s (2023-11-14T22:13:20Z) Failed value [1]" in lines
    assert "statistic" not in "\n".join(lines)
