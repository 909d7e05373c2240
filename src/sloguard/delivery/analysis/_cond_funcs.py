"""Built-in functions of the condition language: expr-lang's common ones and Argo Rollouts'
additions (``asInt``, ``asFloat``, ``isNaN``, ``isInf``, ``isNil``, ``default``).

Each takes evaluated values and returns a value or raises ``ValueProblem``. The predicates
(``all``, ``any``...) need a closure and live in the evaluator.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable

from sloguard.delivery.analysis._cond_values import (
    ValueProblem,
    check_int,
    is_number,
    show,
    type_name,
)

Func = Callable[..., object]


def _arity(name: str, args: tuple[object, ...], lo: int, hi: int | None = None) -> None:
    hi = lo if hi is None else hi
    if not lo <= len(args) <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        raise ValueProblem(f"{name}() takes {want} argument(s), not {len(args)}")


def _number(name: str, v: object) -> float:
    if not is_number(v):
        raise ValueProblem(f"{name}() needs a number, not {type_name(v)} {show(v)}")
    return v  # type: ignore[return-value]  # a number, checked above


def _numbers(name: str, args: tuple[object, ...]) -> list[float]:
    items = args[0] if len(args) == 1 and isinstance(args[0], list) else list(args)
    return [_number(name, v) for v in items]


def _len(*args: object) -> object:
    _arity("len", args, 1)
    v = args[0]
    if not isinstance(v, str | list | dict):
        raise ValueProblem(f"len() needs a string, an array or a map, not {type_name(v)} {show(v)}")
    return len(v)


def _count_true(*args: object) -> object:
    """``count(array)``: how many elements are ``true``."""
    _arity("count", args, 1)
    items = args[0]
    if not isinstance(items, list):
        raise ValueProblem(f"count() needs an array, not {type_name(items)} {show(items)}")
    for v in items:
        if not isinstance(v, bool):
            raise ValueProblem(f"count() without a predicate needs an array of true and false, not {show(items)}")
    return sum(1 for v in items if v)


def _sum(*args: object) -> object:
    total: float = 0
    for v in _numbers("sum", args):
        total = total + v
    return check_int(total) if isinstance(total, int) else total


def _extreme(name: str, pick: Callable[[list[float]], float]) -> Func:
    def fn(*args: object) -> object:
        values = _numbers(name, args)
        if not values:
            raise ValueProblem(f"{name}() of an empty array has no value")
        return pick(values)

    return fn


def _stat(name: str, fn: Callable[[list[float]], float]) -> Func:
    return _extreme(name, lambda vs: float(fn(vs)))


def _unary_num(name: str, fn: Callable[[float], object]) -> Func:
    def call(*args: object) -> object:
        _arity(name, args, 1)
        return fn(_number(name, args[0]))

    return call


def _round(x: float) -> float:
    """Go's ``math.Round``: halves away from zero."""
    return x if not math.isfinite(x) else math.copysign(math.floor(abs(x) + 0.5), x)


def _as_float(*args: object) -> object:
    _arity("asFloat", args, 1)
    v = args[0]
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            raise ValueProblem(f"asFloat() cannot read {show(v)} as a number") from None
    return float(_number("asFloat", v))


def _as_int(*args: object) -> object:
    _arity("asInt", args, 1)
    v = args[0]
    if isinstance(v, str):
        try:
            return check_int(int(v.strip()))
        except ValueError:
            raise ValueProblem(f"asInt() cannot read {show(v)} as an integer") from None
    x = _number("asInt", v)
    if not math.isfinite(x):
        raise ValueProblem(f"asInt() cannot convert {show(x)} to an integer")
    return check_int(int(x))


def _string(*args: object) -> object:
    _arity("string", args, 1)
    v = args[0]
    if isinstance(v, bool):
        return "true" if v else "false"
    return "<nil>" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))


def _is_nil(*args: object) -> object:
    _arity("isNil", args, 1)
    return args[0] is None


def _default(*args: object) -> object:
    _arity("default", args, 2)
    return args[1] if args[0] is None else args[0]


def _ends(name: str, pick: Callable[[list[object]], object]) -> Func:
    def fn(*args: object) -> object:
        _arity(name, args, 1)
        if not isinstance(args[0], list):
            raise ValueProblem(f"{name}() needs an array, not {type_name(args[0])}")
        return pick(args[0]) if args[0] else None

    return fn


def _text(name: str, fn: Callable[[str], str]) -> Func:
    def call(*args: object) -> object:
        _arity(name, args, 1)
        if not isinstance(args[0], str):
            raise ValueProblem(f"{name}() needs a string, not {type_name(args[0])}")
        return fn(args[0])

    return call


def _map_part(name: str, keys: bool) -> Func:
    def call(*args: object) -> object:
        _arity(name, args, 1)
        if not isinstance(args[0], dict):
            raise ValueProblem(f"{name}() needs a map, not {type_name(args[0])}")
        return list(args[0].keys()) if keys else list(args[0].values())

    return call


FUNCS: dict[str, Func] = {
    "len": _len,
    "sum": _sum,
    "count": _count_true,
    "max": _extreme("max", max),
    "min": _extreme("min", min),
    "mean": _stat("mean", statistics.fmean),
    "median": _stat("median", statistics.median),
    "abs": _unary_num("abs", abs),
    "ceil": _unary_num("ceil", lambda x: float(math.ceil(x)) if math.isfinite(x) else x),
    "floor": _unary_num("floor", lambda x: float(math.floor(x)) if math.isfinite(x) else x),
    "round": _unary_num("round", _round),
    "isNaN": _unary_num("isNaN", lambda x: math.isnan(x)),
    "isInf": _unary_num("isInf", lambda x: math.isinf(x)),
    "asFloat": _as_float,
    "float": _as_float,
    "asInt": _as_int,
    "int": _as_int,
    "string": _string,
    "isNil": _is_nil,
    "default": _default,
    "first": _ends("first", lambda xs: xs[0]),
    "last": _ends("last", lambda xs: xs[-1]),
    "lower": _text("lower", str.lower),
    "upper": _text("upper", str.upper),
    "trim": _text("trim", str.strip),
    "keys": _map_part("keys", True),
    "values": _map_part("values", False),
}
