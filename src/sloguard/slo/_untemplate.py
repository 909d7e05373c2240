"""Sloth's ``{{.window}}`` queries as plain counter selectors, where they are that.

``sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))`` is the rate of one counter,
summed: formats without window templates (OpenSLO) can say it as the counter selector
``http_requests_total{code=~"5.."}``. Only that shape is recognised (``rate`` of a selector,
summed ``by`` exactly the SLO's grouping labels), and a ratio of two of them
(``1 - (A / B)`` or ``A / B``) for Sloth's raw error ratios. Anything else returns None.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import promql_parser

from sloguard.slo.model import WINDOW_PLACEHOLDERS

#: Stands for ``{{.window}}`` while parsing (a window no spec uses).
_WINDOW_TEXT = "1d10h17m36s789ms"
_WINDOW = datetime.timedelta(milliseconds=123_456_789)
_RATE_ARG = re.compile(r"\brate\s*\(\s*(.*?)\s*\[\s*\{\{\s*\.window\s*\}\}\s*\]\s*\)", re.DOTALL)


def _parse(query: str) -> Any:
    text = query
    for p in WINDOW_PLACEHOLDERS:
        text = text.replace(p, _WINDOW_TEXT)
    try:
        return promql_parser.parse(text)
    except ValueError:
        return None


def _unparen(node: Any) -> Any:
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    return node


def _rate_sum_selector(node: Any, grouping: tuple[str, ...]) -> str | None:
    """``str`` of SEL when ``node`` is ``sum by (grouping) (rate(SEL[{{.window}}]))``."""
    node = _unparen(node)
    if not isinstance(node, promql_parser.AggregateExpr) or str(node.op) != "sum" or node.param is not None:
        return None
    mod = node.modifier
    by = [] if mod is None else list(mod.labels)
    if (mod is not None and mod.type != promql_parser.AggModifierType.By) or sorted(by) != sorted(grouping):
        return None
    call = _unparen(node.expr)
    if not isinstance(call, promql_parser.Call) or call.func.name != "rate":
        return None
    m = call.args[0]
    if not isinstance(m, promql_parser.MatrixSelector) or m.range != _WINDOW:
        return None
    vs = m.vector_selector
    return None if vs.offset is not None or vs.at is not None else str(vs)


def _texts_matching(query: str, selectors: list[str | None]) -> list[str] | None:
    """The selectors as written in ``query`` (escapes intact), in the order of ``selectors``."""
    if None in selectors or sum(query.count(p) for p in WINDOW_PLACEHOLDERS) != len(selectors):
        return None
    texts = [m.group(1) for m in _RATE_ARG.finditer(query)]
    if len(texts) != len(selectors):
        return None
    for text, sel in zip(texts, selectors, strict=True):
        try:
            node = promql_parser.parse(text)
        except ValueError:
            return None
        if not isinstance(node, promql_parser.VectorSelector) or str(node) != sel:
            return None
    return texts


def rate_counter(query: str, grouping: tuple[str, ...]) -> str | None:
    """SEL of ``sum by (grouping) (rate(SEL[{{.window}}]))``, else None."""
    node = _parse(query)
    if node is None:
        return None
    texts = _texts_matching(query, [_rate_sum_selector(node, grouping)])
    return texts[0] if texts else None


def ratio_counters(query: str, grouping: tuple[str, ...]) -> tuple[str, str, bool] | None:
    """``(A, B, True)`` for the error ratio ``1 - (A / B)`` (A counts good events),
    ``(A, B, False)`` for ``A / B`` (A counts bad events), each a summed rate as above."""
    node = _unparen(_parse(query))
    good = False
    if isinstance(node, promql_parser.BinaryExpr) and str(node.op) == "-":
        lhs = _unparen(node.lhs)
        if not isinstance(lhs, promql_parser.NumberLiteral) or lhs.val != 1:
            return None
        node, good = _unparen(node.rhs), True
    if not isinstance(node, promql_parser.BinaryExpr) or str(node.op) != "/" or node.modifier is not None:
        return None
    sels = [_rate_sum_selector(node.lhs, grouping), _rate_sum_selector(node.rhs, grouping)]
    texts = _texts_matching(query, sels)
    return (texts[0], texts[1], good) if texts else None
