"""Judge metrics in analysis runs, on a temporary TSDB with synthetic baseline and canary."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sloguard.delivery.analysis import (
    AnalysisPhase,
    AnalysisRun,
    MeasurementPhase,
    Metric,
    next_due_ms,
    run_from_state,
    run_to_state,
    start_run,
    step,
)
from sloguard.delivery.analysis.judged import Arms, JudgeConfig, engine_series_query
from sloguard.delivery.analysis.providers import ProviderEnv, engine_query
from sloguard.delivery.analysis.template import instantiate, load_templates
from sloguard.delivery.judges import (
    ExactSettings,
    Outcome,
    SequentialSettings,
    TailSettings,
    holm,
)
from tests.delivery.analysis._judged_data import (
    BUCKETS,
    EVENTS,
    EXPOSURE,
    SLOW,
    T0,
    Arm,
    open_engine,
    write,
)

P = MeasurementPhase
MIN = 60_000


def _env(tmp_path: Path, arms: dict[str, Arm]) -> Iterator[ProviderEnv]:
    data = tmp_path / f"data-{len(list(tmp_path.iterdir()))}"  # one store per fixture
    write(data, arms)
    db, engine = open_engine(data)
    try:
        yield ProviderEnv(query=engine_query(engine), series=engine_series_query(engine))  # type: ignore[arg-type]
    finally:
        db.close()


@pytest.fixture
def worse(tmp_path: Path) -> Iterator[ProviderEnv]:
    yield from _env(tmp_path, {"baseline": Arm(), "canary": Arm(error_share=0.02, latency=SLOW), "stable": Arm()})


@pytest.fixture
def same(tmp_path: Path) -> Iterator[ProviderEnv]:
    yield from _env(tmp_path, {"baseline": Arm(), "canary": Arm(), "stable": Arm(error_share=0.05)})


def errors(name: str = "errors", *, count: int = 5, **kw: Any) -> Metric:
    config = JudgeConfig("exact", kw.pop("settings", ExactSettings()), EVENTS, EXPOSURE, **kw)
    return Metric(name, config, interval_ms=MIN, count=count, initial_delay_ms=MIN)


def latency(name: str = "latency") -> Metric:
    config = JudgeConfig("tail", TailSettings(quantile=0.9, min_samples=500), buckets=BUCKETS)
    return Metric(name, config, interval_ms=MIN, count=5, initial_delay_ms=MIN)


def drive(run: AnalysisRun, env: ProviderEnv, until: int | None = None) -> AnalysisRun:
    """The controller's loop: step at every due time."""
    t: int | None = run.started_ms
    for _ in range(60):  # bounded: a run that never ends is a failure, not a hang
        if run.phase.completed or t is None or (until is not None and t > until):
            return run
        run = asyncio.run(step(run, env, t))
        t = next_due_ms(run)
    raise AssertionError(f"the run {run.name!r} did not end in 60 steps")


def test_a_canary_with_twice_the_errors_fails(worse: ProviderEnv) -> None:
    run = drive(start_run("c", [errors()], T0), worse)
    assert run.phase is AnalysisPhase.FAILED
    m = run.results[0].measurements[-1]
    assert m.phase is P.FAILED and m.verdict is not None and m.verdict.outcome is Outcome.FAIL
    v = m.verdict
    assert v.p_value is not None and v.p_value < 0.05 and v.effect == pytest.approx(2.0, rel=0.1)
    assert v.interval is not None and v.interval.low > 1.0 and v.baseline_n > 0 and v.canary_n > 0
    assert m.message == v.reason and "failureLimit" in run.message


def test_an_identical_canary_passes(same: ProviderEnv) -> None:
    run = drive(start_run("c", [errors(count=3)], T0), same)
    assert run.phase is AnalysisPhase.SUCCESSFUL
    verdicts = [m.verdict for m in run.results[0].measurements]
    assert len(verdicts) == 3 and all(v is not None and v.outcome is Outcome.PASS for v in verdicts)
    assert all(v.effect == pytest.approx(1.0, rel=0.05) for v in verdicts if v)
    assert json.loads(run.results[0].measurements[0].value)["baseline_selector"] == 'version="baseline"'


