"""Labels of ``absent()`` / ``absent_over_time()`` results, derived from the selector."""

from __future__ import annotations

from typing import Any

import promql_parser

from sloguard.labels import METRIC_NAME, Labels


def absent_labels(expr: Any) -> Labels:
    """Prometheus' ``createLabelsForAbsentFunction``: equality matchers become labels;
    a name that also has another matcher (or a second equality) is dropped."""
    while isinstance(expr, promql_parser.ParenExpr):  # Go unwraps parens of call arguments
        expr = expr.expr
    if isinstance(expr, promql_parser.MatrixSelector):
        expr = expr.vector_selector
    if not isinstance(expr, promql_parser.VectorSelector):
        return Labels()
    out: dict[str, str] = {}
    dropped: set[str] = set()
    for m in expr.matchers.matchers:
        if m.name == METRIC_NAME:
            continue
        if m.op == promql_parser.MatchOp.Equal and m.name not in out:
            out[m.name] = m.value
        else:
            dropped.add(m.name)
    return Labels((n, v) for n, v in out.items() if n not in dropped)
