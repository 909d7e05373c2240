"""Binary operators: arithmetic, comparison, bool, set operators, vector matching errors."""

from __future__ import annotations

import pytest

from sloguard.labels import Labels
from sloguard.promql import (
    PromQLEngine,
    PromQLError,
    ValueType,
)
from sloguard.tsdb.testing import MemoryStorage
from tests.promql._results import matrix_of, scalar_of, vector_of

M = 60_000


@pytest.fixture
def engine() -> PromQLEngine:
    st = MemoryStorage()
    st.add(Labels.of(name__="req", job="a", code="200"), [0], [10.0])
    st.add(Labels.of(name__="req", job="a", code="500"), [0], [2.0])
    st.add(Labels.of(name__="req", job="b", code="200"), [0], [4.0])
    st.add(Labels.of(name__="lim", job="a"), [0], [5.0])
    st.add(Labels.of(name__="lim", job="b"), [0], [3.0])
    st.add(Labels.of(name__="info", job="a", team="x"), [0], [1.0])
    st.add(Labels.of(name__="info", job="b", team="y"), [0], [1.0])
    return PromQLEngine(st)


def q(engine: PromQLEngine, expr: str) -> dict[str, float]:
    r = engine.instant_query(expr, 0)
    assert r.result_type is ValueType.VECTOR
    return {str(s.labels): s.v for s in vector_of(r)}


def test_arithmetic_drops_metric_name(engine: PromQLEngine) -> None:
    assert q(engine, "lim * 2") == {'{job="a"}': 10, '{job="b"}': 6}
    assert q(engine, "2 - lim") == {'{job="a"}': -3, '{job="b"}': -1}


def test_filter_comparison_keeps_name_and_vector_value_when_scalar_on_left(engine: PromQLEngine) -> None:
    assert q(engine, "lim > 4") == {'lim{job="a"}': 5}
    assert q(engine, "4 < lim") == {'lim{job="a"}': 5}


def test_bool_comparison_drops_name_and_returns_zero_or_one(engine: PromQLEngine) -> None:
    assert q(engine, "lim > bool 4") == {'{job="a"}': 1, '{job="b"}': 0}
    assert scalar_of(engine.instant_query("1 < bool 2", 0)) == 1


def test_one_to_one_matching_with_on(engine: PromQLEngine) -> None:
    assert q(engine, 'req{code="200"} / on(job) lim') == {'{job="a"}': 2, '{job="b"}': 4 / 3}


def test_one_to_one_with_ignoring_keeps_remaining_labels(engine: PromQLEngine) -> None:
    assert q(engine, 'req{code="500"} + ignoring(code) lim') == {'{job="a"}': 7}


def test_many_to_one_without_group_left_is_an_error(engine: PromQLEngine) -> None:
    with pytest.raises(PromQLError) as ei:
        q(engine, "req / on(job) lim")
    assert "many-to-one matching must be explicit (group_left/group_right)" in str(ei.value)


def test_group_left_copies_include_labels_from_one_side(engine: PromQLEngine) -> None:
    got = q(engine, "req * on(job) group_left(team) info")
    assert got == {'{code="200", job="a", team="x"}': 10, '{code="500", job="a", team="x"}': 2,
                   '{code="200", job="b", team="y"}': 4}


def test_group_right_builds_from_right_side(engine: PromQLEngine) -> None:
    got = q(engine, "lim - on(job) group_right req")
    assert got == {'{code="200", job="a"}': -5, '{code="500", job="a"}': 3, '{code="200", job="b"}': -1}


def test_duplicate_on_one_side_names_match_group_and_series(engine: PromQLEngine) -> None:
    with pytest.raises(PromQLError) as ei:
        q(engine, "lim * on(job) group_left req")
    assert str(ei.value) == (
        'found duplicate series for the match group {job="a"} on the right hand-side of the operation: '
        '[{__name__="req", code="500", job="a"}, {__name__="req", code="200", job="a"}]'
        ";many-to-many matching not allowed: matching labels must be unique on one side"
    )


def test_set_operators(engine: PromQLEngine) -> None:
    assert q(engine, "req and on(job) lim > 4") == {'req{code="200", job="a"}': 10, 'req{code="500", job="a"}': 2}
    assert q(engine, "req unless on(job) lim > 4") == {'req{code="200", job="b"}': 4}
    assert set(q(engine, 'lim or req{job="b"}')) == {'lim{job="a"}', 'lim{job="b"}', 'req{code="200", job="b"}'}
    assert set(q(engine, 'lim{job="a"} or on(job) info')) == {'lim{job="a"}', 'info{job="b", team="y"}'}


def test_or_fills_gaps_over_time_per_step() -> None:
    st = MemoryStorage()
    st.add(Labels.of(name__="a", k="1"), [0], [1.0])
    st.add(Labels.of(name__="b", k="1"), [0, 10 * M], [2.0, 2.0])
    r = PromQLEngine(st).range_query("a or b", 0, 10 * M, 5 * M)
    got = {str(s.labels): s.values.tolist() for s in matrix_of(r)}
    assert got == {'a{k="1"}': [1.0, 1.0], 'b{k="1"}': [2.0]}


def test_same_labelset_after_name_drop_is_an_error(engine: PromQLEngine) -> None:
    with pytest.raises(PromQLError) as ei:
        q(engine, '{__name__=~"lim|info"} * 1 + ignoring(team) lim')
    assert "multiple matches" in str(ei.value) or "same labelset" in str(ei.value)


def test_division_by_zero_and_modulo_follow_ieee(engine: PromQLEngine) -> None:
    got = q(engine, "lim / 0")
    assert got == {'{job="a"}': float("inf"), '{job="b"}': float("inf")}
    assert q(engine, "lim % 2") == {'{job="a"}': 1, '{job="b"}': 1}
    assert scalar_of(engine.instant_query("-7 % 3", 0)) == -1


def test_atan2_keeps_metric_name(engine: PromQLEngine) -> None:
    assert set(q(engine, "lim atan2 lim")) == {'lim{job="a"}', 'lim{job="b"}'}


def test_precedence_comes_from_parser(engine: PromQLEngine) -> None:
    assert scalar_of(engine.instant_query("2 + 3 * 4 ^ 2 ^ 0.5", 0)) == 2 + 3 * 4 ** (2**0.5)


@pytest.mark.parametrize("expr", ["lim + nothing", "nothing + lim", "lim > bool nothing", "nothing * on(job) group_left lim",
                                  "lim and nothing", "nothing or lim", "lim unless nothing", "sum(nothing) - 1"])
def test_empty_side_gives_empty_or_other_side(engine: PromQLEngine, expr: str) -> None:
    got = q(engine, expr)
    assert got == ({} if "or" not in expr and "unless" not in expr else q(engine, "lim"))


def test_unmatched_rows_on_both_sides(engine: PromQLEngine) -> None:
    assert q(engine, "req + info") == {}
    assert q(engine, 'req{code="200"} + on(job) info') == {'{job="a"}': 11, '{job="b"}': 5}
