"""Parse and type-check errors read exactly as Prometheus 2.42 prints them (messages recorded
from the real binary's /api/v1/query): the order of its checks, wording and ``line:col``."""

from __future__ import annotations

import pytest

from sloguard.promql import ErrorType, ParseError
from sloguard.promql._ast import parse
from sloguard.promql._parse_typecheck import SIGNATURES
from sloguard.promql.functions import FUNCTIONS

# (query, Prometheus 2.42's error without the API's 'invalid parameter "query": ' prefix)
RECORDED = [
    ('max_over_time((time())[1h:1m])', '1:15: parse error: subquery is only allowed on instant vector, got scalar instead'),
    ('-("str")', '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string"'),
    ('-(x[5m:1m])', '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "range vector"'),
    ('-(x[5m])', '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "range vector"'),
    ('group by (job) (time())', '1:17: parse error: expected type instant vector in aggregation expression, got scalar'),
    ('topk()', '1:1: parse error: no arguments for aggregate expression provided'),
    ('bottomk by (job) (x{__name__=""})', '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1'),
    ('time() unless ignoring (le) vector(1)', '1:1: parse error: vector matching only allowed between instant vectors'),
    ('time() + "a"', '1:10: parse error: binary expression must contain only scalar and instant vector types'),
    ('sort(x, y, z)', '1:1: parse error: expected 1 argument(s) in call to "sort", got 3'),
    ('sort(x[5m], y, z)', '1:1: parse error: expected 1 argument(s) in call to "sort", got 3'),
    ('sum by ("str") (x)', '1:9: parse error: unexpected string "\\"str\\"" in grouping opts, expected label'),
    ('sum by (a, "b") (x)', '1:12: parse error: unexpected string "\\"b\\"" in grouping opts, expected label'),
    ('x[5x]', '1:3: parse error: bad duration syntax: "5"'),
    ('1..2', '1:3: parse error: unexpected number ".2"'),
    ('@', '1:1: parse error: unexpected "<Item 57385>" <op:@>'),
    ('x[', '1:3: parse error: missing unit character in duration'),
    ('by (a) sum(x)', '1:4: parse error: unexpected "("'),
    ('x @', '1:4: parse error: unexpected end of input in @, expected timestamp'),
    ('rate(x)', '1:6: parse error: expected type range vector in call to function "rate", got instant vector'),
    ('topk(x)', '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1'),
    ('topk("a", x)', '1:6: parse error: expected type scalar in aggregation parameter, got string'),
    ('count_values(1, x)', '1:14: parse error: expected type string in aggregation parameter, got scalar'),
    ('quantile(x, y)', '1:10: parse error: expected type scalar in aggregation parameter, got instant vector'),
    ('sum(x[5m])', '1:5: parse error: expected type instant vector in aggregation expression, got range vector'),
    ('sum("a")', '1:5: parse error: expected type instant vector in aggregation expression, got string'),
    ('1 + x[5m]', '1:5: parse error: binary expression must contain only scalar and instant vector types'),
    ('x[5m] + 1', '1:1: parse error: binary expression must contain only scalar and instant vector types'),
    ('x and 1', '1:1: parse error: set operator "and" not allowed in binary scalar expression'),
    ('1 and x', '1:1: parse error: set operator "and" not allowed in binary scalar expression'),
    ('x and on(a) 1', '1:1: parse error: vector matching only allowed between instant vectors'),
    ('vector(1) + on(a) time()', '1:1: parse error: vector matching only allowed between instant vectors'),
    ('x and on(a) group_left(b) y', '1:1: parse error: no grouping allowed for "and" operation'),
    ('x or ignoring(a) group_right y', '1:1: parse error: no grouping allowed for "or" operation'),
    ('abs("a")', '1:5: parse error: expected type instant vector in call to function "abs", got string'),
    ('abs(x[5m])', '1:5: parse error: expected type instant vector in call to function "abs", got range vector'),
    ('abs()', '1:1: parse error: expected 1 argument(s) in call to "abs", got 0'),
    ('abs(x, y)', '1:1: parse error: expected 1 argument(s) in call to "abs", got 2'),
    ('label_replace(x, "a", "b", "c")', '1:1: parse error: expected 5 argument(s) in call to "label_replace", got 4'),
    ('label_replace(x, 1, "b", "c", "d")', '1:18: parse error: expected type string in call to function "label_replace", got scalar'),
    ('histogram_quantile(x, y)', '1:20: parse error: expected type scalar in call to function "histogram_quantile", got instant vector'),
    ('(x)[5m]', '1:4: parse error: ranges only allowed for vector selectors'),
    ('x[5m][5m]', '1:6: parse error: ranges only allowed for vector selectors'),
    ('x[5m:1m][5m]', '1:9: parse error: ranges only allowed for vector selectors'),
    ('1[5m:1m]', '1:1: parse error: subquery is only allowed on instant vector, got scalar instead'),
    ('"a"[5m:1m]', '1:1: parse error: subquery is only allowed on instant vector, got string instead'),
    ('x offset 5m offset 5m', '1:1: parse error: offset may not be set multiple times'),
    ('x @ 1 @ 2', '1:1: parse error: @ <timestamp> may not be set multiple times'),
    ('x[5m] offset 1m offset 1m', '1:1: parse error: offset may not be set multiple times'),
    ('sum(x) offset 5m', '1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery'),
    ('"a" offset 5m', '1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery'),
    ('{a=~".*"}', '1:1: parse error: vector selector must contain at least one non-empty matcher'),
    ('{__name__=~"a.*"}{a="b"}', '1:18: parse error: unexpected "{"'),
    ('x{a="b"}{c="d"}', '1:9: parse error: unexpected "{"'),
    ('1 > bool x[5m]', '1:10: parse error: binary expression must contain only scalar and instant vector types'),
    ('x == bool "a"', '1:11: parse error: binary expression must contain only scalar and instant vector types'),
    ('time(1)', '1:1: parse error: expected 0 argument(s) in call to "time", got 1'),
    ('vector()', '1:1: parse error: expected 1 argument(s) in call to "vector", got 0'),
    ('vector("a")', '1:8: parse error: expected type scalar in call to function "vector", got string'),
    ('scalar(1)', '1:8: parse error: expected type instant vector in call to function "scalar", got scalar'),
    ('round(x, y)', '1:10: parse error: expected type scalar in call to function "round", got instant vector'),
    ('round(x, "a")', '1:10: parse error: expected type scalar in call to function "round", got string'),
    ('clamp(x, 1)', '1:1: parse error: expected 3 argument(s) in call to "clamp", got 2'),
    ('-x[5m]', '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "range vector"'),
    ('+"a"', '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string"'),
    ('!x', "1:1: parse error: unexpected character after '!': 'x'"),
    ('x[5m:0s]', '1:6: parse error: duration must be greater than 0'),
    ('x[0s:1m]', '1:3: parse error: duration must be greater than 0'),
    ('x[1m:5s:1s]', "1:8: parse error: unexpected colon ':'"),
    ('x @ end(', '1:9: parse error: unclosed left parenthesis'),
    ('x @ start', '1:10: parse error: unexpected end of input in @, expected timestamp'),
    ('sum(x) without (a) by (b)', '1:20: parse error: unexpected <by>'),
    ('count_values("a", x, y)', '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 3'),
    ('quantile(0.5)', '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1'),
    ('topk(1, x) by (a) (y)', '1:19: parse error: unexpected "("'),
    ('histogram_quantile(0.9)', '1:1: parse error: expected 2 argument(s) in call to "histogram_quantile", got 1'),
    ('histogram_quantile("a", x)', '1:20: parse error: expected type scalar in call to function "histogram_quantile", got string'),
    ('label_join(x)', '1:1: parse error: expected at least 3 argument(s) in call to "label_join", got 1'),
    ('label_join(x, "a", "b", "c", 1)', '1:30: parse error: expected type string in call to function "label_join", got scalar'),
    ('round(x, 1, 2)', '1:1: parse error: expected at most 2 argument(s) in call to "round", got 3'),
    ('days_in_month(x, y)', '1:1: parse error: expected at most 1 argument(s) in call to "days_in_month", got 2'),
    ('vector(x)', '1:8: parse error: expected type scalar in call to function "vector", got instant vector'),
    ('scalar(x[5m])', '1:8: parse error: expected type instant vector in call to function "scalar", got range vector'),
    ('time() > time()', '1:8: parse error: comparisons between scalars must use BOOL modifier'),
    ('x + bool y', '1:3: parse error: bool modifier can only be used on comparison operators'),
    ('x * on(a) group_left(b) on(c) y', '1:25: parse error: unexpected <on>'),
    ('x and on(a) group_right(b) y', '1:1: parse error: no grouping allowed for "and" operation'),
    ('x or on(a) group_left y', '1:1: parse error: no grouping allowed for "or" operation'),
    ('"a" and "b"', '1:1: parse error: binary expression must contain only scalar and instant vector types'),
    ('x[5m] and y[5m]', '1:1: parse error: binary expression must contain only scalar and instant vector types'),
    ('sum(x)[5m]', '1:7: parse error: ranges only allowed for vector selectors'),
    ('rate(x[5m])[5m]', '1:12: parse error: ranges only allowed for vector selectors'),
    ('x[5m:1m][5m:1m]', '1:1: parse error: subquery is only allowed on instant vector, got matrix instead'),
    ('rate(x[5m:1m]) offset 5m', '1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery'),
    ('x @ start() @ end()', '1:1: parse error: @ <timestamp> may not be set multiple times'),
    ('x offset 5m @ 1 offset 1m', '1:1: parse error: offset may not be set multiple times'),
    ('x{a=~"("}', '1:3: parse error: error parsing regexp: missing closing ): `^(?:()$`'),
    ('x{a=~"a**"}', '1:3: parse error: error parsing regexp: invalid nested repetition operator: `**`'),
]


@pytest.mark.parametrize(("query", "message"), RECORDED)
def test_error_reads_as_prometheus(query: str, message: str) -> None:
    with pytest.raises(ParseError) as err:
        parse(query)
    assert str(err.value) == message
    assert err.value.error_type is ErrorType.BAD_DATA


@pytest.mark.parametrize("query", ["+x", "1 + +2", "sum by (a) (x)", "x[1h:]", "x @ start()", "-x ^ 2", "1e3"])
def test_valid_neighbours_still_parse(query: str) -> None:
    parse(query)


def test_every_function_has_a_type_signature() -> None:
    """The type checker knows each 2.42 function's argument and return types."""
    assert set(FUNCTIONS) <= set(SIGNATURES)


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_signature_accepts_a_well_typed_call(name: str) -> None:
    """A call built from the signature parses (checks the table against the parser)."""
    sample = {"v": "x", "m": "x[5m]", "s": "1", "S": '"a"'}
    types, variadic, _ = SIGNATURES[name]
    parse(f"{name}({', '.join(sample[t] for t in types)})")
    if variadic != 0:
        parse(f"{name}({', '.join(sample[t] for t in types[:-1])})")
