"""A rule's expression as Prometheus prints it back (``parser.Expr.String()``), which is
what ``/api/v1/rules`` shows as ``query``: ``sum without(x) (y)`` becomes
``sum without (x) (y)``, matchers are sorted, numbers printed with Go's ``%v``."""

from __future__ import annotations

import functools

from sloguard.durations import format_duration_ms
from sloguard.gofmt import go_float, go_quote
from sloguard.promql._ast import (
    Aggregate,
    At,
    AtKind,
    Binary,
    Call,
    Card,
    MatrixSelector,
    Node,
    NumberLiteral,
    Paren,
    StringLiteral,
    Subquery,
    Unary,
    VectorSelector,
    parse,
)


@functools.lru_cache(maxsize=8192)
def expr_string(expr: str) -> str:
    """The normalised text of ``expr``; the text as written when it does not parse."""
    try:
        return node_string(parse(expr))
    except Exception:  # noqa: BLE001 - display only: fall back to the original text
        return expr.strip()


def node_string(n: Node) -> str:
    match n:
        case NumberLiteral(value=v):
            return go_float(v)
        case StringLiteral(value=v):
            return go_quote(v)
        case VectorSelector():
            return _selector(n) + _at(n.at) + _offset(n.offset_ms)
        case MatrixSelector(selector=sel, range_ms=r):
            return f"{_selector(sel)}[{format_duration_ms(r)}]{_at(sel.at)}{_offset(sel.offset_ms)}"
        case Subquery(expr=e, range_ms=r, step_ms=s, offset_ms=o, at=at):
            step = format_duration_ms(s) if s else ""
            return f"{node_string(e)}[{format_duration_ms(r)}:{step}]{_at(at)}{_offset(o)}"
        case Paren(expr=e):
            return f"({node_string(e)})"
        case Unary(expr=e):
            return f"-{node_string(e)}"
        case Binary():
            return _binary(n)
        case Aggregate():
            return _aggregate(n)
        case Call(name=name, args=args):
            return f"{name}({', '.join(node_string(a) for a in args)})"
    raise TypeError(f"cannot print node {n!r}")


def _selector(n: VectorSelector) -> str:
    name = n.name or ""
    parts = sorted(
        f"{m.name}{m.type.value}{go_quote(m.value)}"
        for m in n.matchers
        if not (m.name == "__name__" and m.type.value == "=" and m.value == name)
    )
    return f"{name}{{{','.join(parts)}}}" if parts else name


def _at(at: At | None) -> str:
    if at is None:
        return ""
    if at.kind is AtKind.START:
        return " @ start()"
    if at.kind is AtKind.END:
        return " @ end()"
    return f" @ {at.t_ms / 1000:.3f}"


def _offset(ms: int) -> str:
    if ms > 0:
        return f" offset {format_duration_ms(ms)}"
    if ms < 0:
        return f" offset -{format_duration_ms(-ms)}"
    return ""


def _binary(n: Binary) -> str:
    matching = ""
    vm = n.matching
    if vm is not None and (vm.labels or vm.on):
        matching = f" {'on' if vm.on else 'ignoring'} ({', '.join(vm.labels)})"
        if vm.card in (Card.MANY_TO_ONE, Card.ONE_TO_MANY):
            side = "left" if vm.card is Card.MANY_TO_ONE else "right"
            matching += f" group_{side} ({', '.join(vm.include)})"
    b = " bool" if n.return_bool else ""
    return f"{node_string(n.lhs)} {n.op}{b}{matching} {node_string(n.rhs)}"


def _aggregate(n: Aggregate) -> str:
    s = n.op
    if n.without:
        s += f" without ({', '.join(n.grouping)}) "
    elif n.grouping:
        s += f" by ({', '.join(n.grouping)}) "
    param = f"{node_string(n.param)}, " if n.param is not None else ""
    return f"{s}({param}{node_string(n.expr)})"