def test_insufficient_data_waits_then_ends_inconclusive(same: ProviderEnv) -> None:
    metric = errors(settings=ExactSettings(min_exposure=1e9), insufficient_limit=2, count=10)
    run = start_run("c", [metric], T0)
    run = drive(run, same, until=T0 + 2 * MIN)
    assert not run.phase.completed and [m.phase for m in run.results[0].measurements] == [P.INSUFFICIENT_DATA] * 2
    assert run.results[0].count == 0  # insufficient data measures nothing
    run = drive(run, same)
    assert run.phase is AnalysisPhase.INCONCLUSIVE
    last = run.results[0].measurements[-1]
    assert last.phase is P.INCONCLUSIVE and "insufficientDataLimit (2)" in last.message
    assert last.verdict is not None and last.verdict.outcome is Outcome.INSUFFICIENT_DATA
    assert len(run.results[0].measurements) == 3


def test_the_baseline_falls_back_to_the_stable_pool(same: ProviderEnv) -> None:
    arms = Arms(baseline="nowhere")  # no such version: the stable pool, with 5x the errors
    run = drive(start_run("c", [errors(arms=arms, count=2)], T0), same)
    v = run.results[0].measurements[-1].verdict
    assert v is not None and 'the stable pool version="stable"' in v.reason and v.effect < 0.5
    assert run.phase is AnalysisPhase.SUCCESSFUL
    without = drive(start_run("c", [errors(arms=Arms(baseline="nowhere", fallback=None), count=2)], T0), same)
    first = without.results[0].measurements[0]
    assert first.phase is P.INSUFFICIENT_DATA and 'no series for version="nowhere"' in first.message
    assert without.phase is AnalysisPhase.INCONCLUSIVE


def _sequential() -> Metric:
    config = JudgeConfig("exact", ExactSettings(), EVENTS, EXPOSURE, method="sequential",
                         method_settings=SequentialSettings(min_exposure=100))
    return Metric("seq", config, interval_ms=MIN, count=8, initial_delay_ms=MIN)


def test_sequential_state_survives_the_state_store(same: ProviderEnv) -> None:
    whole = drive(start_run("c", [_sequential()], T0), same)
    half = drive(start_run("c", [_sequential()], T0), same, until=T0 + 4 * MIN)
    saved = json.loads(json.dumps(run_to_state(half)))
    assert json.loads(saved["results"][0]["memory"])["sequential"]["looks"] == 4
    restored = run_from_state(saved, [_sequential()])
    assert restored.results[0].memory == half.results[0].memory
    resumed = drive(restored, same)
    assert resumed.phase is whole.phase is AnalysisPhase.SUCCESSFUL
    got = [m.verdict.to_dict() for m in resumed.results[0].measurements if m.verdict]
    want = [m.verdict.to_dict() for m in whole.results[0].measurements if m.verdict]
    assert got == want and want[-1]["details"]["look"] == 8.0
    # a fresh state at the 5th look would start its likelihood ratio over: different evidence
    fresh = drive(start_run("c", [_sequential()], T0 + 4 * MIN), same, until=T0 + 5 * MIN)
    assert fresh.results[0].measurements[-1].verdict != resumed.results[0].measurements[4].verdict


def test_sequential_fails_a_worse_canary(worse: ProviderEnv) -> None:
    run = drive(start_run("c", [_sequential()], T0), worse)
    assert run.phase is AnalysisPhase.FAILED
    v = run.results[0].measurements[-1].verdict
    assert v is not None and v.likelihood_ratio is not None and v.likelihood_ratio >= 20


