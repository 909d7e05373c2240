"""Analysis runs over simulated time: Argo's semantics, its 4479 trap fixed, no data, dry runs."""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace

import pytest

from sloguard.delivery.analysis import (
    AnalysisError,
    AnalysisPhase,
    AnalysisRun,
    Measurement,
    MeasurementPhase,
    assess,
    assess_result,
    due_metrics,
    next_due_ms,
    reconcile,
    run_to_end,
    start_run,
    terminate,
)
from sloguard.delivery.analysis.providers import ProviderEnv
from tests.delivery.analysis._fake import BOOM, JumpClock, M, S, metric

P, A = MeasurementPhase, AnalysisPhase
NAN = math.nan
ENV = ProviderEnv()


def _run(*metrics: object, until: int | None = None, start: int = 0) -> tuple[AnalysisRun, JumpClock]:
    clock = JumpClock(start)
    run = start_run("r", list(metrics), start)  # type: ignore[arg-type]
    return asyncio.run(run_to_end(run, ENV, clock, until)), clock


def _calls(run: AnalysisRun, name: str = "m") -> list[int]:
    return next(m for m in run.metrics if m.name == name).provider.calls  # type: ignore[attr-defined, no-any-return]


# --- assess: one measurement ------------------------------------------------------------

@pytest.mark.parametrize(("success", "failure", "result", "want"), [
    (None, None, [0.1], P.SUCCESSFUL),  # neither condition: any result passes (Argo)
    ("result[0] >= 0.95", None, [0.97], P.SUCCESSFUL),
    ("result[0] >= 0.95", None, [0.90], P.FAILED),  # only success: false fails
    (None, "result[0] < 0.9", [0.95], P.SUCCESSFUL),  # only failure: false passes
    (None, "result[0] < 0.9", [0.5], P.FAILED),
    ("result[0] >= 0.95", "result[0] < 0.9", [0.92], P.INCONCLUSIVE),  # neither true
    ("result[0] >= 0.5", "result[0] < 0.9", [0.6], P.FAILED),  # both true: failure wins
    ("result[0] >= 0.95", None, [], P.NO_DATA),
    ("result[0] >= 0.95", None, None, P.NO_DATA),
    ("result >= 0.95", None, NAN, P.NO_DATA),
    ("result[0] >= 0.95", None, [NAN, NAN], P.NO_DATA),
    ("all(result, {# < 0.5})", None, [], P.NO_DATA),  # vacuous truth is not a pass
    ("len(result) == 0", None, [], P.NO_DATA),
    ("result[0] >= 0.95", None, [NAN, 0.99], P.FAILED),  # some data: the condition decides
    ("result[1] > 0", None, [0.5], P.ERROR),
])
def test_assess_follows_argo_with_no_data_first(success: str | None, failure: str | None, result: object,
                                                want: MeasurementPhase) -> None:
    assert assess(metric(success=success, failure=failure), result) is want


def test_an_unevaluable_condition_says_which_and_why() -> None:
    phase, why = assess_result(metric(success="result.x > 1"), [0.5])
    assert phase is P.ERROR
    assert "successCondition" in why and "cannot read field 'x'" in why and "[0.5]" in why
    phase, why = assess_result(metric(success=None, failure="result > 'a'"), 1.0)
    assert phase is P.ERROR and "failureCondition" in why


# --- limits ------------------------------------------------------------------------------

def test_failure_limit_is_more_than_n_failures() -> None:
    run, _ = _run(metric(results=([0.5],), interval_ms=M, count=10, failure_limit=2))
    assert run.phase is A.FAILED
    assert _calls(run) == [0, M, 2 * M]  # the third failure is one more than 2
    assert "failed (3) > failureLimit (2)" in run.message and "[0.5]" in run.message
    assert run.completed_ms == 2 * M


def test_default_failure_limit_fails_at_the_first_failure() -> None:
    run, _ = _run(metric(results=([1.0], [0.5]), interval_ms=M, count=5))
    assert (run.phase, _calls(run)) == (A.FAILED, [0, M])


def test_inconclusive_past_its_limit_pauses_for_a_person() -> None:
    m = metric(results=([0.92],), failure="result[0] < 0.9", interval_ms=M, count=5, inconclusive_limit=1)
    run, _ = _run(m)
    assert run.phase is A.INCONCLUSIVE
    assert _calls(run) == [0, M]
    assert "inconclusive (2) > inconclusiveLimit (1)" in run.message


