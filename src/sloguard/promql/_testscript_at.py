"""The harness' ``@`` re-runs: the instant eval again with ``@ <t>`` on every selector.

Prometheus' ``atModifierTestCases``: every vector/matrix selector and subquery without a
numeric ``@`` gets ``@ <eval time>`` (``@ start()``/``@ end()`` are replaced, as Go keeps
those as "no timestamp"); nothing inside a subquery is touched; if a function whose value
depends on the evaluation time appears outside subqueries, no re-runs are made. The
rewritten query then runs at times ``-10t, 0, t/5, t, 10t`` (``-1s, 0, 1s`` when t = 0).

promql-parser prints ``@`` wrongly for negative times, so expressions are printed here.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import promql_parser as pp

from sloguard.durations import format_duration_ms
from sloguard.gofmt import go_quote
from sloguard.parselimits import check_expression
from sloguard.promql._ast_parse import duration_ms

AT_UNSAFE_FUNCTIONS = frozenset({
    "days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute",
    "month", "year", "predict_linear", "time", "timestamp",
})

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MATCH_OPS = ((pp.MatchOp.Equal, "="), (pp.MatchOp.NotEqual, "!="), (pp.MatchOp.Re, "=~"),
              (pp.MatchOp.NotRe, "!~"))


def _match_op(op: Any) -> str:
    return next(sym for o, sym in _MATCH_OPS if o == op)


class _Unsafe(Exception):
    """The expression calls a time-dependent function outside subqueries."""


def at_modifier_test_cases(expr: str, t_ms: int) -> list[tuple[str, int]]:
    """The (rewritten expression, evaluation time ms) pairs the harness adds for ``expr``;
    empty when the expression does not parse or uses a time-dependent function."""
    try:
        check_expression(expr)
        tree = pp.parse(expr)
        rewritten = _Printer(t_ms).print(tree, inside_subquery=False)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001 - unsafe function, bad query, or a parser panic
        return []
    times = [-1000, 0, 1000] if t_ms == 0 else [-10 * t_ms, 0, t_ms // 5, t_ms, 10 * t_ms]
    return [(rewritten, et) for et in times]


def _fmt_number(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Inf" if v > 0 else "-Inf"
    return repr(v)


class _Printer:
    def __init__(self, t_ms: int) -> None:
        self.t_ms = t_ms

    def print(self, n: Any, inside_subquery: bool) -> str:  # noqa: PLR0911 - one case per node
        match n:
            case pp.NumberLiteral():
                return _fmt_number(n.val)
            case pp.StringLiteral():
                return go_quote(n.val)
            case pp.ParenExpr():
                return f"({self.print(n.expr, inside_subquery)})"
            case pp.UnaryExpr():
                return f"-{self.print(n.expr, inside_subquery)}"
            case pp.VectorSelector():
                return self._selector(n, "", inside_subquery)
            case pp.MatrixSelector():
                return self._selector(n.vector_selector, f"[{format_duration_ms(duration_ms(n.range))}]", inside_subquery)
            case pp.SubqueryExpr():
                return self._subquery(n, inside_subquery)
            case pp.Call():
                if not inside_subquery and n.func.name in AT_UNSAFE_FUNCTIONS:
                    raise _Unsafe(n.func.name)
                args = ", ".join(self.print(a, inside_subquery) for a in n.args)
                return f"{n.func.name}({args})"
            case pp.AggregateExpr():
                return self._aggregate(n, inside_subquery)
            case pp.BinaryExpr():
                return self._binary(n, inside_subquery)
        raise ValueError(f"cannot print {type(n).__name__}")

    def _at(self, at: Any, inside_subquery: bool) -> str:
        if at is not None and at.type == pp.AtModifierType.At:
            return f" @ {duration_ms(at.at - _EPOCH) / 1000:.3f}"
        if not inside_subquery:
            return f" @ {self.t_ms / 1000:.3f}"
        if at is None:
            return ""
        return " @ start()" if at.type == pp.AtModifierType.Start else " @ end()"

    def _offset(self, offset: timedelta | None) -> str:
        return f" offset {format_duration_ms(duration_ms(offset))}" if offset else ""

    def _selector(self, vs: Any, rng: str, inside_subquery: bool) -> str:
        matchers = [m for m in vs.matchers.matchers if not (vs.name and m.name == "__name__")]
        body = ", ".join(f"{m.name}{_match_op(m.op)}{go_quote(m.value)}" for m in matchers)
        head = (vs.name or "") + (f"{{{body}}}" if body or not vs.name else "")
        return head + rng + self._offset(vs.offset) + self._at(vs.at, inside_subquery)

    def _subquery(self, n: Any, inside_subquery: bool) -> str:
        step = format_duration_ms(duration_ms(n.step)) if n.step else ""
        inner = self.print(n.expr, True)
        rng = f"[{format_duration_ms(duration_ms(n.range))}:{step}]"
        return inner + rng + self._offset(n.offset) + self._at(n.at, inside_subquery)

    def _aggregate(self, n: Any, inside_subquery: bool) -> str:
        mod = ""
        if n.modifier is not None:
            kind = "by" if n.modifier.type == pp.AggModifierType.By else "without"
            mod = f" {kind} ({', '.join(n.modifier.labels)})"
        args = [self.print(n.expr, inside_subquery)]
        if n.param is not None:
            args.insert(0, self.print(n.param, inside_subquery))
        return f"{n.op}{mod} ({', '.join(args)})"

    def _binary(self, n: Any, inside_subquery: bool) -> str:
        parts = [self.print(n.lhs, inside_subquery), str(n.op)]
        m = n.modifier
        if m is not None:
            if m.return_bool:
                parts.append("bool")
            if m.matching is not None:
                kind = "on" if m.matching.type == pp.LabelModifierType.Include else "ignoring"
                parts.append(f"{kind}({', '.join(m.matching.labels)})")
            if m.card == pp.VectorMatchCardinality.ManyToOne:
                parts.append(f"group_left({', '.join(m.group_labels or [])})")
            elif m.card == pp.VectorMatchCardinality.OneToMany:
                parts.append(f"group_right({', '.join(m.group_labels or [])})")
        parts.append(self.print(n.rhs, inside_subquery))
        return " ".join(parts)
