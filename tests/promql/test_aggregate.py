"""Aggregation operators with by/without, per-step parameters and NaN/Inf handling."""

from __future__ import annotations

import math

import pytest

from sloguard.labels import Labels
from sloguard.promql import (
    EngineOptions,
    PromQLEngine,
    PromQLError,
    ValueType,
)
from sloguard.tsdb.testing import MemoryStorage
from tests.promql._results import matrix_of, vector_of

M = 60_000


@pytest.fixture
def engine() -> PromQLEngine:
    st = MemoryStorage()
    for job, inst, v in [("a", "0", 1.0), ("a", "1", 3.0), ("b", "0", 10.0), ("b", "1", 10.0), ("b", "2", 40.0)]:
        st.add(Labels.of(name__="m", job=job, inst=inst), [0, 5 * M], [v, v * 2])
    st.add(Labels.of(name__="n", k="nan"), [0], [math.nan])
    st.add(Labels.of(name__="n", k="one"), [0], [1.0])
    st.add(Labels.of(name__="i", k="p"), [0], [math.inf])
    st.add(Labels.of(name__="i", k="f"), [0], [5.0])
    return PromQLEngine(st)


def q(engine: PromQLEngine, expr: str, t: int = 0) -> dict[str, float]:
    r = engine.instant_query(expr, t)
    assert r.result_type is ValueType.VECTOR
    return {str(s.labels): s.v for s in vector_of(r)}


def test_sum_by_and_without(engine: PromQLEngine) -> None:
    assert q(engine, "sum by (job) (m)") == {'{job="a"}': 4, '{job="b"}': 60}
    assert q(engine, "sum without (inst) (m)") == {'{job="a"}': 4, '{job="b"}': 60}
    assert q(engine, "sum(m)") == {"{}": 64}


def test_avg_count_group_min_max(engine: PromQLEngine) -> None:
    assert q(engine, "avg by (job) (m)") == {'{job="a"}': 2, '{job="b"}': 20}
    assert q(engine, "count by (job) (m)") == {'{job="a"}': 2, '{job="b"}': 3}
    assert q(engine, "group by (job) (m)") == {'{job="a"}': 1, '{job="b"}': 1}
    assert q(engine, "max by (job) (m)") == {'{job="a"}': 3, '{job="b"}': 40}
    assert q(engine, "min by (job) (m)") == {'{job="a"}': 1, '{job="b"}': 10}


def test_max_and_min_prefer_numbers_over_nan(engine: PromQLEngine) -> None:
    assert q(engine, "max(n)") == {"{}": 1}
    assert q(engine, "min(n)") == {"{}": 1}
    assert math.isnan(q(engine, 'max(n{k="nan"})')["{}"])


def test_avg_with_inf(engine: PromQLEngine) -> None:
    assert q(engine, "avg(i)") == {"{}": math.inf}


def test_avg_of_huge_values_does_not_overflow() -> None:
    st = MemoryStorage()
    st.add(Labels.of(name__="h", a="1"), [0], [1.5e308])
    st.add(Labels.of(name__="h", a="2"), [0], [1.5e308])
    assert vector_of(PromQLEngine(st).instant_query("avg(h)", 0))[0].v == pytest.approx(1.5e308)


def test_stddev_and_stdvar(engine: PromQLEngine) -> None:
    assert q(engine, "stdvar by (job) (m)") == {'{job="a"}': 1, '{job="b"}': 200}
    assert q(engine, "stddev by (job) (m)")['{job="a"}'] == 1


def test_stddev_of_equal_values_is_exactly_zero() -> None:
    st = MemoryStorage()
    for i in range(3):
        st.add(Labels.of(name__="e", i=str(i)), [0], [13.3])
    assert vector_of(PromQLEngine(st).instant_query("stddev(e)", 0))[0].v == 0.0


def test_topk_and_bottomk_keep_labels_and_order(engine: PromQLEngine) -> None:
    r = engine.instant_query("topk(2, m)", 0)
    assert [(str(s.labels), s.v) for s in vector_of(r)] == [
        ('m{inst="2", job="b"}', 40.0), ('m{inst="1", job="b"}', 10.0)]
    r = engine.instant_query("bottomk by (job) (1, m)", 0)
    assert [(str(s.labels), s.v) for s in vector_of(r)] == [
        ('m{inst="0", job="a"}', 1.0), ('m{inst="0", job="b"}', 10.0)]


def test_topk_parameter_below_one_gives_nothing(engine: PromQLEngine) -> None:
    assert q(engine, "topk(0, m)") == {}