def test_consecutive_errors_retry_every_ten_seconds_then_end_in_error() -> None:
    run, _ = _run(metric(results=(BOOM,), interval_ms=5 * M, count=3))
    assert run.phase is A.ERROR
    assert _calls(run) == [0, 10 * S, 20 * S, 30 * S, 40 * S]  # default limit 4: the 5th ends it
    assert "consecutiveErrors (5) > consecutiveErrorLimit (4)" in run.message
    assert "scripted failure" in run.message
    assert run.result("m").count == 0  # errors measured nothing


def test_a_success_resets_the_consecutive_errors() -> None:
    seq = (BOOM, BOOM, [1.0], BOOM, BOOM, [1.0], [1.0])
    run, _ = _run(metric(results=seq, interval_ms=M, count=3, consecutive_error_limit=2))
    assert run.phase is A.SUCCESSFUL
    r = run.result("m")
    assert (r.error, r.successful, r.count) == (4, 3, 3)


def test_a_provider_exception_is_an_error_measurement_not_a_crash() -> None:
    run, _ = _run(metric(results=(BOOM, [1.0])))
    assert run.phase is A.SUCCESSFUL
    first = run.result("m").measurements[0]
    assert first.phase is P.ERROR and "scripted failure at 0 ms" in first.message


# --- Argo issue 4479: never Successful without a successful measurement ----------------

def test_all_failures_within_the_failure_limit_do_not_end_successful() -> None:
    # Argo: count reached with failed (3) <= failureLimit (3) is Successful.
    run, _ = _run(metric(results=([0.5],), interval_ms=M, count=3, failure_limit=3))
    assert run.phase is A.FAILED
    assert "count (3) reached without a successful measurement" in run.message


def test_errors_and_failures_only_do_not_end_successful() -> None:
    seq = (BOOM, [0.5], BOOM, [0.5], BOOM, [0.5])
    run, _ = _run(metric(results=seq, interval_ms=M, count=3, failure_limit=5))
    assert run.phase is A.FAILED
    assert "3 failed, 0 inconclusive, 3 errors" in run.message


def test_a_terminated_run_whose_measurements_all_errored_is_error() -> None:
    m = metric(results=(BOOM,), interval_ms=M, consecutive_error_limit=1000)
    run, _ = _run(m, until=5 * M)
    assert run.phase is A.ERROR
    assert "the run was terminated without a successful measurement" in run.message


def test_a_terminated_run_that_measured_nothing_is_not_successful() -> None:
    run, _ = _run(metric(interval_ms=M, initial_delay_ms=10 * M), until=5 * M)
    assert run.phase is A.INCONCLUSIVE
    assert "no measurement finished" in run.message


def test_a_terminated_background_run_with_successes_is_successful() -> None:
    run, clock = _run(metric(results=([0.99],), interval_ms=M), until=10 * M + 30 * S)
    assert run.phase is A.SUCCESSFUL
    assert run.result("m").successful == 11
    assert clock.now == 10 * M + 30 * S


# --- no data -----------------------------------------------------------------------------

def test_no_data_past_its_limit_is_inconclusive() -> None:
    run, _ = _run(metric(results=([],), interval_ms=M, count=3, no_data_limit=2))
    assert run.phase is A.INCONCLUSIVE
    assert _calls(run) == [0, M, 2 * M]
    assert "without data (3) > noDataLimit (2)" in run.message
    assert run.result("m").count == 0


def test_no_data_without_an_interval_is_retried_after_ten_seconds() -> None:
    run, _ = _run(metric(results=([], [NAN], [0.99])))
    assert run.phase is A.SUCCESSFUL
    assert _calls(run) == [0, 10 * S, 20 * S]


def test_no_data_then_data_resets_the_streak() -> None:
    run, _ = _run(metric(results=([], [], [1.0], [], [], [1.0]), interval_ms=M, count=2, no_data_limit=2))
    assert run.phase is A.SUCCESSFUL
    assert run.result("m").no_data == 4


# --- scheduling --------------------------------------------------------------------------

def test_initial_delay_interval_and_count() -> None:
    run, _ = _run(metric(results=([1.0],), interval_ms=2 * M, count=3, initial_delay_ms=M), start=1000)
    assert run.phase is A.SUCCESSFUL
    assert _calls(run) == [1000 + M, 1000 + 3 * M, 1000 + 5 * M]
    assert "count (3) reached (3 successful" in run.message
    assert next_due_ms(run) is None


def test_without_count_and_interval_one_measurement() -> None:
    run, _ = _run(metric(results=([1.0],)))
    assert (run.phase, _calls(run)) == (A.SUCCESSFUL, [0])


