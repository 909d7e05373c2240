"""PromQL syntax check for rule expressions, with Prometheus-style error text where known."""

from __future__ import annotations

import promql_parser


def expr_error(expr: str) -> str | None:
    """``None`` when ``expr`` parses, else the parse error text.

    Prometheus words these as ``1:7: parse error: unexpected end of input``; the
    ``promql_parser`` library gives shorter texts, which are prefixed the same way.
    """
    try:
        promql_parser.parse(expr)
    except Exception as e:  # noqa: BLE001 - the library raises plain ValueError/RuntimeError
        msg = str(e)
        if msg == "invalid promql query" and expr.rstrip().endswith(("+", "-", "*", "/", "(", ",")):
            msg = "unexpected end of input"
        return f"1:{len(expr) + 1}: parse error: {msg}" if "end of input" in msg else f"parse error: {msg}"
    return None


def normalize_expr(expr: str) -> str:
    """The expression as Prometheus prints it back (``rule.Query().String()``)."""
    try:
        return str(promql_parser.parse(expr))
    except Exception:  # noqa: BLE001 - an unparsable expression is shown as written
        return expr
