"""Mutation tests for the value checks: each deliberate break of the generated expressions
(a dropped factor, swapped windows, averaged ratios, a lost ``unless``, ``>=`` for ``>``,
a lost zero fill or low-traffic guard) must make a hand-computed value check fail.

A mutation rewrites the rule set the way a plausible bug in ``rulegen`` would; the value
checks of ``_rule_values`` then run on it and must report at least one mismatch (the
unmutated rules pass the same checks in ``test_rule_values``)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.slo._rule_scenarios import OUTAGE, STEADY
from tests.slo._rule_values import Scenario, check_sloguard

Rules = dict[str, Any]


def _rewrite(rules: Rules, fn: Callable[[str], str], kind: str) -> Rules:
    """Apply ``fn`` to the expression of every rule of ``kind`` (``alert``, ``record`` or both)."""
    out = copy.deepcopy(rules)
    for g in out["groups"]:
        for r in g["rules"]:
            if kind == "any" or kind in r:
                r["expr"] = fn(r["expr"])
    return out


def _close(expr: str, open_at: int) -> int:
    """Index of the parenthesis closing the one at ``open_at``."""
    depth = 0
    for i in range(open_at, len(expr)):
        depth += {"(": 1, ")": -1}.get(expr[i], 0)
        if depth == 0:
            return i
    raise ValueError(f"unbalanced {expr!r}")


def _open(expr: str, close_at: int) -> int:
    depth = 0
    for i in range(close_at, -1, -1):
        depth += {")": 1, "(": -1}.get(expr[i], 0)
        if depth == 0:
            return i
    raise ValueError(f"unbalanced {expr!r}")


def _drop_zero_fill(expr: str) -> str:
    """``(E or T * 0)`` -> ``(E)``: a missing error series is no data again. (A ``(T * 0)``
    with no ``or`` inside its own parentheses, as in the period counts, is left alone.)"""
    pos = 0
    while (k := expr.find(" * 0)", pos)) >= 0:
        end = k + len(" * 0)") - 1
        start = _open(expr, end)
        inner = expr[start + 1:k]
        depth, cut = 0, -1
        for i, ch in enumerate(inner):
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth == 0 and inner.startswith(" or ", i):
                cut = i
                break
        if cut < 0:
            pos = end + 1
            continue
        expr = expr[:start] + "(" + inner[:cut] + ")" + expr[end + 1:]
        pos = start
    return expr


def _drop_guard(expr: str) -> str:
    """Remove `` and on(...) (events >= N)``: the low-traffic guard."""
    k = expr.find(" and on(")
    if k < 0:
        return expr
    group = expr.index(") (", k) + 2
    return expr[:k] + expr[_close(expr, group) + 1:]


def _swap(a: str, b: str) -> Callable[[str], str]:
    return lambda e: e.replace(a, "\0").replace(b, a).replace("\0", b)


_AVERAGE = re.compile(r"sum_over_time\(slo:sli_error:rate5m(\{[^}]*\})\[(\w+)\]\) / sum_over_time\(slo:sli_total:rate5m\{[^}]*\}\[\w+\]\)")

MUTATIONS: dict[str, tuple[Callable[[Rules], Rules], Scenario]] = {
    "long-window event count without the x60 interval factor":
        (lambda r: _rewrite(r, lambda e: e.replace("]) * 60 >= ", "]) >= "), "alert"), STEADY),
    "1h and 6h windows swapped in the alerts":
        (lambda r: _rewrite(r, _swap("ratio_rate1h{", "ratio_rate6h{"), "alert"), OUTAGE),
    "long windows average 5m ratios instead of summing events":
        (lambda r: _rewrite(r, lambda e: _AVERAGE.sub(r"avg_over_time(slo:sli_error:ratio_rate5m\1[\2])", e), "record"), OUTAGE),
    "ticket no longer superseded by the page (unless dropped)":
        (lambda r: _rewrite(r, lambda e: e.split(" unless on(")[0], "alert"), OUTAGE),
    ">= instead of > against the burn threshold":
        (lambda r: _rewrite(r, lambda e: e.replace(" > (", " >= ("), "alert"), STEADY),
    "14.4x burn factor dropped":
        (lambda r: _rewrite(r, lambda e: e.replace("(14.4 * ", "(1 * "), "alert"), OUTAGE),
    "zero fill of missing error series lost":
        (lambda r: _rewrite(r, _drop_zero_fill, "any"), STEADY),
    "low-traffic guard dropped":
        (lambda r: _rewrite(r, _drop_guard, "alert"), STEADY),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_each_mutation_of_the_generated_rules_fails_a_value_check(name: str, tmp_path: Path) -> None:
    mutate, scenario = MUTATIONS[name]
    rules = scenario.rules()
    mutated = mutate(rules)
    assert mutated != rules, f"the mutation {name!r} changed nothing"
    mismatches = check_sloguard(mutated, scenario, tmp_path)
    assert mismatches, f"no value check noticed the mutation {name!r}"

