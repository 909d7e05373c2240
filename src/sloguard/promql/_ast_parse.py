"""Parsing: promql-parser's AST mapped to sloguard's tree, with Prometheus' error wording."""

from __future__ import annotations

import functools
import re
from datetime import timedelta
from typing import Any

import promql_parser as pp

from sloguard.labels import Matcher
from sloguard.labels._matcher import MatchType
from sloguard.parselimits import ParseLimitError, ParseLimits, check_expression, default_limits
from sloguard.promql._ast import (
    SET_OPERATORS,
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
    VectorMatching,
    VectorSelector,
)
from sloguard.promql._parse_checks import regex_error
from sloguard.promql._parse_error import (
    accepted_query_error,
    at_bounds_error,
    offset_number_error,
    prometheus_message,
)
from sloguard.promql._parse_typecheck import type_error
from sloguard.promql._regex_mask import parse_masked, restore, restoring
from sloguard.promql._value import ParseError, ValueType

_MATCH_TYPES = {
    "Equal": MatchType.EQUAL,
    "NotEqual": MatchType.NOT_EQUAL,
    "Re": MatchType.REGEX,
    "NotRe": MatchType.NOT_REGEX,
}
_VALUE_TYPES = {
    "Vector": ValueType.VECTOR,
    "Scalar": ValueType.SCALAR,
    "Matrix": ValueType.MATRIX,
    "String": ValueType.STRING,
}
_CARDS = {
    "OneToOne": Card.ONE_TO_ONE,
    "ManyToOne": Card.MANY_TO_ONE,
    "OneToMany": Card.ONE_TO_MANY,
    "ManyToMany": Card.MANY_TO_MANY,
}


def _enum_name(member: Any) -> str:
    return str(member).rsplit(".", 1)[-1]
_SYSTEM_TIME = re.compile(r"SystemTime \{\s*tv_sec: (-?\d+),\s*tv_nsec: (\d+),?\s*\}")


def parse(expr: str) -> Node:
    """Parse a PromQL expression into sloguard's tree; raises ``ParseError``.

    The text is first held to ``sloguard.parselimits``' limits (nesting depth and operator
    chains), so neither the Rust parser nor a tree walker recurses deeper than they allow."""
    return _parse_cached(expr, default_limits())


# A rule file of 1,000 SLOs has ~26,000 expressions, of 10,000 SLOs ~260,000; rules evaluate
# them in the same order every cycle, so an LRU smaller than that misses every time
# (2,000 SLOs: 93 s of CPU per cycle, mostly parsing). Trees are small and shared.
@functools.lru_cache(maxsize=1 << 19)
def _parse_cached(expr: str, limits: ParseLimits) -> Node:
    """Trees are immutable, so parses are cached (rules evaluate the same expressions over
    and over); keyed by the limits too, so a text is checked again when they change."""
    try:
        check_expression(expr, limits)  # before anything recursive (the Rust parser above all)
    except ParseLimitError as e:
        raise ParseError(str(e)) from None
    if not expr.strip():
        raise ParseError(prometheus_message(expr, "no expression found in input"))
    try:
        return _parse_checked(expr)
    except RecursionError:  # the limits are set so this cannot happen; a safety net
        raise ParseError(f"parse error: expression nested too deeply ({len(expr)} characters)") from None


def _parse_checked(expr: str) -> Node:
    placeholders: dict[str, str] = {}
    try:
        raw = pp.parse(expr)
    except ValueError as e:
        masked = parse_masked(expr) if "illegal regex" in str(e) and regex_error(expr) is None else None
        if masked is None:
            raise ParseError(_parser_error(expr, str(e))) from None
        raw, placeholders = masked  # Go reads the regex, the Rust regex crate does not
    except BaseException as e:  # noqa: BLE001 - the Rust parser may panic on odd input
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        raise ParseError(_parser_error(expr, str(e))) from None
    if (err := accepted_query_error(expr)) is not None:
        raise ParseError(err)
    if "+" in expr and (err := type_error(expr, unary_only=True)) is not None:
        raise ParseError(err)  # promql-parser drops a unary "+" without checking its operand
    if "offset" in expr and (err := offset_number_error(expr)) is not None:
        raise ParseError(err)
    if "@" in expr and (err := at_bounds_error(expr)) is not None:
        raise ParseError(err)
    if ("=~" in expr or "!~" in expr) and (err := regex_error(expr)) is not None:
        raise ParseError(err)
    with restoring(placeholders):
        node = from_parser(raw)
    if (unknown := _unknown_function(node)) is not None:
        raise ParseError(prometheus_message(expr, f"unknown function with name '{unknown}'"))
    return node


#: promql-parser's messages for errors Prometheus finds in its type check (after parsing).
_TYPE_CHECK_MESSAGE = re.compile(
    r"expected type|subquery is only allowed|unary expression|binary expression must|vector matching"
    r"|set operator|no grouping allowed|set operations must|comparisons between scalars|bool modifier"
    r"|metric name must not|vector selector must|argument\(s\) in call|arguments for aggregate"
    r"|must not occur in ON and GROUP"
)


def _parser_error(expr: str, message: str) -> str:
    """Prometheus' error for a query promql-parser refused with ``message``."""
    if _TYPE_CHECK_MESSAGE.search(message) and (err := type_error(expr)) is not None:
        return err
    return prometheus_message(expr, message)


