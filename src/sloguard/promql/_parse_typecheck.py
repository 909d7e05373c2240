"""Prometheus 2.42's ``checkAST``: type errors in its order, wording and positions.

The tree comes from ``_parse_tree``; grammar-time errors (aggregation arity) come first,
then the depth-first type check, and the first error is the one Prometheus reports.
"""

from __future__ import annotations

from sloguard.gofmt import go_quote
from sloguard.labels import Matcher
from sloguard.labels._matcher import MatchType
from sloguard.promql._parse_checks import unquote
from sloguard.promql._parse_lexer import LexError, lex, position
from sloguard.promql._parse_tree import PNode, TreeParser, Unsupported

# name: (argument types, variadic, return type); v instant vector, m range vector,
# s scalar, S string. Variadic as in Prometheus: 0 fixed, n up to n optional, -1 unbounded.
_V1 = ("v", 1, "v")
SIGNATURES: dict[str, tuple[str, int, str]] = {
    **{f: ("v", 0, "v") for f in (
        "abs", "absent", "acos", "acosh", "asin", "asinh", "atan", "atanh", "ceil", "cos", "cosh", "deg",
        "exp", "floor", "histogram_count", "histogram_sum", "ln", "log10", "log2", "rad", "sgn", "sin",
        "sinh", "sort", "sort_desc", "sqrt", "tan", "tanh", "timestamp")},
    **{f: ("m", 0, "v") for f in (
        "absent_over_time", "avg_over_time", "changes", "count_over_time", "delta", "deriv", "idelta",
        "increase", "irate", "last_over_time", "max_over_time", "min_over_time", "present_over_time",
        "rate", "resets", "stddev_over_time", "stdvar_over_time", "sum_over_time")},
    **{f: _V1 for f in (
        "days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute", "month", "year")},
    "clamp": ("vss", 0, "v"), "clamp_max": ("vs", 0, "v"), "clamp_min": ("vs", 0, "v"),
    "histogram_fraction": ("ssv", 0, "v"), "histogram_quantile": ("sv", 0, "v"),
    "holt_winters": ("mss", 0, "v"), "label_join": ("vSSS", -1, "v"), "label_replace": ("vSSSS", 0, "v"),
    "pi": ("", 0, "s"), "predict_linear": ("ms", 0, "v"), "quantile_over_time": ("sm", 0, "v"),
    "round": ("vs", 1, "v"), "scalar": ("v", 0, "s"), "time": ("", 0, "s"), "vector": ("s", 0, "v"),
}
_RAW = {"v": "vector", "m": "matrix", "s": "scalar", "S": "string"}
_DOC = {"v": "instant vector", "m": "range vector", "s": "scalar", "S": "string"}
_SET = frozenset({"and", "or", "unless"})
_COMPARISON = frozenset({"==", "!=", "<=", "<", ">=", ">"})
_MATCH = {"=": MatchType.EQUAL, "!=": MatchType.NOT_EQUAL, "=~": MatchType.REGEX, "!~": MatchType.NOT_REGEX}


class TypeCheckError(Exception):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos


def type_error(query: str, unary_only: bool = False) -> str | None:
    """Prometheus' ``line:col: parse error: ...`` for the first grammar/type error, or None.

    None also when the expression is outside what the small parser understands."""
    try:
        parser = TreeParser(lex(query))
        tree = parser.parse()
        if parser.errors and not unary_only:
            msg, pos = parser.errors[0]
            return f"{position(query, pos)}: parse error: {msg}"
        check(tree)
    except (LexError, Unsupported, KeyError):
        return None
    except TypeCheckError as e:
        if unary_only and not str(e).startswith("unary expression"):
            return None
        return f"{position(query, e.pos)}: parse error: {e}"
    return None