def test_holm_across_two_judge_metrics(worse: ProviderEnv) -> None:
    run = drive(start_run("c", [errors(count=1), latency()], T0), worse)
    e, lat = (r.measurements[0].verdict for r in run.results)
    assert e is not None and lat is not None
    raw = [dict(e.details)["raw_p_value"], dict(lat.details)["raw_p_value"]]
    assert [e.p_value, lat.p_value] == pytest.approx(holm(raw))
    assert "holm correction across 2 metrics" in e.reason and "holm correction" in lat.reason
    alone = drive(start_run("c", [errors(count=1)], T0), worse).results[0].measurements[0].verdict
    assert alone is not None and alone.p_value == pytest.approx(raw[0]) and "correction" not in alone.reason


def test_state_keeps_the_verdicts(worse: ProviderEnv) -> None:
    run = drive(start_run("c", [errors()], T0), worse)
    back = run_from_state(json.loads(json.dumps(run_to_state(run))), [errors()])
    assert back == run


TEMPLATE = """
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: judged}
spec:
  args: [{name: label, value: version}]
  metrics:
  - name: errors
    interval: 1m
    initialDelay: 1m
    count: 3
    provider:
      judge:
        name: exact
        settings: {alpha: 0.01, min_exposure: 200}
        events: 'sum(increase(req_total{code="500",$ARM}[$WINDOW]))'
        exposure: 'sum(increase(req_total{$ARM}[$WINDOW]))'
        arms: {label: '{{args.label}}'}
        insufficientDataLimit: 3
"""


def test_a_template_with_a_judge_metric(worse: ProviderEnv) -> None:
    templates, problems = load_templates(TEMPLATE)
    assert problems == []
    (metric,) = instantiate(templates[0])
    assert isinstance(metric.provider, JudgeConfig) and metric.provider.settings == ExactSettings(0.01, 200)
    assert metric.provider.insufficient_limit == 3 and metric.provider.arms == Arms()
    assert drive(start_run("c", [metric], T0), worse).phase is AnalysisPhase.FAILED


@pytest.mark.parametrize(("edit", "words"), [
    (("name: exact\n", "name: nope\n"), "unknown judge 'nope'"),
    (("name: exact\n        settings: {alpha: 0.01, min_exposure: 200}\n", "name: mann-whitney\n"), "raw samples"),
    (("min_exposure: 200", "min_exposur: 200"), "unknown key(s) 'min_exposur'"),
    (("'sum(increase(req_total{$ARM}", "'sum(increase(req_total{version=\"x\"}"), "does not contain $ARM"),
    (("insufficientDataLimit: 3", "insufficientDataLimit: 3\n        color: red"), "judge.color"),
    (("insufficientDataLimit: 3", "sequential: {method: sequential, settings: {grid: 0}}"), "grid"),
    (("    count: 3\n", "    count: 3\n    successCondition: result[0] > 1\n"), "is not used by a judge metric"),
])
def test_template_problems_name_the_key(edit: tuple[str, str], words: str) -> None:
    _, problems = load_templates(TEMPLATE.replace(*edit))
    text = "; ".join(str(p) for p in problems)
    assert words in text and "spec.metrics[0]." in text


def test_alpha_spending_keeps_its_looks_and_is_not_corrected(worse: ProviderEnv, same: ProviderEnv) -> None:
    from sloguard.delivery.judges import SpendingSettings

    config = JudgeConfig("exact", ExactSettings(), EVENTS, EXPOSURE, method="alpha-spending",
                         method_settings=SpendingSettings(looks=5))
    metric = Metric("spend", config, interval_ms=MIN, count=5, initial_delay_ms=MIN)
    passed = drive(start_run("c", [metric], T0), same)
    assert passed.phase is AnalysisPhase.SUCCESSFUL
    assert json.loads(passed.results[0].memory)["spending"]["looks"] == 5
    failed = drive(start_run("c", [metric, errors("errors2")], T0), worse)
    spent = failed.results[0].measurements[0].verdict
    assert failed.phase is AnalysisPhase.FAILED and spent is not None and "correction" not in spent.reason
    assert spent.reason.startswith("look 1 of 5 (pocock spending")