#: Aggregation operators of PromQL 2.42 (promql-parser also knows later ones, e.g. limitk).
AGGREGATIONS = frozenset({
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile",
})


def children(node: Node) -> tuple[Node, ...]:
    match node:
        case Paren() | Unary() | Subquery():
            return (node.expr,)
        case MatrixSelector():
            return (node.selector,)
        case Binary():
            return (node.lhs, node.rhs)
        case Aggregate():
            return (node.expr,) if node.param is None else (node.param, node.expr)
        case Call():
            return node.args
    return ()


def _unknown_function(node: Node) -> str | None:
    """A function or aggregation 2.42 does not have (the parser follows a later version)."""
    from sloguard.promql.functions import FUNCTIONS

    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Call) and n.name not in FUNCTIONS:
            return n.name
        if isinstance(n, Aggregate) and n.op not in AGGREGATIONS:
            return n.op
        stack.extend(children(n))
    return None


def duration_ms(d: timedelta | None) -> int:
    if d is None:
        return 0
    return (d.days * 86_400 + d.seconds) * 1000 + d.microseconds // 1000


def from_parser(e: Any) -> Node:
    """Map one promql-parser node (recursively) to sloguard's tree."""
    match e:
        case pp.NumberLiteral():
            return NumberLiteral(float(e.val))
        case pp.StringLiteral():
            return StringLiteral(str(e.val))
        case pp.VectorSelector():
            return _vector_selector(e)
        case pp.MatrixSelector():
            return MatrixSelector(_vector_selector(e.vector_selector), duration_ms(e.range))
        case pp.SubqueryExpr():
            return Subquery(
                from_parser(e.expr), duration_ms(e.range), duration_ms(e.step),
                duration_ms(e.offset), _at(e),
            )
        case pp.ParenExpr():
            return Paren(from_parser(e.expr))
        case pp.UnaryExpr():
            return Unary(from_parser(e.expr))
        case pp.BinaryExpr():
            return _binary(e)
        case pp.AggregateExpr():
            return _aggregate(e)
        case pp.Call():
            args = list(e.args)
            return Call(
                e.func.name, tuple(from_parser(a) for a in args),
                _VALUE_TYPES[_enum_name(e.func.return_type)], tuple(args),
            )
    raise ParseError(f"unsupported expression {e!r}")


def _vector_selector(e: Any) -> VectorSelector:
    matchers: list[Matcher] = []
    if e.name:
        matchers.append(Matcher(MatchType.EQUAL, "__name__", e.name))
    for m in e.matchers.matchers:
        try:
            mt = _MATCH_TYPES[_enum_name(m.op)]
            matchers.append(Matcher(mt, m.name, restore(m.value)))
        except ValueError as err:
            raise ParseError(f"parse error: {err}") from None
    return VectorSelector(e.name, tuple(matchers), duration_ms(e.offset), _at(e))


def _at(e: Any) -> At | None:
    at = e.at
    if at is None:
        return None
    if at.type == pp.AtModifierType.Start:
        return At(AtKind.START)
    if at.type == pp.AtModifierType.End:
        return At(AtKind.END)
    # Reading ``at.at`` panics in the binding for times before the epoch; the node's
    # debug form carries the same SystemTime, the node's own ``@`` coming last.
    found = _SYSTEM_TIME.findall(repr(e))
    if not found:
        raise ParseError(f"parse error: cannot read the @ modifier of {e}")
    sec, nsec = found[-1]
    # Within bounds but beyond int64 milliseconds, upstream's conversion yields nonsense
    # times that select nothing; clamp so the arithmetic stays in int64.
    t_ms = max(-(2**62), min(2**62, int(sec) * 1000 + int(nsec) // 1_000_000))
    return At(AtKind.TIME, t_ms)


def _binary(e: Any) -> Binary:
    op = str(e.op).lower()
    mod = e.modifier
    lhs, rhs = from_parser(e.lhs), from_parser(e.rhs)
    return_bool = bool(mod.return_bool) if mod is not None else False
    matching: VectorMatching | None = None
    if lhs.type is ValueType.VECTOR and rhs.type is ValueType.VECTOR:
        card = Card.MANY_TO_MANY if op in SET_OPERATORS else Card.ONE_TO_ONE
        labels: tuple[str, ...] = ()
        on = False
        include: tuple[str, ...] = ()
        if mod is not None:
            card = _CARDS.get(_enum_name(mod.card), card)
            if mod.matching is not None:
                on = mod.matching.type == pp.LabelModifierType.Include
                labels = tuple(mod.matching.labels)
            include = tuple(mod.group_labels or ())
        matching = VectorMatching(card, labels, on, include)
    return Binary(op, lhs, rhs, matching, return_bool)


def _aggregate(e: Any) -> Aggregate:
    mod = e.modifier
    grouping: tuple[str, ...] = ()
    without = False
    if mod is not None:
        grouping = tuple(mod.labels)
        without = mod.type == pp.AggModifierType.Without
    param = from_parser(e.param) if e.param is not None else None
    return Aggregate(str(e.op).lower(), from_parser(e.expr), param, grouping, without)