def check(n: PNode) -> str:
    """The node's type letter; raises ``TypeCheckError`` at the first error (depth first)."""
    match n.kind:
        case "num":
            return "s"
        case "str":
            return "S"
        case "paren":
            return check(n.args[0])
        case "vs":
            _check_selector(n)
            return "v"
        case "ms":
            check(n.args[0])
            return "m"
        case "sub":
            if (t := check(n.args[0])) != "v":
                raise TypeCheckError(f"subquery is only allowed on instant vector, got {_RAW[t]} instead", n.pos)
            return "m"
        case "unary":
            if (t := check(n.args[0])) not in ("s", "v"):
                raise TypeCheckError(
                    f"unary expression only allowed on expressions of type scalar or instant vector, got {go_quote(_DOC[t])}",
                    n.pos)
            return t
        case "bin":
            return _check_binary(n)
        case "agg":
            _check_aggregate(n)
            return "v"
        case "call":
            return _check_call(n)
    raise Unsupported(n.kind)


def _expect(n: PNode, want: str, context: str) -> None:
    if (t := check(n)) != want:
        raise TypeCheckError(f"expected type {_DOC[want]} in {context}, got {_DOC[t]}", n.pos)


def _check_selector(n: PNode) -> None:
    if n.name:
        for name, _, value in n.matchers[:-1]:
            if name == "__name__":
                raise TypeCheckError(
                    f"metric name must not be set twice: {go_quote(n.name)} or {go_quote(unquote(value))}", n.pos)
        return
    if all(Matcher(_MATCH[op], name, unquote(v)).matches("") for name, op, v in n.matchers):
        raise TypeCheckError("vector selector must contain at least one non-empty matcher", n.pos)


def _check_aggregate(n: PNode) -> None:
    _expect(n.args[-1], "v", "aggregation expression")
    if n.op in ("topk", "bottomk", "quantile"):
        _expect(n.args[0], "s", "aggregation parameter")
    elif n.op == "count_values":
        _expect(n.args[0], "S", "aggregation parameter")


def _check_call(n: PNode) -> str:
    types, variadic, ret = SIGNATURES[n.op]
    nargs, got, name = len(types), len(n.args), go_quote(n.op)
    if variadic == 0 and nargs != got:
        raise TypeCheckError(f"expected {nargs} argument(s) in call to {name}, got {got}", n.pos)
    if variadic != 0 and nargs - 1 > got:
        raise TypeCheckError(f"expected at least {nargs - 1} argument(s) in call to {name}, got {got}", n.pos)
    if variadic > 0 and nargs - 1 + variadic < got:
        raise TypeCheckError(f"expected at most {nargs - 1 + variadic} argument(s) in call to {name}, got {got}",
                             n.pos)
    for i, arg in enumerate(n.args):
        if i >= nargs:
            if variadic == 0:
                break
            i = nargs - 1
        _expect(arg, types[i], f"call to function {name}")
    return ret


def _check_binary(n: PNode) -> str:
    lhs, rhs = n.args
    lt, rt = check(lhs), check(rhs)
    if n.bool_mod and n.op not in _COMPARISON:
        raise TypeCheckError("bool modifier can only be used on comparison operators", n.op_pos)
    if n.op in _COMPARISON and not n.bool_mod and lt == "s" and rt == "s":
        raise TypeCheckError("comparisons between scalars must use BOOL modifier", n.op_pos)
    card = "many-to-many" if n.op in _SET and n.card == "one-to-one" else n.card
    if n.on and (both := [x for x in n.matching if x in n.include]):
        raise TypeCheckError(f"label {go_quote(both[0])} must not occur in ON and GROUP clause at once", n.op_pos)
    for side, t in ((lhs, lt), (rhs, rt)):
        if t not in ("s", "v"):
            raise TypeCheckError("binary expression must contain only scalar and instant vector types", side.pos)
    if lt != "v" or rt != "v":
        if n.matching:
            raise TypeCheckError("vector matching only allowed between instant vectors", n.pos)
    elif n.op in _SET:
        if card in ("one-to-many", "many-to-one"):
            raise TypeCheckError(f"no grouping allowed for {go_quote(n.op)} operation", n.pos)
        if card != "many-to-many":
            raise TypeCheckError("set operations must always be many-to-many", n.pos)
    if (lt == "s" or rt == "s") and n.op in _SET:
        raise TypeCheckError(f"set operator {go_quote(n.op)} not allowed in binary scalar expression", n.pos)
    return "v" if "v" in (lt, rt) else "s"