def test_topk_over_range_selects_per_step() -> None:
    st = MemoryStorage()
    st.add(Labels.of(name__="t", a="1"), [0, M], [1.0, 5.0])
    st.add(Labels.of(name__="t", a="2"), [0, M], [2.0, 4.0])
    r = PromQLEngine(st).range_query("topk(1, t)", 0, M, M)
    got = {str(s.labels): s.timestamps.tolist() for s in matrix_of(r)}
    assert got == {'t{a="1"}': [M], 't{a="2"}': [0]}


def test_quantile(engine: PromQLEngine) -> None:
    assert q(engine, "quantile by (job) (0.5, m)") == {'{job="a"}': 2, '{job="b"}': 10}
    assert q(engine, 'quantile(0.9, m{job="a"})') == {"{}": 1 * (1 - 0.9) + 3 * 0.9}
    assert q(engine, "quantile(2, m)") == {"{}": math.inf}
    assert q(engine, "quantile(-1, m)") == {"{}": -math.inf}


def test_count_values(engine: PromQLEngine) -> None:
    assert q(engine, 'count_values by (job) ("val", m)') == {
        '{job="a", val="1"}': 1, '{job="a", val="3"}': 1, '{job="b", val="10"}': 2, '{job="b", val="40"}': 1}


def test_count_values_rejects_invalid_label_name(engine: PromQLEngine) -> None:
    with pytest.raises(PromQLError) as ei:
        q(engine, 'count_values("a-b", m)')
    assert str(ei.value) == 'invalid label name "a-b"'


def test_aggregation_by_metric_name_keeps_it(engine: PromQLEngine) -> None:
    assert q(engine, "count by (__name__) ({__name__=~\"m|n\"})") == {"m": 5, "n": 2}


def test_range_query_aggregates_every_step(engine: PromQLEngine) -> None:
    r = engine.range_query("sum(m)", 0, 5 * M, 5 * M)
    assert matrix_of(r)[0].values.tolist() == [64, 128]


def test_stdvar_of_one_sample_is_zero_even_for_nan_and_inf(engine: PromQLEngine) -> None:
    assert q(engine, "stdvar by (k) (n)") == {'{k="nan"}': 0, '{k="one"}': 0}
    assert q(engine, "stddev by (k) (i)") == {'{k="p"}': 0, '{k="f"}': 0}
    assert math.isnan(q(engine, "stdvar(i)")["{}"])


# Orders recorded from the real Prometheus 2.42 binary (ties resolved by its heap).
TIES = {"t": [2, 1, math.nan, 3, 1, math.nan, 2, 1, math.inf, 3, 3], "u": [3, math.nan, 3, math.nan, 5]}
TIE_CASES = [
    ("topk(3, t)", ["08", "03", "09"]),
    ("bottomk(9, t)", ["04", "01", "07", "00", "06", "09", "03", "10", "08"]),
    ("topk(2, u)", ["04", "02"]),
    ("topk(2, u * 0)", ["00", "02"]),
    ("bottomk(3, u)", ["00", "02", "04"]),
    ("topk(5, t)", ["08", "03", "09", "10", "06"]),
    ("bottomk(4, t)", ["01", "04", "07", "06"]),
]


@pytest.fixture
def ties() -> PromQLEngine:
    st = MemoryStorage()
    for name, vals in TIES.items():
        for i, v in enumerate(vals):
            st.add(Labels.of(name__=name, i=f"{i:02d}"), [0], [v])
    return PromQLEngine(st)


@pytest.mark.parametrize(("expr", "order"), TIE_CASES, ids=[c[0] for c in TIE_CASES])
def test_topk_ties_follow_prometheus_heap(ties: PromQLEngine, expr: str, order: list[str]) -> None:
    got = [s.labels.get("i") for s in vector_of(ties.instant_query(expr, 0))]
    assert got == order


@pytest.mark.parametrize("seed", range(6))
def test_topk_over_steps_keeps_what_the_heap_keeps(seed: int) -> None:
    """The vectorised selection (with heap replay on ties) agrees with replaying
    Prometheus' heap at every step, on data full of ties, NaN and gaps."""
    import numpy as np

    from sloguard.promql._aggregate_topk import replay

    rng = np.random.default_rng(seed)
    st = MemoryStorage()
    n, steps = 14, 12
    vals = rng.choice([1.0, 2.0, 3.0, math.nan, math.inf, -math.inf], size=(n, steps))
    gaps = rng.random((n, steps)) < 0.2
    for i in range(n):
        ts = [j * M for j in range(steps) if not gaps[i, j]]
        st.add(Labels.of(name__="z", i=f"{i:02d}", g=str(i % 3)), ts, [vals[i, j] for j in range(steps) if not gaps[i, j]])
    e = PromQLEngine(st, EngineOptions(lookback_delta_ms=1))
    for expr, top, k in [("topk(3, z)", True, 3), ("bottomk(2, z)", False, 2), ("topk by (g) (2, z)", True, 2)]:
        got = {(s.labels.get("i"), int(t)) for s in matrix_of(e.range_query(expr, 0, (steps - 1) * M, M)) for t in s.timestamps}
        want = set()
        for j in range(steps):
            groups: dict[str, list[int]] = {}
            for i in sorted(range(n), key=lambda i: (i % 3, i)):  # input order: sorted labels
                if not gaps[i, j]:
                    groups.setdefault(str(i % 3) if "by" in expr else "", []).append(i)
            for rows in groups.values():
                want |= {(f"{rows[c]:02d}", j * M) for c in replay([vals[r, j] for r in rows], k, top)}
        assert got == want, expr


