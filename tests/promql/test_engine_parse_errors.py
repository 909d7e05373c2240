"""Parse errors read as Prometheus 2.42 prints them (messages recorded from the real binary)."""

from __future__ import annotations

import pytest

from sloguard.promql import ErrorType, ParseError
from sloguard.promql._ast import parse

# (query, Prometheus 2.42's error without the API's 'invalid parameter "query": ' prefix)
CASES = [
    ("sum(x", "1:6: parse error: unclosed left parenthesis"),
    ("foo{", "1:5: parse error: unexpected end of input inside braces"),
    ('foo{a="b"', "1:10: parse error: unexpected end of input inside braces"),
    ("foo{a=}", '1:7: parse error: unexpected "}" in label matching, expected string'),
    ("x +", "1:4: parse error: unexpected end of input"),
    (")", "1:2: parse error: unexpected right parenthesis ')'"),
    ("rate(x)", '1:6: parse error: expected type range vector in call to function "rate", got instant vector'),
    ("x[5m", "1:5: parse error: unclosed left bracket"),
    ("foo bar", '1:5: parse error: unexpected identifier "bar"'),
    ("unknownfn(x)", '1:1: parse error: unknown function with name "unknownfn"'),
    ('"a" + 1', "1:1: parse error: binary expression must contain only scalar and instant vector types"),
    ("x and 1", '1:1: parse error: set operator "and" not allowed in binary scalar expression'),
    ("sum by (a) x", '1:12: parse error: unexpected identifier "x" in aggregation'),
    ("1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier"),
    ("{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"),
    ("x offset", "1:9: parse error: unexpected end of input in offset, expected duration"),
    ("x offset 5", '1:10: parse error: unexpected number "5" in offset, expected duration'),
    ("topk(x)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1"),
    ("count_values(1, x)", "1:14: parse error: expected type string in aggregation parameter, got scalar"),
    ('label_replace(x, "a")', '1:1: parse error: expected 5 argument(s) in call to "label_replace", got 2'),
    ("1 +\n foo{", "2:6: parse error: unexpected end of input inside braces"),
    ("sum without(a) by (b) (x)", "1:16: parse error: unexpected <by> in aggregation"),
    ("x[1m:1m:1m]", "1:8: parse error: unexpected colon ':'"),
    ('-"a"', '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string"'),
    ("x{a='b}", "1:5: parse error: unterminated quoted string"),
    ("0x", '1:1: parse error: error parsing number: strconv.ParseFloat: parsing "0x": invalid syntax'),
    ('x{a="\\q"}', "1:5: parse error: unknown escape sequence U+0071 'q'"),
    ("x[0s]", "1:3: parse error: duration must be greater than 0"),
    ("max_over_time(rate(x[5m])[5m])", "1:26: parse error: ranges only allowed for vector selectors"),
    ("x @ 1 @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times"),
    ("rate(x[5m] @ foo)", '1:14: parse error: unexpected identifier "foo" in @, expected timestamp'),
    ("1 + bool 2", "1:3: parse error: bool modifier can only be used on comparison operators"),
    ("sum(x) by", '1:10: parse error: unexpected end of input in grouping opts, expected "("'),
    ("sum(x) by (a) (y)", '1:15: parse error: unexpected "("'),
    ("x{__name__=\"a\"}", '1:1: parse error: metric name must not be set twice: "x" or "a"'),
    ("group_left", "1:1: parse error: unexpected <group_left>"),
    ("x}", "1:2: parse error: unexpected character: '}'"),
    ("$", "1:1: parse error: unexpected character: '$'"),
    ("a=b", '1:2: parse error: unexpected "="'),
    ("sum by job (x)", '1:8: parse error: unexpected identifier "job" in grouping opts, expected "("'),
    ("rate(x[5m)", '1:10: parse error: unexpected ")" in subquery or range, expected ":" or "]"'),
    ('x{job="a",,}', '1:11: parse error: unexpected "," in label matching, expected identifier or "}"'),
    ("x + on", '1:7: parse error: unexpected end of input in grouping opts, expected "("'),
    ("x and on(a b) y", '1:12: parse error: unexpected identifier "b" in grouping opts, expected "," or ")"'),
    ("x offset -", "1:11: parse error: unexpected end of input in offset, expected duration"),
    ("1 +* 2", "1:4: parse error: unexpected <op:*>"),
    ('x{="a"}', '1:3: parse error: unexpected "=" in label matching, expected identifier or "}"'),
    ('x{a~"b"}', "1:4: parse error: unexpected character inside braces: '~'"),
]


@pytest.mark.parametrize(("query", "message"), CASES, ids=[c[0] for c in CASES])
def test_parse_error_matches_prometheus(query: str, message: str) -> None:
    with pytest.raises(ParseError) as ei:
        parse(query)
    assert str(ei.value) == message
    assert ei.value.error_type is ErrorType.BAD_DATA


def test_valid_expressions_parse() -> None:
    for q in ['foo{a="b",}', "x + on(a) group_left y + z", 'job:rate:5m{a="b"}[1m:30s] offset -1m']:
        parse(q)


@pytest.mark.parametrize("query", ["sort_by_label(x, \"a\")", "limitk(1, x)", "sum(histogram_avg(x))"])
def test_functions_newer_than_2_42_are_unknown(query: str) -> None:
    name = query.split("(")[0] if not query.startswith("sum(") else "histogram_avg"
    with pytest.raises(ParseError) as ei:
        parse(query)
    assert str(ei.value).endswith(f'parse error: unknown function with name "{name}"')


# Recorded from the real Prometheus 2.42 binary.
MORE_CASES = [
    ("x @ 1e20", "1:1: parse error: timestamp out of bounds for @ modifier: 100000000000000000000.000000"),
    ("rate(x[5m] @ -1e20)", "1:6: parse error: timestamp out of bounds for @ modifier: -100000000000000000000.000000"),
    ("x @ Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"),
    ('topk("a", x)', "1:6: parse error: expected type scalar in aggregation parameter, got string"),
    ('quantile("a", x)', "1:10: parse error: expected type scalar in aggregation parameter, got string"),
    ('x{a=~"("}', "1:3: parse error: error parsing regexp: missing closing ): `^(?:()$`"),
    ('x{b="c", a=~"a**"}', "1:10: parse error: error parsing regexp: invalid nested repetition operator: `**`"),
    ('x{a=~"[a"}', "1:3: parse error: error parsing regexp: missing closing ]: `[a)$`"),
    ('x{a=~"a)"}', "1:3: parse error: error parsing regexp: unexpected ): `^(?:a))$`"),
    ('x{a=~"*a"}', "1:3: parse error: error parsing regexp: missing argument to repetition operator: `*`"),
    ('x{a=~"\\\\q"}', "1:3: parse error: error parsing regexp: invalid escape sequence: `\\q`"),
]


@pytest.mark.parametrize(("query", "message"), MORE_CASES, ids=[c[0] for c in MORE_CASES])
def test_more_parse_errors_match_prometheus(query: str, message: str) -> None:
    with pytest.raises(ParseError) as ei:
        parse(query)
    assert str(ei.value) == message


def test_huge_at_within_bounds_selects_nothing() -> None:
    from sloguard.promql import PromQLEngine
    from sloguard.tsdb.testing import MemoryStorage

    assert PromQLEngine(MemoryStorage()).instant_query("x @ 1e17", 0).value == []
