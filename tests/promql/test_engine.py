"""PromQLEngine: result shapes, selectors with lookback/staleness/offset/@, limits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sloguard.labels import Labels
from sloguard.promql import (
    EngineOptions,
    ErrorType,
    ParseError,
    PromQLEngine,
    PromQLError,
    Scalar,
    String,
    ValueType,
)
from sloguard.tsdb import STALE_NAN
from sloguard.tsdb.testing import MemoryStorage
from tests.promql._results import matrix_of, scalar_of, vector_of

M = 60_000


@pytest.fixture
def storage() -> MemoryStorage:
    st = MemoryStorage()
    for i in range(3):
        st.add(Labels.of(name__="x", job="a", i=str(i)), [0, M, 2 * M], [i, 2 * i, 3 * i])
    return st


def vec(engine: PromQLEngine, q: str, t: int) -> dict[str, float]:
    r = engine.instant_query(q, t)
    assert r.result_type is ValueType.VECTOR
    return {str(s.labels): s.v for s in vector_of(r)}


def test_instant_selector_returns_latest_sample_within_lookback(storage: MemoryStorage) -> None:
    e = PromQLEngine(storage)
    assert vec(e, "x", 2 * M + 30_000) == {'x{i="0", job="a"}': 0, 'x{i="1", job="a"}': 3, 'x{i="2", job="a"}': 6}


def test_lookback_window_is_closed_at_both_ends(storage: MemoryStorage) -> None:
    e = PromQLEngine(storage)
    assert len(vec(e, "x", 2 * M + 300_000)) == 3
    assert vec(e, "x", 2 * M + 300_001) == {}


def test_staleness_marker_ends_series() -> None:
    st = MemoryStorage()
    st.add(Labels.of(name__="s"), [0, M], [1.0, STALE_NAN])
    e = PromQLEngine(st)
    assert vec(e, "s", 30_000) == {"s": 1.0}
    assert vec(e, "s", M + 1) == {}


def test_offset_and_negative_offset(storage: MemoryStorage) -> None:
    e = PromQLEngine(storage)
    assert vec(e, 'x{i="1"} offset 1m', 2 * M) == {'x{i="1", job="a"}': 2}
    assert vec(e, 'x{i="1"} offset -1m', M) == {'x{i="1", job="a"}': 3}


def test_at_modifier_fixed_start_and_end(storage: MemoryStorage) -> None:
    e = PromQLEngine(storage)
    assert vec(e, 'x{i="2"} @ 60', 10 * M) == {'x{i="2", job="a"}': 4}
    r = e.range_query('x{i="2"} @ start()', 0, 2 * M, M)
    assert matrix_of(r)[0].values.tolist() == [2, 2, 2]
    r = e.range_query('x{i="2"} @ end()', 0, 2 * M, M)
    assert matrix_of(r)[0].values.tolist() == [6, 6, 6]


def test_matrix_selector_instant_query_returns_window_samples(storage: MemoryStorage) -> None:
    e = PromQLEngine(storage)
    r = e.instant_query('x{i="1"}[1m]', 2 * M)
    assert r.result_type is ValueType.MATRIX
    s = matrix_of(r)[0]
    assert s.timestamps.tolist() == [M, 2 * M]
    assert s.values.tolist() == [2, 3]


def test_scalar_and_string_results(storage: MemoryStorage) -> None:
    e = PromQLEngine(storage)
    assert e.instant_query("1 + 2 * 3", 5).value == Scalar(5, 7.0)
    assert e.instant_query('"hi"', 5).value == String(5, "hi")


def test_range_query_of_scalar_is_one_series_without_labels(storage: MemoryStorage) -> None:
    r = PromQLEngine(storage).range_query("2", 0, 2 * M, M)
    assert r.result_type is ValueType.MATRIX
    assert matrix_of(r)[0].labels == Labels() and matrix_of(r)[0].values.tolist() == [2, 2, 2]


def test_range_query_series_sorted_by_labels_with_present_points_only() -> None:
    st = MemoryStorage()
    st.add(Labels.of(name__="y", a="2"), [0], [1.0])
    st.add(Labels.of(name__="y", a="1"), [10 * M], [5.0])
    r = PromQLEngine(st).range_query("y", 0, 10 * M, 5 * M)
    got = [(str(s.labels), s.timestamps.tolist()) for s in matrix_of(r)]
    assert got == [('y{a="1"}', [10 * M]), ('y{a="2"}', [0, 5 * M])]


def test_range_query_rejects_range_vector_expression(storage: MemoryStorage) -> None:
    with pytest.raises(PromQLError) as ei:
        PromQLEngine(storage).range_query("x[5m]", 0, M, M)
    assert ei.value.error_type is ErrorType.BAD_DATA
    assert 'invalid expression type "range vector" for range query' in str(ei.value)


def test_parse_error_is_bad_data(storage: MemoryStorage) -> None:
    with pytest.raises(ParseError) as ei:
        PromQLEngine(storage).instant_query("sum(x", 0)
    assert ei.value.error_type is ErrorType.BAD_DATA
    assert "parse error" in str(ei.value)


def test_too_many_samples_error(storage: MemoryStorage) -> None:
    e = PromQLEngine(storage, EngineOptions(max_samples=2))
    with pytest.raises(PromQLError) as ei:
        e.instant_query("x", 2 * M)
    assert str(ei.value) == "query processing would load too many samples into memory in query execution"


def test_max_points_per_series(storage: MemoryStorage) -> None:
    e = PromQLEngine(storage)
    e.range_query("x", 0, 11_000 * 1000, 1000)
    with pytest.raises(PromQLError) as ei:
        e.range_query("x", 0, 11_001 * 1000, 1000)
    assert "exceeded maximum resolution of 11,000 points per timeseries" in str(ei.value)


def test_timeout_uses_injected_clock(storage: MemoryStorage) -> None:
    ticks = iter(np.arange(0, 1000, 10.0).tolist())
    e = PromQLEngine(storage, EngineOptions(timeout_s=15), clock=lambda: next(ticks))
    with pytest.raises(PromQLError) as ei:
        e.instant_query("sum(x) + sum(x)", 0)
    assert ei.value.error_type is ErrorType.TIMEOUT
    assert str(ei.value) == "query timed out in expression evaluation"


def test_negative_at_timestamp_parses(storage: MemoryStorage) -> None:
    assert vec(PromQLEngine(storage), 'x{i="1"} @ -100', 0) == {}


def test_subquery_windows_at_aligned_steps(storage: MemoryStorage) -> None:
    r = PromQLEngine(storage).instant_query('x{i="2"}[2m:1m]', 2 * M + 30_000)
    s = matrix_of(r)[0]
    assert s.timestamps.tolist() == [M, 2 * M] and s.values.tolist() == [4, 6]


def test_unary_minus_drops_name_and_nan_passes(storage: MemoryStorage) -> None:
    st = MemoryStorage()
    st.add(Labels.of(name__="n", a="1"), [0], [math.nan])
    assert math.isnan(vec(PromQLEngine(st), "-n", 0)['{a="1"}'])


def test_step_invariant_expression_is_repeated_over_steps(storage: MemoryStorage) -> None:
    r = PromQLEngine(storage).range_query('sum(x @ 60) + 0 * time()', 0, 4 * M, M)
    assert matrix_of(r)[0].values.tolist() == [6.0] * 5


def test_step_invariance_follows_prometheus_rules() -> None:
    from sloguard.promql._ast import parse
    from sloguard.promql._eval_rows import is_step_invariant

    assert is_step_invariant(parse("rate(x[5m] @ 100) * 2"))
    assert is_step_invariant(parse("topk(scalar(y), x @ 100)"))  # the parameter does not count upstream
    assert not is_step_invariant(parse("x @ 100 + y"))
    assert not is_step_invariant(parse("timestamp(x @ 100)"))
    assert not is_step_invariant(parse("time()"))


def test_unary_minus_collision_is_an_error_even_without_overlap() -> None:
    st = MemoryStorage()
    st.add(Labels.of(name__="early", a="1"), [0], [1.0])
    st.add(Labels.of(name__="late", a="1"), [20 * M], [2.0])
    e = PromQLEngine(st)
    with pytest.raises(PromQLError, match="vector cannot contain metrics with the same labelset"):
        e.range_query('-{__name__=~"early|late"}', 0, 20 * M, M)
    assert vector_of(e.instant_query('-{__name__=~"early|late"}', 0))[0].v == -1.0


def test_absurdly_deep_nesting_is_a_clean_error(storage: MemoryStorage) -> None:
    e = PromQLEngine(storage)
    assert scalar_of(e.instant_query(" + ".join(["1"] * 200), 0)) == 200
    with pytest.raises(PromQLError) as ei:
        e.instant_query("(" * 3000 + "1" + ")" * 3000, 0)
    assert ei.value.error_type is ErrorType.BAD_DATA


def test_concurrency_gate_times_out_in_queue() -> None:
    from sloguard.promql._limits import ConcurrencyGate

    gate = ConcurrencyGate(1)
    gate.enter(1.0)
    with pytest.raises(PromQLError) as ei:
        gate.enter(0.0)
    assert ei.value.error_type is ErrorType.TIMEOUT
    assert str(ei.value) == "query timed out in query queue"
    gate.leave()
    gate.enter(0.0)
    gate.leave()


def test_engine_is_safe_from_many_threads(storage: MemoryStorage) -> None:
    from concurrent.futures import ThreadPoolExecutor

    e = PromQLEngine(storage, EngineOptions(max_concurrent=2))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: vector_of(e.instant_query("sum(x)", 2 * M))[0].v, range(16)))
    assert results == [9.0] * 16