@pytest.mark.parametrize(("kw", "words"), [
    ({"judge": "mann-whitney"}, "raw samples"),
    ({"events": ""}, "needs events and exposure"),
    ({"judge": "tail", "buckets": ""}, "needs a buckets query"),
    ({"method": "sequential", "judge": "tail", "buckets": "x{$ARM}"}, "judges error counts"),
    ({"method": "bayes"}, "'bayes' is unknown"),
])
def test_judge_config_problems(kw: dict[str, Any], words: str) -> None:
    from sloguard.delivery.analysis import AnalysisError

    args: dict[str, Any] = {"judge": "exact", "settings": None, "events": EVENTS, "exposure": EXPOSURE, **kw}
    with pytest.raises(AnalysisError, match=words):
        JudgeConfig(**args)


def test_a_query_error_is_an_error_measurement(same: ProviderEnv) -> None:
    config = JudgeConfig("exact", ExactSettings(), "sum(rate(x{$ARM}[1m])", EXPOSURE)
    run = drive(start_run("c", [Metric("bad", config, interval_ms=MIN, count=1, initial_delay_ms=MIN)], T0), same)
    m = run.results[0].measurements[0]
    assert m.phase is P.ERROR and "failed at" in m.message and m.verdict is None
    assert run.phase is AnalysisPhase.ERROR
    no_engine = asyncio.run(step(start_run("c", [errors()], T0), ProviderEnv(), T0 + MIN))
    assert "ProviderEnv.series" in no_engine.results[0].measurements[0].message


def test_per_arm_queries_judge_each_side_with_its_own_query_and_no_fallback(worse: ProviderEnv, same: ProviderEnv) -> None:
    from sloguard.delivery.analysis import AnalysisError
    from sloguard.delivery.analysis.judged import ArmQueries

    def arm(version: str) -> ArmQueries:
        sel = f'version="{version}"'
        return ArmQueries(EVENTS.replace("$ARM", sel), EXPOSURE.replace("$ARM", sel), label=f"the {version} queries")

    def metric(baseline: str) -> Metric:
        config = JudgeConfig("exact", ExactSettings(), arms=Arms(fallback=None), per_arm=(arm(baseline), arm("canary")))
        return Metric("errors", config, interval_ms=MIN, count=5, initial_delay_ms=MIN)

    assert drive(start_run("c", [metric("baseline")], T0), worse).phase is AnalysisPhase.FAILED
    assert drive(start_run("c", [metric("baseline")], T0), same).phase is AnalysisPhase.SUCCESSFUL
    missing = drive(start_run("c", [metric("nothing")], T0), same).results[0].measurements[0]
    assert missing.phase is P.INSUFFICIENT_DATA and "the nothing queries" in missing.message
    with pytest.raises(AnalysisError, match="needs events and exposure"):
        JudgeConfig("exact", ExactSettings(), per_arm=(arm("baseline"), ArmQueries(events="x")))


@pytest.mark.parametrize(("sequential", "count", "looks"), [
    ("{method: sequential}", "count: 3", 3),  # the metric's count is the planned horizon
    ("{method: sequential, settings: {alpha: 0.01}}", "count: 3", 3),
    ("{method: sequential, settings: {looks: 0}}", "count: 3", 0),  # 0 given: the mSPRT, whatever the count
    ("{method: sequential, settings: {looks: 7}}", "count: 3", 7),
    ("{method: sequential}", "", 0),  # no count: no horizon known
])
def test_a_sequential_judge_plans_its_looks_from_the_count(sequential: str, count: str, looks: int) -> None:
    text = TEMPLATE.replace("insufficientDataLimit: 3", f"insufficientDataLimit: 3\n        sequential: {sequential}")
    text = text.replace("    count: 3\n", f"    {count}\n" if count else "")
    templates, problems = load_templates(text)
    assert problems == []
    (metric,) = instantiate(templates[0])
    assert isinstance(metric.provider, JudgeConfig) and metric.provider.method == "sequential"
    assert (metric.provider.method_settings or SequentialSettings()).looks == looks
