"""The .test runner: parsing, comparison rules, the @ and range-mode re-runs, skips, CLI."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sloguard.cli import app
from sloguard.labels import Labels
from sloguard.promql import QueryResult, Sample, Scalar, Series, ValueType
from sloguard.promql.testscript import (
    EvalCmd,
    LoadCmd,
    Outcome,
    ScriptError,
    almost_equal,
    at_modifier_test_cases,
    parse_script,
    read_skips,
    run_script,
)
from sloguard.tsdb.testing import MemoryStorage


def _run(text: str) -> list[tuple[int, Outcome, str]]:
    return [(r.line, r.outcome, r.message) for r in run_script(parse_script(text, "t.test"))]


def test_parse_load_and_eval_blocks() -> None:
    script = parse_script(
        "# comment\nload 5m\n  a{x=\"1\"} 1+1x2\n\neval_ordered instant at 10m a\n  a{x=\"1\"} 3\n"
    )
    load, ev = script.commands
    assert isinstance(load, LoadCmd) and load.step_ms == 300_000
    assert load.series[Labels.of(name__="a", x="1")] == [1.0, 2.0, 3.0]
    assert isinstance(ev, EvalCmd) and ev.ordered and ev.t_ms == 600_000 and ev.line == 5
    assert ev.expected[Labels.of(name__="a", x="1")].value == 3.0


def test_bare_number_is_a_scalar_expectation() -> None:
    (ev,) = parse_script("eval instant at 1m 1 + 1\n  2\n").evals
    assert ev.scalar == 2.0 and not ev.expected


def test_unknown_command_names_file_and_line() -> None:
    with pytest.raises(ScriptError, match=r"x\.test:4: invalid command"):
        parse_script("load 1m\n  a 1\n\nfrobnicate\n", "x.test")


def test_passing_and_failing_evals() -> None:
    text = "load 1m\n  a 1 2 3\n\neval instant at 2m a\n  a 3\n\neval instant at 2m a\n  a 4\n"
    (l1, o1, _), (l2, o2, msg) = _run(text)
    assert (l1, o1) == (4, Outcome.PASSED)
    assert (l2, o2) == (7, Outcome.FAILED) and "expected 4.0" in msg and "got 3.0" in msg


def test_missing_and_unexpected_series_fail() -> None:
    text = "load 1m\n  a{x=\"1\"} 1\n  a{x=\"2\"} 1\n\neval instant at 0m a{x=\"1\"}\n\neval instant at 0m a{x=\"1\"}\n  a{x=\"1\"} 1\n  a{x=\"3\"} 1\n"
    (_, o1, m1), (_, o2, m2) = _run(text)
    assert o1 is Outcome.FAILED and "unexpected metric" in m1
    assert o2 is Outcome.FAILED and "not found" in m2


def test_eval_fail_needs_an_error() -> None:
    text = "load 1m\n  a 1\n\neval_fail instant at 0m a\n\neval_fail instant at 0m a +\n"
    (_, o1, m1), (_, o2, _) = _run(text)
    assert o1 is Outcome.FAILED and "expected error" in m1
    assert o2 is Outcome.PASSED


def test_eval_ordered_checks_positions() -> None:
    text = (
        "load 1m\n  a{x=\"1\"} 2\n  a{x=\"2\"} 1\n\n"
        "eval_ordered instant at 0m sort(a)\n  a{x=\"2\"} 1\n  a{x=\"1\"} 2\n\n"
        "eval_ordered instant at 0m sort(a)\n  a{x=\"1\"} 2\n  a{x=\"2\"} 1\n"
    )
    (_, o1, _), (_, o2, m2) = _run(text)
    assert o1 is Outcome.PASSED
    assert o2 is Outcome.FAILED and "position" in m2


def test_clear_drops_data() -> None:
    text = "load 1m\n  a 1\n\nclear\n\neval instant at 0m a\n"
    assert _run(text)[0][1] is Outcome.PASSED


def test_stale_marker_ends_a_series() -> None:
    text = "load 1m\n  a 1 stale\n\neval instant at 1m a\n\neval instant at 0m a\n  a 1\n"
    assert [o for _, o, _ in _run(text)] == [Outcome.PASSED, Outcome.PASSED]


def test_comparison_is_relative_with_nan_equal() -> None:
    assert almost_equal(math.nan, math.nan)
    assert almost_equal(1.0, 1.0 + 1e-9)
    assert not almost_equal(1.0, 1.0 + 1e-5)
    assert not almost_equal(0.0, 1e-300)
    assert almost_equal(math.inf, math.inf) and not almost_equal(math.inf, -math.inf)


def test_at_rewrite_sets_every_selector_outside_subqueries() -> None:
    cases = at_modifier_test_cases('sum(rate(a[5m] offset 1m)) + b @ 7 + max_over_time(c[5m:1m])', 60_000)
    expr = cases[0][0]
    assert "a[5m] offset 1m @ 60.000" in expr
    assert "b @ 7.000" in expr  # an explicit @ stays
    assert "max_over_time(c[5m:1m] @ 60.000)" in expr  # the subquery gets it, not its inside
    assert [t for _, t in cases] == [-600_000, 0, 12_000, 60_000, 600_000]


def test_at_rewrite_replaces_start_and_end() -> None:
    (expr, _), *_ = at_modifier_test_cases("a @ start() - a @ end()", 30_000)
    assert expr == "a @ 30.000 - a @ 30.000"


def test_no_at_reruns_for_time_dependent_functions() -> None:
    assert at_modifier_test_cases("timestamp(a)", 60_000) == []
    assert at_modifier_test_cases("a + time()", 60_000) == []


def test_at_reruns_at_time_zero_use_plus_minus_one_second() -> None:
    assert [t for _, t in at_modifier_test_cases("a", 0)] == [-1000, 0, 1000]


class _FlakyRangeEngine:
    """Answers instant queries right but range queries with a different middle point."""

    def instant_query(self, expr: str, t: int, timeout: float | None = None) -> QueryResult:
        return QueryResult([Sample(Labels.of(name__="a"), t, 1.0)], ValueType.VECTOR)

    def range_query(self, expr: str, start: int, end: int, step: int, timeout: float | None = None) -> QueryResult:
        ts = np.arange(start, end + 1, step, dtype=np.int64)
        return QueryResult([Series(Labels.of(name__="a"), ts, np.full(ts.shape, 2.0))], ValueType.MATRIX)


def test_range_mode_middle_point_must_match() -> None:
    script = parse_script("eval instant at 1m a\n  a 1\n", "t.test")
    (res,) = run_script(script, engine_factory=lambda _st: _FlakyRangeEngine())
    assert res.outcome is Outcome.FAILED and "range mode" in res.message


def test_scalar_results_compare_with_scalars() -> None:
    class Eng(_FlakyRangeEngine):
        def instant_query(self, expr: str, t: int, timeout: float | None = None) -> QueryResult:
            return QueryResult(Scalar(t, 2.0), ValueType.SCALAR)

    (res,) = run_script(parse_script("eval instant at 1m 2\n  2\n"), engine_factory=lambda _st: Eng())
    assert res.outcome is Outcome.PASSED


def test_skips_are_reported_with_reason() -> None:
    skips = read_skips("# header\nt.test:4 native histograms\n")
    assert skips == {"t.test": {4: "native histograms"}}
    res = run_script(parse_script("load 1m\n  a 1\n\neval instant at 0m a\n  a 2\n", "t.test"), skips=skips["t.test"])
    assert res[0].outcome is Outcome.SKIPPED and res[0].message == "native histograms"


def test_skip_without_reason_is_rejected() -> None:
    with pytest.raises(ValueError, match="reason"):
        read_skips("t.test:4\n")


def test_default_engine_runs_on_memory_storage() -> None:
    st = MemoryStorage()
    st.add(Labels.of(name__="a"), [0], [1.0])
    from sloguard.promql.testscript import default_engine

    res = default_engine(st).instant_query("a", 0)
    assert [s.v for s in res.value] == [1.0]  # type: ignore[union-attr]


def test_cli_prints_counts_and_exits_1_on_failure(tmp_path: Path) -> None:
    good = tmp_path / "good.test"
    good.write_text("load 1m\n  a 1\n\neval instant at 0m a\n  a 1\n")
    bad = tmp_path / "bad.test"
    bad.write_text("load 1m\n  a 1\n\neval instant at 0m a\n  a 5\n")
    runner = CliRunner()
    ok = runner.invoke(app, ["conformance", "promql", str(good)])
    assert ok.exit_code == 0 and ok.output.strip().endswith("1 passed, 0 failed, 0 skipped")
    out = runner.invoke(app, ["conformance", "promql", str(tmp_path)])
    assert out.exit_code == 1
    assert "bad.test:4" in out.output and "expected 5.0" in out.output
    assert out.output.strip().endswith("1 passed, 1 failed, 0 skipped")


def test_range_evals_compare_point_by_point() -> None:
    text = (
        "load 1m\n  a 1 2 _ _ _ _ _ _ 9\n\n"
        "eval range from 0 to 3m step 1m a\n  a 1 2 2 2\n\n"
        "eval range from 0 to 3m step 1m a\n  a 1 2 2 3\n\n"
        "eval range from 0 to 8m step 2m a\n  a 1 2 2 2 9\n\n"  # 2.42: lookback closed at t-5m
        "eval range from 0 to 8m step 2m a offset 1s\n  a _ 2 2 2 _\n\n"
        "eval range from 0 to 1m step 1m a\n  b 1 2\n\n"
        "eval_fail range from 0 to 1m step 1m a +\n"
    )
    outcomes = [(o, m) for _, o, m in _run(text)]
    assert outcomes[0][0] is Outcome.PASSED
    assert outcomes[1][0] is Outcome.FAILED and "expected points" in outcomes[1][1]
    assert outcomes[2][0] is Outcome.PASSED
    assert outcomes[3][0] is Outcome.PASSED
    assert outcomes[4][0] is Outcome.FAILED and "unexpected metric" in outcomes[4][1]
    assert outcomes[5][0] is Outcome.PASSED
