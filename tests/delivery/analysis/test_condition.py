"""The condition language: what Argo users write, expr-lang's semantics, and refusals."""

from __future__ import annotations

import math

import pytest

from sloguard.delivery.analysis.condition import MAX_DEPTH, Condition, ConditionError

NAN, INF = math.nan, math.inf

TRUE_FALSE = [
    # Argo's documentation and common templates
    ("result[0] >= 0.95", [0.97], True),
    ("result[0] >= 0.95", [0.90], False),
    ("len(result) == 0", [], True),
    ("len(result) == 0", [1.0], False),
    ("all(result, {# < 0.5})", [0.1, 0.4], True),
    ("all(result, {# < 0.5})", [0.1, 0.6], False),
    ("any(result, {# > 0.5})", [0.1, 0.6], True),
    ("none(result, {# > 0.5})", [0.1, 0.6], False),
    ("one(result, {# > 0.5})", [0.6, 0.1], True),
    ("all(result, # < 0.5)", [0.1], True),  # expr-lang also takes a predicate without braces
    ("isNaN(result[0])", [NAN], True),
    ("isNaN(result[0])", [1.0], False),
    ("isInf(result)", INF, True),
    ("isInf(result)", -INF, True),
    ("result > 10", 11, True),
    ("result < 10 && result > 1", 5.0, True),
    ("result < 10 and result > 1", 50.0, False),
    ("result < 1 || result > 10", 50.0, True),
    ("result < 1 or result > 10", 5.0, False),
    ("!(result > 1)", 0.5, True),
    ("not (result > 1)", 0.5, True),
    ("not result", False, True),
    ("(result.requests_made * result.requests_succeeded / 100) >= 90", {"requests_made": 100, "requests_succeeded": 95}, True),
    ("result.ok == true", {"ok": True}, True),
    ("result['ok'] == true", {"ok": True}, True),
    ('result.status == "healthy"', {"status": "healthy"}, True),
    ("result.missing == nil", {"other": 1}, True),
    ('"a" in result', ["a", "b"], True),
    ('"z" not in result', ["a", "b"], True),
    ('"key" in result', {"key": 1}, True),
    ("default(result, 0) == 0", None, True),
    ("default(result, 0) == 5", 5, True),
    ("isNil(result)", None, True),
    ("asInt(result) == 42", "42", True),
    ("asFloat(result) > 0.5", "0.75", True),
    ("result[-1] == 3", [1, 2, 3], True),
    ("result[1:] == [2, 3]", [1, 2, 3], True),
    ("sum(result) == 6", [1, 2, 3], True),
    ("max(result) == 3 && min(result) == 1", [1, 2, 3], True),
    ("mean(result) == 2", [1, 2, 3], True),
    ("count(result, {# > 1}) == 2", [1, 2, 3], True),
    ("len(filter(result, {# > 1})) == 2", [1, 2, 3], True),
    ("map(result, {# * 2})[2] == 6", [1, 2, 3], True),
    ("all(result, {.latency < 0.3})", [{"latency": 0.1}, {"latency": 0.2}], True),
    ("any(result, {any(#.codes, {# >= 500})})", [{"codes": [200]}, {"codes": [200, 503]}], True),
    ("result ?? 1 == 1", None, True),
    ("result ?? 2 == 1", None, False),  # ?? binds tighter than == (expr-lang precedence)
    ("-result ?? 3 == -3", None, True),
    ("2 ** result ?? 3 == 8", None, True),
    ('"abc" not contains "z" && "abc" not startsWith "b" && "abc" not matches "^z"', 0, True),
    ("1 in result", None, False),  # nothing is in nil
    ("count([true, false, true]) == 2", 0, True),
    ("sum(result, {# * 2}) == 12", [1, 2, 3], True),
    ("result?.a == nil", None, True),
    ("result > 1 ? true : false", 2, True),
    # arithmetic with expr-lang's types
    ("1 / 2 == 0.5", 0, True),
    ("7 % 3 == 1", 0, True),
    ("-7 % 3 == -1", 0, True),  # Go truncates towards zero
    ("2 ** 10 == 1024", 0, True),
    ("2 ^ 3 == 8", 0, True),
    ("-2 ** 2 == -4", 0, True),  # unary minus binds looser than **
    ("2 ** 3 ** 2 == 512", 0, True),  # right-associative
    ("1 + 2 * 3 == 7", 0, True),
    ("(1 + 2) * 3 == 9", 0, True),
    ("1 == 1.0", 0, True),
    ("1_000 == 1000 && 0x10 == 16 && 1e3 == 1000", 0, True),
    ("1 / 0 > 1e308", 0, True),  # Go float division: +Inf
    ("isNaN(0 / 0)", 0, True),
    ('"ab" + "c" == "abc"', 0, True),
    ('"abc" contains "b" && "abc" startsWith "a" && "abc" endsWith "c"', 0, True),
    ('"canary-7" matches "^canary-[0-9]+$"', 0, True),
    ("'single' == \"single\"", 0, True),
    ('"a\\tb" == "a\tb"', 0, True),
    ("true != false", 0, True),
    ("1 != true", 0, True),  # booleans are not numbers
    ("[1, 2] == [1, 2]", 0, True),
    ("{a: 1}.a == 1", 0, True),
]


@pytest.mark.parametrize(("text", "result", "want"), TRUE_FALSE)
def test_conditions_give_the_expected_verdict(text: str, result: object, want: bool) -> None:
    assert Condition.compile(text).evaluate(result) is want


