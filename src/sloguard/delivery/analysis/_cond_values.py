"""Values of the condition language and the operations on them, with expr-lang's rules.

A value is ``None`` (nil), a bool, an int (int64), a float (float64), a string, a list or a
dict with string keys. Booleans are never numbers (unlike Python's). Integer arithmetic
that leaves int64 is refused instead of wrapping silently as Go does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import cast

from sloguard.delivery.analysis._cond_lex import INT64_MAX, INT64_MIN


class ValueProblem(Exception):
    """An operation that cannot be done on these values; the evaluator adds the column."""


def type_name(v: object) -> str:
    """expr-lang's words for a value's type."""
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "map" if isinstance(v, dict) else type(v).__name__


def is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def show(v: object) -> str:
    """A short rendering of a value for an error message."""
    text = repr(v) if not isinstance(v, float) else f"{v:g}"
    return text if len(text) <= 60 else text[:57] + "..."


def check_int(n: int) -> int:
    if not INT64_MIN <= n <= INT64_MAX:
        raise ValueProblem("integer overflow: the result does not fit an int64")
    return n


def equal(a: object, b: object) -> bool:
    """``==``: numbers compare by value across int and float; other values by type and content."""
    if is_number(a) and is_number(b):
        return a == b
    if type_name(a) != type_name(b):
        return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    return a == b


def _mismatch(op: str, a: object, b: object) -> ValueProblem:
    return ValueProblem(f"invalid operation: {type_name(a)} {op} {type_name(b)} ({show(a)} {op} {show(b)})")


def order(op: str, a: object, b: object) -> bool:
    """``< > <= >=`` on two numbers or two strings."""
    if not ((is_number(a) and is_number(b)) or (isinstance(a, str) and isinstance(b, str))):
        raise _mismatch(op, a, b)
    x, y = a, b
    if op == "<":
        return bool(x < y)  # type: ignore[operator]
    if op == ">":
        return bool(x > y)  # type: ignore[operator]
    if op == "<=":
        return bool(x <= y)  # type: ignore[operator]
    return bool(x >= y)  # type: ignore[operator]


def arith(op: str, a: object, b: object) -> object:
    """``+ - * / % **`` with expr-lang's result types: ``/`` and ``**`` always give floats."""
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    if op == "+" and isinstance(a, list) and isinstance(b, list):
        return a + b
    if not (is_number(a) and is_number(b)):
        raise _mismatch(op, a, b)
    x: float = a  # type: ignore[assignment]  # a number, checked above
    y: float = b  # type: ignore[assignment]
    return _ARITH[op](x, y)


def _div(x: float, y: float) -> float:
    if y == 0:  # Go float64 division: +-Inf, or NaN for 0/0
        return math.nan if x == 0 or math.isnan(x) else math.copysign(math.inf, x) * math.copysign(1.0, y)
    return float(x) / float(y)


def _mod(x: float, y: float) -> int:
    if not (isinstance(x, int) and isinstance(y, int)):
        raise ValueProblem(f"invalid operation: % needs two integers, not {type_name(x)} and {type_name(y)}")
    if y == 0:
        raise ValueProblem("integer divide by zero")
    r = abs(x) % abs(y)  # Go's % truncates towards zero: the sign follows x
    return -r if x < 0 else r


def _pow(x: float, y: float) -> float:
    try:
        return math.pow(x, y)
    except OverflowError:
        return math.inf
    except ValueError:  # a negative base to a fractional power
        return math.nan


def _num(fn: Callable[[float, float], float]) -> Callable[[float, float], object]:
    def op(x: float, y: float) -> object:
        r = fn(x, y)
        return check_int(r) if isinstance(r, int) else float(r)

    return op


_ARITH: dict[str, Callable[[float, float], object]] = {
    "+": _num(lambda x, y: x + y),
    "-": _num(lambda x, y: x - y),
    "*": _num(lambda x, y: x * y),
    "/": _div,
    "%": _mod,
    "**": _pow,
}


def contains(container: object, item: object) -> bool:
    """``item in container``: an element of an array or a key of a map; nothing is in nil."""
    if container is None:
        return False
    if isinstance(container, list):
        return any(equal(item, x) for x in container)
    if isinstance(container, dict):
        return isinstance(item, str) and item in container
    raise ValueProblem(f"invalid operation: 'in' needs an array or a map on its right, not {type_name(container)}")


def member(obj: object, name: str, optional: bool) -> object:
    """``obj.name``: a map's key (nil when absent, as expr-lang does); nothing else has fields."""
    if obj is None and optional:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    raise ValueProblem(f"cannot read field {name!r} of {type_name(obj)} {show(obj)}; only maps have fields")


def index(obj: object, key: object) -> object:
    """``obj[key]``: arrays and strings by int (negative from the end), maps by string."""
    if isinstance(obj, dict):
        if not isinstance(key, str):
            raise ValueProblem(f"a map is indexed by a string, not {type_name(key)} {show(key)}")
        return obj.get(key)
    if isinstance(obj, list | str):
        if not isinstance(key, int) or isinstance(key, bool):
            raise ValueProblem(f"an {type_name(obj)} is indexed by an int, not {type_name(key)} {show(key)}")
        i = key + len(obj) if key < 0 else key
        if not 0 <= i < len(obj):
            raise ValueProblem(f"index out of range: {key} (the {type_name(obj)} has length {len(obj)})")
        return obj[i]
    raise ValueProblem(f"cannot index {type_name(obj)} {show(obj)}")


def slice_of(obj: object, lo: object, hi: object) -> object:
    """``obj[lo:hi]`` on an array or a string; bounds are clamped to its length."""
    if not isinstance(obj, list | str):
        raise ValueProblem(f"cannot slice {type_name(obj)} {show(obj)}")
    for b in (lo, hi):
        if b is not None and (not isinstance(b, int) or isinstance(b, bool)):
            raise ValueProblem(f"slice bounds must be ints, not {type_name(b)} {show(b)}")
    return obj[cast(int | None, lo) : cast(int | None, hi)]  # ints or None, checked above