def test_due_metrics_is_pure_and_reconcile_returns_new_runs() -> None:
    run = start_run("r", [metric(interval_ms=M, count=2, initial_delay_ms=30 * S)], 0)
    assert due_metrics(run, 29 * S) == []
    assert [m.name for m in due_metrics(run, 30 * S)] == ["m"]
    after = reconcile(run, 30 * S, {"m": Measurement(P.SUCCESSFUL, 30 * S, 31 * S, "[1]")})
    assert run.result("m").count == 0 and after.result("m").count == 1  # the old run is untouched
    assert next_due_ms(after) == 31 * S + M
    assert due_metrics(after, 31 * S + M - 1) == []


def test_reconcile_refuses_a_measurement_for_an_unknown_metric() -> None:
    run = start_run("r", [metric()], 0)
    with pytest.raises(AnalysisError, match="'other', which is not a metric"):
        reconcile(run, 0, {"other": Measurement(P.SUCCESSFUL, 0, 0)})


def test_start_run_refuses_duplicate_names() -> None:
    with pytest.raises(AnalysisError, match="two metrics named 'm'"):
        start_run("r", [metric(), metric()], 0)


def test_measurement_history_is_bounded_but_totals_are_not() -> None:
    run, _ = _run(metric(results=([1.0],), interval_ms=M, count=25))
    r = run.result("m")
    assert (len(r.measurements), r.successful) == (10, 25)


# --- several metrics, dry run ------------------------------------------------------------

def test_a_failed_metric_ends_the_run_and_stops_the_others() -> None:
    good = metric("good", ([1.0],), interval_ms=M)  # would run forever
    bad = metric("bad", ([1.0], [1.0], [0.1]), interval_ms=M, count=10)
    run, _ = _run(good, bad)
    assert run.phase is A.FAILED and run.completed_ms == 2 * M
    assert run.message.startswith('Metric "bad" assessed Failed')
    assert run.result("good").phase is A.SUCCESSFUL  # terminated with successes
    assert next_due_ms(run) is None


def test_dry_run_metrics_never_decide_the_run() -> None:
    dry = metric("dry", ([0.1],), count=1, dry_run=True)
    real = metric("real", ([0.99],), interval_ms=M, count=2)
    run, _ = _run(dry, real)
    assert run.phase is A.SUCCESSFUL
    assert run.result("dry").phase is A.FAILED
    assert '"dry"' not in run.message


def test_a_run_of_dry_run_metrics_only_judges_nothing() -> None:
    run, _ = _run(metric(results=([0.1],), dry_run=True))
    assert run.phase is A.SUCCESSFUL
    assert "dry run" in run.message


def test_worst_phase_wins_between_metrics() -> None:
    err = metric("err", (BOOM,), consecutive_error_limit=0)
    inc = metric("inc", ([0.92],), failure="result[0] < 0.9")
    run, _ = _run(err, inc)
    assert run.phase is A.ERROR  # Argo's order: Error is worse than Inconclusive


def test_terminate_is_idempotent_on_a_completed_run() -> None:
    run, _ = _run(metric())
    assert terminate(run, 10 * M) is run
    assert reconcile(run, 10 * M, {}) is run
    assert replace(run).phase is A.SUCCESSFUL


def test_a_saved_run_resumes_exactly_where_it_was() -> None:
    import json

    from sloguard.delivery.analysis import run_from_state, run_to_state, step

    def fresh() -> list[object]:
        return [metric("a", (BOOM, [0.99], [0.5], [0.99]), interval_ms=M, count=4, failure_limit=1),
                metric("b", ([], [0.99]), interval_ms=2 * M, count=2)]

    straight, _ = _run(*fresh())
    run = start_run("r", fresh(), 0)  # type: ignore[arg-type]
    now = 0
    while not run.phase.completed:
        run = asyncio.run(step(run, ENV, now))
        saved = json.loads(json.dumps(run_to_state(run)))  # through JSON, as the state store keeps it
        again = fresh()
        for old, new in zip(run.metrics, again, strict=True):  # the scripts continue where they were
            new.provider.calls.extend(old.provider.calls)  # type: ignore[attr-defined]
        run = run_from_state(saved, again)  # type: ignore[arg-type]
        now = next_due_ms(run) or now
    assert run_to_state(run) == run_to_state(straight)
    assert run.phase is A.SUCCESSFUL


def test_state_from_another_version_or_other_metrics_is_refused() -> None:
    from sloguard.delivery.analysis import run_from_state, run_to_state

    state = run_to_state(start_run("r", [metric()], 0))
    with pytest.raises(AnalysisError, match="has metrics \\['m'\\], but \\['x'\\]"):
        run_from_state(state, [metric("x")])
    with pytest.raises(AnalysisError, match="version 99"):
        run_from_state({**state, "version": 99}, [metric()])
