"""Parse limits: texts too deep or too long for the parsers are refused before any parser
sees them, and everything at the limits parses, words its errors and evaluates."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from sloguard.labels import Labels
from sloguard.parselimits import (
    ParseLimitError,
    ParseLimits,
    check_expression,
    default_limits,
    measure,
    recursion_limit_for,
)
from sloguard.promql import ParseError, PromQLEngine, PromQLError, parse_matchers_text
from sloguard.promql._ast import parse
from sloguard.tsdb.testing import MemoryStorage

LIM = default_limits()
D, C = LIM.max_depth, LIM.max_chain

# The reproductions from issue 8: each one killed the process.
PARENS_9000 = "(" * 9000 + "1" + ")" * 9000
PLUS_5000 = "+".join(["1"] * 5000)
OR_80000 = " or ".join(["up"] * 80_000)


def nest(open_: str, n: int, inner: str = "x", close: str = ")") -> str:
    return open_ * n + inner + close * n


def test_defaults_are_depth_200_and_a_chain_the_parsers_take_quickly() -> None:
    assert (LIM.max_depth, LIM.max_chain) == (200, 300)
    assert LIM.max_tree == 500


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_limits_must_be_positive_integers(bad: object) -> None:
    with pytest.raises(ValueError, match="max_depth must be a positive integer"):
        ParseLimits(max_depth=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "setting", "where"),
    [
        (PARENS_9000, "query.max_parse_depth", "1:201:"),
        (PLUS_5000, "query.max_parse_chain", "1:602:"),
        (OR_80000, "query.max_parse_chain", "1:1804:"),
        ("-" * 5000 + "1", "query.max_parse_depth", "1:201:"),
        (nest("abs(", 3000), "query.max_parse_depth", "1:804:"),
        (nest("sum by (a) (", 1000), "query.max_parse_depth", None),
        (nest("-(", 150), "query.max_parse_depth", None),
    ],
)
def test_reproductions_are_refused_with_the_limit_named(text: str, setting: str, where: str | None) -> None:
    with pytest.raises(ParseLimitError) as err:
        check_expression(text)
    msg = str(err.value)
    assert "parse error: expression" in msg and f"({setting})" in msg
    assert (str(LIM.max_depth) if "depth" in setting else str(LIM.max_chain)) in msg
    if where is not None:
        assert msg.startswith(where)


def test_position_is_line_and_column_of_the_first_level_past_the_limit() -> None:
    text = "sum(\n  " + "(" * 300 + "x" + ")" * 300 + ")"
    with pytest.raises(ParseLimitError) as err:
        check_expression(text)
    assert str(err.value).startswith("2:202: parse error: expression nests deeper than the limit of 200")
    assert err.value.pos == text.index("(", 7) + 199


def test_measure_counts_whole_text() -> None:
    assert measure(PARENS_9000).depth == 9000
    assert measure(PLUS_5000).chain == 4999
    assert measure(nest("abs(", 30)).depth == 30
    assert measure("a or b unless c and d").chain == 3
    assert measure("a OR b AND c").chain == 2  # keywords are case-insensitive, as in the lexers
    assert measure("1e+5 - 2e-3 * x").chain == 2  # exponent signs are not operators
    # after a label list of on/ignoring/group_* an operand follows, after by/without an operator
    assert (measure("a + on(job) --x").depth, measure("a + on(job) --x").chain) == (2, 1)
    assert (measure("sum(x) by (a) - 1").depth, measure("sum(x) by (a) - 1").chain) == (1, 1)


@pytest.mark.parametrize(
    "text",
    [
        'up{a="' + "(" * 5000 + '"}',  # brackets inside strings
        "label_replace(up, 'a', '" + "[{(" * 3000 + "', 'b', '(.*)')",
        "up{a=`" + "(" * 5000 + "`}",
        'up{a="\\"' + "(" * 5000 + '"}',  # an escaped quote does not end the string
        "up # " + "(" * 5000 + "\n + 1",  # a comment
        'up{a=~"' + "+".join(["x"] * 5000) + '"}',  # operators inside strings
    ],
)
def test_brackets_and_operators_in_strings_and_comments_do_not_count(text: str) -> None:
    check_expression(text)
    assert measure(text).depth <= 2 and measure(text).chain <= 1


def test_a_backslash_in_a_raw_string_counts_as_either_lexer_reads_it() -> None:
    # promql-parser takes \` as an escape inside a raw string, Prometheus does not: the text
    # between is code for one of them, so it counts.
    text = "`\\`" + "(" * 300 + "`"
    with pytest.raises(ParseLimitError, match="max_parse_depth"):
        check_expression(text)
    # a newline ends a quoted string for Prometheus' lexer only
    with pytest.raises(ParseLimitError):
        check_expression('"a\n' + "(" * 300 + '"')


def test_a_carriage_return_ends_a_comment_for_the_rust_lexer() -> None:
    with pytest.raises(ParseLimitError):
        check_expression("1 # x\r+" + "(" * 300 + "1" + ")" * 300)


def test_chains_count_per_argument_and_per_bracket() -> None:
    args = ", ".join(["+".join(["x"] * C)] * 3)
    check_expression(f"label_join({args})")  # three chains of C-1 operators each
    check_expression("(" + "+".join(["x"] * (C + 1)) + ")")
    with pytest.raises(ParseLimitError, match="max_parse_chain"):
        check_expression("(" + "+".join(["x"] * (C + 2)) + ")")


def test_depth_and_chains_cannot_multiply() -> None:
    # each level is well within both limits, the tree is not
    text = nest("(x + x + ", D - 1)
    assert measure(text).depth < D and measure(text).chain < C
    with pytest.raises(ParseLimitError, match=r"parse tree is deeper than the limit of 500 levels"):
        check_expression(text)


def test_custom_limits_apply_and_recursion_fits_the_default() -> None:
    small = ParseLimits(max_depth=3, max_chain=2)
    check_expression("((x))", small)
    with pytest.raises(ParseLimitError, match="limit of 3 levels"):
        check_expression("((((x))))", small)
    with pytest.raises(ParseLimitError, match="limit of 2"):
        check_expression("a+b+c+d", small)
    import sys

    assert sys.getrecursionlimit() >= recursion_limit_for(LIM)


AT_LIMIT = {
    "parens": nest("(", D),
    "calls": nest("abs(", D),
    "aggregations": nest("sum by (job) (", D - 1),
    "unary": "-" * D + "x",
    "unary_parens": nest("-(", D // 2),
    "subqueries": nest("max_over_time((", (D - 1) // 2, "x", ")[5m:1m])"),
    "plus_chain": "+".join(["x"] * (C + 1)),
    "or_chain": " or ".join(["x"] * (C + 1)),
    "pow_chain": "^".join(["x"] * (C + 1)),
    "unary_pow_chain": "^".join(["-x"] * (C // 2 + 1)),
    "bool_chain": " > bool ".join(["x"] * (C + 1)),
    "scalar_chain": "+".join(["1"] * (C + 1)),
    "nested_chains": nest("(x + ", D - 1),
}
OVER_LIMIT = {
    "parens": nest("(", D + 1),
    "calls": nest("abs(", D + 1),
    "unary": "-" * (D + 1) + "x",
    "plus_chain": "+".join(["x"] * (C + 2)),
    "or_chain": " or ".join(["x"] * (C + 2)),
    "nested_chains": nest("(x + x + ", D - 1),
}


def _in_thread(fn: Callable[[], object]) -> object:
    """Run ``fn`` in a fresh thread, as the server runs queries in worker threads."""
    out: list[object] = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            out.append(e)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    return out[0]


@pytest.fixture(scope="module")
def engine() -> PromQLEngine:
    st = MemoryStorage()
    st.add(Labels.of(__name__="x", job="a"), [0, 60_000, 120_000], [1.0, 2.0, 3.0])
    return PromQLEngine(st)


@pytest.mark.parametrize("name", sorted(AT_LIMIT))
def test_at_the_limit_parses_and_evaluates_in_a_worker_thread(name: str, engine: PromQLEngine) -> None:
    text = AT_LIMIT[name]
    check_expression(text)
    tree = _in_thread(lambda: parse(text))
    assert not isinstance(tree, BaseException), tree
    result = _in_thread(lambda: engine.instant_query(text, 120_000))
    assert not isinstance(result, BaseException), result


@pytest.mark.parametrize("name", sorted(AT_LIMIT))
def test_at_the_limit_invalid_variants_get_prometheus_errors(name: str) -> None:
    text = AT_LIMIT[name]
    for bad in (text + ")", text + " +", text + " x", "rate(" + text + ")", text + "{", "(" + text):
        err = _in_thread(lambda b=bad: parse(b))  # type: ignore[misc]
        assert isinstance(err, ParseError), (bad[:40], err)
        assert "parse error" in str(err) and "RecursionError" not in str(err)


@pytest.mark.parametrize("name", sorted(OVER_LIMIT))
def test_over_the_limit_is_a_parse_error_from_the_engine(name: str, engine: PromQLEngine) -> None:
    with pytest.raises(ParseError, match=r"parse error: expression.* \(query\.max_parse_"):
        engine.instant_query(OVER_LIMIT[name], 0)
    with pytest.raises(PromQLError, match="max_parse_"):
        engine.range_query(OVER_LIMIT[name], 0, 60_000, 60_000)


@pytest.mark.parametrize("text", [PARENS_9000, PLUS_5000, OR_80000])
def test_reproductions_through_the_engine_parser(text: str) -> None:
    with pytest.raises(ParseError, match="max_parse_"):
        parse(text)


def test_series_selectors_are_held_to_the_limits() -> None:
    assert parse_matchers_text('up{job="a"}')[1].value == "a"
    for text in (PARENS_9000, OR_80000, nest("(", D + 1, "up")):
        with pytest.raises(ValueError, match=r"invalid series selector .*max_parse_"):
            parse_matchers_text(text)
    with pytest.raises(ValueError, match="not a vector selector"):
        parse_matchers_text(nest("(", D, "up"))  # at the limit: parsed, then refused as a selector


def test_server_wide_limits_apply_to_cached_parses_too() -> None:
    from sloguard.parselimits import set_default_limits

    text = nest("(", 60)
    parse(text)  # cached under the default limits
    set_default_limits(ParseLimits(max_depth=50, max_chain=50))
    try:
        with pytest.raises(ParseError, match="limit of 50 levels"):
            parse(text)
        with pytest.raises(ValueError, match="limit of 50 levels"):
            parse_matchers_text(nest("(", 60, "up"))
    finally:
        set_default_limits(LIM)
    assert parse(text) is parse(text)