@pytest.mark.parametrize("n", [40, 300])  # a Python loop for few rows, a cumsum for many
def test_sum_adds_series_one_after_another_at_one_step_and_many(n: int) -> None:
    """Prometheus 2.42 adds series in order, so float rounding follows that order. numpy's
    pairwise reduction of one column would round differently from the eighth row on."""
    import random

    rng = random.Random(7)
    st = MemoryStorage()
    values = [rng.random() * rng.choice([1.0, 1e10, 1e-5]) for _ in range(n)]
    for i, v in enumerate(values):
        st.add(Labels.of(name__="x", i=f"{i:03d}"), [0, M], [v, v])
    want = 0.0
    for v in values:  # series are stored in label order, which is i's order
        want += v
    engine = PromQLEngine(st)
    assert q(engine, "sum(x)") == {"{}": want}
    steps = matrix_of(engine.range_query("sum(x)", 0, M, M))
    assert [s.values.tolist() for s in steps] == [[want, want]]


def test_avg_and_stdvar_round_like_prometheus_running_computations() -> None:
    """avg is Prometheus' running mean and stdvar/stddev its Welford variance, which round
    differently from sum/count. Expected values were read from the real Prometheus 2.42
    (instant queries over the same 30 series, backfilled with promtool)."""
    import random

    rng = random.Random(5)
    st = MemoryStorage()
    for i in range(30):
        v = rng.random() * rng.choice([1.0, 1e10, 1e-5, 3.3])
        st.add(Labels.of(name__="x", i=f"{i:02d}"), [0, M], [v, v])
    engine = PromQLEngine(st)
    assert q(engine, "avg(x)", M) == {"{}": 2083673557.4401407}  # sum/count: ...402
    assert q(engine, "stdvar(x)", M) == {"{}": 8.546191155287426e18}  # two-pass: ...424e18
    assert q(engine, "stddev(x)", M) == {"{}": 2923386932.187976}
    assert q(engine, "sum(x)", M) == {"{}": 62510206723.20421}


@pytest.mark.parametrize("expr", ["avg(y)", "avg by (g) (y)", "stdvar by (g) (y)", "stddev(y)"])
def test_running_avg_and_stdvar_agree_between_instant_and_range_queries(expr: str) -> None:
    """Instant queries fold each group in Python floats, range queries step arrays row by
    row; both must give the same bits, with infinities, NaN and gaps in the data."""
    import random
    import struct

    rng = random.Random(11)
    st = MemoryStorage()
    for i in range(40):
        ts, vs = [], []
        for step in range(20):
            r = rng.random()
            if r < 0.1:
                continue
            v = {0: math.inf, 1: -math.inf, 2: math.nan}.get(int(r * 100) % 40, rng.random() * rng.choice([1.0, 1e10, -3.3, 1e300]))
            ts.append(step * M)
            vs.append(v)
        st.add(Labels.of(name__="y", i=f"{i:02d}", g=f"g{i % 3}"), ts, vs)
    engine = PromQLEngine(st)
    by_step: dict[tuple[str, int], float] = {}
    for s in matrix_of(engine.range_query(expr, 0, 19 * M, M)):
        for t, v in zip(s.timestamps.tolist(), s.values.tolist(), strict=True):
            by_step[(str(s.labels), t)] = v
    instant = {(k, t): v for t in range(0, 20 * M, M) for k, v in q(engine, expr, t).items()}
    assert by_step.keys() == instant.keys()
    def bits(v: float) -> bytes:  # NaN's sign bit differs between numpy and Python arithmetic
        return b"NaN" if math.isnan(v) else struct.pack("<d", v)

    assert {k: bits(v) for k, v in by_step.items()} == {k: bits(v) for k, v in instant.items()}
    assert any(not math.isfinite(v) for v in by_step.values())  # the odd values did reach the results
