"""PromQL syntax check for rule expressions, with Prometheus' error text."""

from __future__ import annotations

import promql_parser

from sloguard.parselimits import check_expression


def expr_error(expr: str) -> str | None:
    """``None`` when ``expr`` parses, else Prometheus' text (``1:7: parse error: ...``).

    The engine's parser (``sloguard.promql._ast.parse``) words errors like Prometheus;
    if it is unavailable the ``promql_parser`` library's message is used.
    """
    try:
        from sloguard.promql._ast import parse
    except ImportError:  # pragma: no cover - engine package not importable
        return _fallback(expr)
    try:
        parse(expr)
    except Exception as e:  # noqa: BLE001 - any parse failure is reported as text
        return str(e)
    return None


def _fallback(expr: str) -> str | None:
    try:
        check_expression(expr)
        promql_parser.parse(expr)
    except Exception as e:  # noqa: BLE001 - the library raises plain ValueError/RuntimeError
        return f"parse error: {e}"
    return None
