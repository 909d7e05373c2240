"""The evaluator: one ``_eval_*`` per node type, bounded by a step budget.

``#`` (the predicate's element) is a stack, so predicates nest (``all(result, {any(#.x,
{# > 1})})``). Every step counts against ``MAX_STEPS``, so a predicate over a huge result
stops with an error instead of running away.
"""

from __future__ import annotations

from collections.abc import Callable

from sloguard.delivery.analysis import _cond_ast as A
from sloguard.delivery.analysis._cond_errors import ConditionError
from sloguard.delivery.analysis._cond_funcs import FUNCS
from sloguard.delivery.analysis._cond_values import (
    ValueProblem,
    arith,
    contains,
    equal,
    index,
    member,
    order,
    show,
    slice_of,
    type_name,
)
from sloguard.labels import GoRegexError, compile_go

MAX_STEPS = 1_000_000


class Evaluator:
    def __init__(self, text: str, result: object) -> None:
        self.text = text
        self.result = result
        self.steps = 0
        self.elements: list[object] = []

    def run(self, node: A.Node) -> object:
        try:
            return self.eval(node)
        except ValueProblem as e:
            raise ConditionError(self.text, getattr(e, "col", 0), str(e)) from None

    def eval(self, node: A.Node) -> object:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise _at(ValueProblem(f"the condition took more than {MAX_STEPS} steps on this result"), node.col)
        try:
            return self._dispatch(node)
        except ValueProblem as e:
            raise _at(e, node.col) from None

    def _dispatch(self, node: A.Node) -> object:
        match node:
            case A.Literal(value=v):
                return v
            case A.Name():
                return self.result
            case A.Pointer():
                return self.elements[-1]
            case A.Unary():
                return self._eval_unary(node)
            case A.Binary():
                return self._eval_binary(node)
            case A.Ternary():
                return self.eval(node.then) if self._bool(node.cond, "?:") else self.eval(node.other)
            case A.Member():
                return member(self.eval(node.obj), node.name, node.optional)
            case A.Index():
                return index(self.eval(node.obj), self.eval(node.index))
            case A.Slice():
                return self._eval_slice(node)
            case A.Call():
                return self._eval_call(node)
            case A.ArrayLit():
                return [self.eval(i) for i in node.items]
            case A.MapLit():
                return {k: self.eval(v) for k, v in node.pairs}
            case A.Closure():
                raise ValueProblem("a predicate { ... } can only be an argument of all, any, filter...")

    def _bool(self, node: A.Node, op: str) -> bool:
        v = self.eval(node)
        if not isinstance(v, bool):
            raise _at(ValueProblem(f"{op} needs true or false, not {type_name(v)} {show(v)}"), node.col)
        return v

    def _eval_unary(self, node: A.Unary) -> object:
        if node.op == "!":
            return not self._bool(node.operand, "!")
        v = self.eval(node.operand)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueProblem(f"unary {node.op} needs a number, not {type_name(v)} {show(v)}")
        return arith("-", 0, v) if node.op == "-" else v

    def _eval_binary(self, node: A.Binary) -> object:
        op = node.op
        if op == "&&":
            return self._bool(node.left, op) and self._bool(node.right, op)
        if op == "||":
            return self._bool(node.left, op) or self._bool(node.right, op)
        left = self.eval(node.left)
        if op == "??":
            return left if left is not None else self.eval(node.right)
        right = self.eval(node.right)
        return _BINARY[op](left, right) if op in _BINARY else arith(op, left, right)

    def _eval_slice(self, node: A.Slice) -> object:
        lo = None if node.lo is None else self.eval(node.lo)
        hi = None if node.hi is None else self.eval(node.hi)
        return slice_of(self.eval(node.obj), lo, hi)

    def _eval_call(self, node: A.Call) -> object:
        if node.name in _PREDICATES and (node.name not in ("count", "sum") or len(node.args) == 2):
            return self._predicate(node)
        return FUNCS[node.name](*(self.eval(a) for a in node.args))

    def _predicate(self, node: A.Call) -> object:
        if len(node.args) != 2 or not isinstance(node.args[1], A.Closure):
            raise ValueProblem(f"{node.name}() takes an array and a predicate, as in {node.name}(result, {{# > 0}})")
        items = self.eval(node.args[0])
        if not isinstance(items, list):
            raise ValueProblem(f"{node.name}() needs an array, not {type_name(items)} {show(items)}")
        body = node.args[1].body
        return _PREDICATES[node.name](items, lambda x: self._apply(body, x), node.name)

    def _apply(self, body: A.Node, element: object) -> object:
        self.elements.append(element)
        try:
            return self.eval(body)
        finally:
            self.elements.pop()


def _at(e: ValueProblem, col: int) -> ValueProblem:
    if not hasattr(e, "col"):
        e.col = col  # type: ignore[attr-defined]  # the innermost node names the column
    return e


def _test(fn: Callable[[object], object], x: object, name: str) -> bool:
    v = fn(x)
    if not isinstance(v, bool):
        raise ValueProblem(f"the predicate of {name}() gave {type_name(v)} {show(v)}, not true or false")
    return v


Pred = Callable[[list[object], Callable[[object], object], str], object]


def _find(items: list[object], fn: Callable[[object], object], name: str) -> object:
    return next((x for x in items if _test(fn, x, name)), None)


def _find_index(items: list[object], fn: Callable[[object], object], name: str) -> object:
    return next((i for i, x in enumerate(items) if _test(fn, x, name)), -1)


_PREDICATES: dict[str, Pred] = {
    "all": lambda xs, fn, n: all(_test(fn, x, n) for x in xs),
    "any": lambda xs, fn, n: any(_test(fn, x, n) for x in xs),
    "none": lambda xs, fn, n: not any(_test(fn, x, n) for x in xs),
    "one": lambda xs, fn, n: sum(1 for x in xs if _test(fn, x, n)) == 1,
    "filter": lambda xs, fn, n: [x for x in xs if _test(fn, x, n)],
    "count": lambda xs, fn, n: sum(1 for x in xs if _test(fn, x, n)),
    "map": lambda xs, fn, n: [fn(x) for x in xs],
    "sum": lambda xs, fn, n: FUNCS["sum"]([fn(x) for x in xs]),
    "find": _find,
    "findIndex": _find_index,
}


def _matches(s: object, pattern: object) -> bool:
    if not (isinstance(s, str) and isinstance(pattern, str)):
        raise ValueProblem(f"matches needs two strings, not {type_name(s)} and {type_name(pattern)}")
    try:
        return compile_go(pattern).matches(s)
    except GoRegexError as e:
        raise ValueProblem(f"the regular expression {pattern!r} is invalid: {e}") from None


def _strings(name: str, fn: Callable[[str, str], bool]) -> Callable[[object, object], object]:
    def op(a: object, b: object) -> object:
        if not (isinstance(a, str) and isinstance(b, str)):
            raise ValueProblem(f"{name} needs two strings, not {type_name(a)} and {type_name(b)}")
        return fn(a, b)

    return op


_BINARY: dict[str, Callable[[object, object], object]] = {
    "==": equal,
    "!=": lambda a, b: not equal(a, b),
    "<": lambda a, b: order("<", a, b),
    ">": lambda a, b: order(">", a, b),
    "<=": lambda a, b: order("<=", a, b),
    ">=": lambda a, b: order(">=", a, b),
    "in": lambda a, b: contains(b, a),
    "matches": _matches,
    "contains": _strings("contains", lambda a, b: b in a),
    "startsWith": _strings("startsWith", str.startswith),
    "endsWith": _strings("endsWith", str.endswith),
}
