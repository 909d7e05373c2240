"""Range queries evaluated in chunks of steps give the same results as in one piece, and
the engine sizes a query before it allocates: it refuses one whose single step cannot
fit, and splits one whose steps do not fit together."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from sloguard.labels import Labels
from sloguard.promql import EngineOptions, PromQLEngine, PromQLError, QueryResult
from sloguard.promql._value import Matrix, Series
from sloguard.tsdb.testing import MemoryStorage

from .test_differential_cases import END_S, HAND_PICKED, generate_cases, generate_series

EXTRA = [
    "max_over_time(diff_temperature[30m:1m])",
    "avg_over_time(max_over_time(diff_temperature[10m:1m])[30m:5m])",
    "diff_temperature @ 1699995000",
    "rate(diff_requests_total[5m] @ end())",
    "diff_temperature - diff_temperature @ start()",
    "topk(2, diff_temperature)",
    "count_values(\"v\", round(diff_temperature))",
    "timestamp(diff_temperature)",
    "-diff_temperature",
    "max_over_time((diff_temperature @ 1699996000)[20m:2m])",
    "sum_over_time(rate(diff_requests_total[5m])[15m:30s] offset 10m)",
    "time() - 1",
    "absent(nonexistent)",
]


@pytest.fixture(scope="module")
def storage() -> MemoryStorage:
    st = MemoryStorage()
    for s in generate_series():
        st.add(Labels(s.labels.items()), [t for t, _ in s.samples], [v for _, v in s.samples])
    return st


def _exprs() -> list[str]:
    cases = [c.expr for c in generate_cases() if c.step][:40]
    return sorted(set(HAND_PICKED[:25] + EXTRA + cases))


Flat = list[tuple[Labels, list[int], list[str]]]


def _matrix(r: QueryResult) -> Matrix:
    assert isinstance(r.value, list)
    return [s for s in r.value if isinstance(s, Series)]


def _flat(r: QueryResult) -> Flat:
    return [(s.labels, s.timestamps.tolist(), [repr(v) for v in s.values.tolist()]) for s in _matrix(r)]


def _run(st: MemoryStorage, expr: str, cells: int) -> Flat | str:
    e = PromQLEngine(st, EngineOptions(chunk_cells=cells))
    try:
        return _flat(e.range_query(expr, (END_S - 2400) * 1000, END_S * 1000, 60_000))
    except PromQLError as exc:
        return f"error: {exc}"


@pytest.mark.parametrize("expr", _exprs())
def test_chunked_range_query_equals_one_piece(storage: MemoryStorage, expr: str) -> None:
    whole = _run(storage, expr, 1 << 40)
    assert _run(storage, expr, 1) == whole  # one step per chunk
    assert _run(storage, expr, 300) == whole  # a few steps per chunk


def _wide_store(n: int) -> MemoryStorage:
    st = MemoryStorage()
    ts = list(range(0, 3_600_000, 60_000))
    for i in range(n):
        st.add(Labels.of(name__="mem", i=str(i)), ts, [float(i)] * len(ts))
    return st


def test_query_whose_one_step_cannot_fit_is_refused_before_it_allocates() -> None:
    st = _wide_store(300)
    e = PromQLEngine(st, EngineOptions(max_samples=1000, chunk_cells=1000))
    tracemalloc.start()
    try:
        with pytest.raises(PromQLError, match="would load too many samples"):
            # 300 series at 3,601 subquery points: about a million cells
            e.instant_query("max_over_time(mem[1h:1s])", 3_600_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 300 * 3601 * 8 // 10  # a tenth of one float array of the inner result


def test_query_whose_steps_do_not_fit_together_runs_in_chunks() -> None:
    st = _wide_store(200)
    e = PromQLEngine(st, EngineOptions(chunk_cells=2_000))
    seen: list[int] = []
    real = e._chunk_steps

    def spy(plan, k):  # type: ignore[no-untyped-def]
        seen.append(real(plan, k))
        return seen[-1]

    e._chunk_steps = spy  # type: ignore[method-assign]
    r = e.range_query("sum(rate(mem[5m])) + sum(mem)", 600_000, 3_000_000, 10_000)
    assert seen and seen[0] < 241  # split: 200 series x 241 steps do not fit in 2,000 cells
    [series] = _matrix(r)
    assert len(series.timestamps) == 241
    assert np.allclose(series.values, sum(range(200)))


def test_output_beyond_max_samples_is_refused_while_chunked() -> None:
    st = _wide_store(100)
    e = PromQLEngine(st, EngineOptions(max_samples=5_000, chunk_cells=500))
    with pytest.raises(PromQLError, match="would load too many samples"):
        e.range_query("mem * 2", 0, 3_540_000, 60_000)  # 100 series x 60 steps = 6,000 output
    assert len(_matrix(e.range_query("mem * 2", 0, 2_340_000, 60_000))) == 100  # 4,000 fit


def test_long_subquery_grid_is_evaluated_in_chunks_with_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    from sloguard.promql import _subquery

    st = _wide_store(50)
    calls: list[int] = []
    real = _subquery.concat_steps  # type: ignore[attr-defined]

    def spy(parts):  # type: ignore[no-untyped-def]
        calls.append(len(parts))
        return real(parts)

    monkeypatch.setattr(_subquery, "concat_steps", spy)
    expr = "max_over_time((mem * on(i) group_left rate(mem[5m]))[50m:10s]) - min_over_time(mem[50m:10s])"
    small = PromQLEngine(st, EngineOptions(chunk_cells=5_000)).instant_query(expr, 3_500_000)
    assert calls and max(calls) > 1  # 50 series x 301 grid points did not fit 5,000 cells
    whole = PromQLEngine(st).instant_query(expr, 3_500_000)
    assert small.value == whole.value