def test_nan_compares_false_both_ways() -> None:
    assert Condition.compile("result[0] >= 0.95").evaluate([NAN]) is False
    assert Condition.compile("result[0] < 0.95").evaluate([NAN]) is False


PARSE_ERRORS = [
    ("result[0] >=", 13, "expected a value"),
    ("", 0, "empty"),
    ("result[0] >= 0.95 )", 19, "expected an operator"),
    ("foo > 1", 1, "unknown name 'foo'"),
    ("os.system('x')", 1, "unknown name 'os'"),
    ("__import__('os')", 1, "unknown function '__import__'"),
    ("eval('1')", 1, "unknown function 'eval'"),
    ("exec('1')", 1, "unknown function 'exec'"),
    ("result ; 1", 8, "unexpected character"),
    ("result @ 1", 8, "unexpected character"),
    ("'open", 1, "not closed"),
    ("# > 1", 1, "inside a predicate"),
    ("let x", 1, "not supported"),
    ('"\\q"', 2, "unknown escape"),
    ("result > .5", 10, "write 0.5, not .5"),
    ("result > \u0663", 10, "unexpected character"),  # an Arabic-Indic digit is not a number here
]


@pytest.mark.parametrize(("text", "column", "words"), PARSE_ERRORS)
def test_bad_syntax_is_refused_with_the_column(text: str, column: int, words: str) -> None:
    with pytest.raises(ConditionError) as e:
        Condition.compile(text)
    assert e.value.column == column
    assert words in e.value.reason
    assert repr(text) in str(e.value)


EVAL_ERRORS = [
    ("result[5] > 1", [1.0], 7, "index out of range: 5"),
    ("result[0] > 1", [], 7, "index out of range: 0"),
    ("result.__class__ == 1", [1.0], 7, "cannot read field '__class__'"),
    ("result.__class__.__bases__ == 1", 1.0, 7, "only maps have fields"),
    ("result.x > 1", "text", 7, "cannot read field 'x'"),
    ('result > "a"', 1.0, 8, "float > string"),
    ("result + 1 > 2", "s", 8, "string + int"),
    ("result && true", 1.0, 1, "needs true or false"),
    ("result", 0.5, 0, "not true or false"),
    ("7 % 0 == 1", 0, 3, "integer divide by zero"),
    ("1.5 % 2 == 1", 0, 5, "needs two integers"),
    ("isNaN('x')", 0, 1, "needs a number"),
    ("len(result) > 0", 1.0, 1, "len() needs"),
    ("all(result, {# > 1})", 1.0, 1, "needs an array"),
    ("all(result, {#})", [1.0], 1, "not true or false"),
    ("9223372036854775807 + 1 > 0", 0, 21, "integer overflow"),
    ('"a" matches "("', 0, 5, "invalid"),
    ("max(result) > 1", [], 1, "empty array"),
]


@pytest.mark.parametrize(("text", "result", "column", "words"), EVAL_ERRORS)
def test_evaluation_errors_name_the_column(text: str, result: object, column: int, words: str) -> None:
    cond = Condition.compile(text)
    with pytest.raises(ConditionError) as e:
        cond.evaluate(result)
    assert e.value.column == column, str(e.value)
    assert words in e.value.reason


MALICIOUS = [
    ("(" * 200 + "1" + ")" * 200, "nested deeper"),
    ("-" * 100 + "1 > 0", "nested deeper"),
    ("!" * 100 + "true", "nested deeper"),
    ("2" + " ** 2" * 100 + " > 0", "nested deeper"),
    ("[" * 100 + "]" * 100 + " == 1", "nested deeper"),
    ("9" * 500 + " > 1", "longer than 40"),
    ("1" + "0" * 30 + " > 1", "does not fit an int64"),
    ("1e999 > 1", "too large"),
    ("'" + "a" * 5000 + "' == ''", "longer than"),
    ("+".join(["1"] * 1100) + " > 0", "more than 1000 parts"),
    ("x" * 5000, "longer than 4000"),
]


@pytest.mark.parametrize(("text", "words"), MALICIOUS)
def test_hostile_conditions_are_refused_cleanly(text: str, words: str) -> None:
    with pytest.raises(ConditionError) as e:
        Condition.compile(text).evaluate(1.0)
    assert words in e.value.reason


def test_depth_limit_allows_reasonable_nesting() -> None:
    depth = MAX_DEPTH // 2 - 2
    assert Condition.compile("(" * depth + "result" + ")" * depth + " > 0").evaluate(1.0) is True


def test_a_huge_result_stops_at_the_step_budget() -> None:
    cond = Condition.compile("all(result, {all(result, {# >= 0})})")  # quadratic in the result
    with pytest.raises(ConditionError) as e:
        cond.evaluate([1.0] * 2000)
    assert "steps" in e.value.reason


def test_power_overflow_is_infinity_not_a_crash() -> None:
    assert Condition.compile("10 ** 400 > 1e308").evaluate(0) is True


def test_result_values_are_not_python_objects() -> None:
    class Sneaky:
        pass

    with pytest.raises(ConditionError, match="cannot be used in a condition"):
        Condition.compile("result == 1").evaluate(Sneaky())


def test_numpy_values_are_read_as_floats() -> None:
    np = pytest.importorskip("numpy")
    assert Condition.compile("result[0] >= 0.95").evaluate([np.float64(0.99)]) is True
