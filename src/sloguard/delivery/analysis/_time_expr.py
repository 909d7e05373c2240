"""The times of an Argo ``rangeQuery``: ``start``, ``end`` (expr-lang time expressions such
as ``now() - duration("5m")``) and ``step``.

Argo evaluates each of ``start`` and ``end`` with expr-lang and wants a ``time.Time``. This
reads the part of expr-lang that yields times: ``now()`` (the measurement's time, so a
replay over history sees the window it would have seen), ``duration("1h30m")`` (Go's
``time.ParseDuration``), ``date("2024-05-01T10:00:00Z")`` (RFC 3339, or a date), and
``+``/``-`` between a time and a duration (time - time is a duration). The syntax is the
condition language's parser, so errors name the column; no Python ``eval``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sloguard.delivery.analysis import _cond_ast as A
from sloguard.delivery.analysis._cond_errors import ConditionError
from sloguard.delivery.analysis._cond_parse import FUNCTIONS, parse
from sloguard.delivery.analysis._template_fields import parse_go_duration_ms

__all__ = ["MAX_POINTS", "RangeQuery", "TimeExpr"]

#: Prometheus refuses a range query of more than 11,000 points per series; so does sloguard.
MAX_POINTS = 11_000
_TIME_FUNCTIONS = FUNCTIONS | frozenset({"now", "duration", "date"})
_HELP = 'a rangeQuery time is built from now(), duration("5m"), date("2024-05-01T10:00:00Z"), + and -'


@dataclass(frozen=True, slots=True)
class _Time:
    ms: int


@dataclass(frozen=True, slots=True)
class _Duration:
    ms: int


_Value = _Time | _Duration | str | int | float


class _Problem(Exception):
    def __init__(self, col: int, message: str) -> None:
        super().__init__(message)
        self.col = col


@dataclass(frozen=True, slots=True)
class TimeExpr:
    """One time expression; ``text`` as written."""

    text: str
    tree: A.Node = field(repr=False, compare=False)

    @classmethod
    def compile(cls, text: str) -> TimeExpr:
        """Parse ``text`` and check it gives a time (at an arbitrary now); ``ConditionError``
        names the column of a problem."""
        expr = cls(text, parse(text, _TIME_FUNCTIONS))
        expr.evaluate(0)
        return expr

    def evaluate(self, now_ms: int) -> int:
        """The time (Unix ms) this expression gives when ``now()`` is ``now_ms``."""
        try:
            value = _eval(self.tree, now_ms)
        except _Problem as e:
            raise ConditionError(self.text, e.col, str(e)) from None
        if not isinstance(value, _Time):
            raise ConditionError(self.text, 0, f"expected a time, but the expression gives {_type(value)}")
        return value.ms


@dataclass(frozen=True, slots=True)
class RangeQuery:
    """Argo's ``provider.prometheus.rangeQuery``: the query runs over ``[start, end]`` every
    ``step_ms``, and the result is every value of every series (Argo's matrix shape)."""

    start: TimeExpr
    end: TimeExpr
    step_ms: int

    def window(self, now_ms: int) -> tuple[int, int, int]:
        """``(start_ms, end_ms, step_ms)`` at ``now_ms``; ``ValueError`` in a sentence when
        the window is reversed or has more points than Prometheus allows."""
        start, end = self.start.evaluate(now_ms), self.end.evaluate(now_ms)
        if end < start:
            raise ValueError(f"rangeQuery: end ({self.end.text}) is before start ({self.start.text})")
        points = (end - start) // self.step_ms + 1
        if points > MAX_POINTS:
            raise ValueError(f"rangeQuery: {points} points per series (from start to end every step) exceeds "
                             f"the maximum of {MAX_POINTS}; use a larger step or a shorter window")
        return start, end, self.step_ms


def _type(v: object) -> str:
    if isinstance(v, _Time):
        return "time.Time"
    if isinstance(v, _Duration):
        return "time.Duration"
    return {str: "string", int: "int", float: "float"}.get(type(v), type(v).__name__)


def _eval(node: A.Node, now_ms: int) -> _Value:
    match node:
        case A.Literal(value=v) if isinstance(v, str | int | float) and not isinstance(v, bool):
            return v
        case A.Call():
            return _call(node, [_eval(a, now_ms) for a in node.args], now_ms)
        case A.Unary(op="-"):
            v = _eval(node.operand, now_ms)
            if isinstance(v, _Duration):
                return _Duration(-v.ms)
            raise _Problem(node.col, f"unary - needs a duration here, not {_type(v)}")
        case A.Binary(op="+" | "-"):
            return _arith(node, _eval(node.left, now_ms), _eval(node.right, now_ms))
    raise _Problem(getattr(node, "col", 0), f"not supported here: {_HELP}")


def _call(node: A.Call, args: list[_Value], now_ms: int) -> _Value:
    want = {"now": 0, "duration": 1, "date": 1}.get(node.name)
    if want is None:
        raise _Problem(node.col, f"{node.name}() is not supported here: {_HELP}")
    if len(args) != want:
        raise _Problem(node.col, f"{node.name}() takes {want} argument(s), not {len(args)}")
    if node.name == "now":
        return _Time(now_ms)
    text = args[0]
    if not isinstance(text, str):
        raise _Problem(node.col, f"{node.name}() needs a string, not {_type(text)}")
    try:
        if node.name == "duration":
            return _Duration(parse_go_duration_ms(text))
        return _Time(_date_ms(text))
    except ValueError as e:
        raise _Problem(node.col, str(e)) from None


def _date_ms(text: str) -> int:
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f'date("{text}"): not an RFC 3339 time such as 2024-05-01T10:00:00Z or a date') from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return round(when.timestamp() * 1000)


def _arith(node: A.Binary, a: _Value, b: _Value) -> _Value:
    sign = 1 if node.op == "+" else -1
    if isinstance(a, _Time) and isinstance(b, _Duration):
        return _Time(a.ms + sign * b.ms)
    if isinstance(a, _Duration) and isinstance(b, _Duration):
        return _Duration(a.ms + sign * b.ms)
    if node.op == "+" and isinstance(a, _Duration) and isinstance(b, _Time):
        return _Time(a.ms + b.ms)
    if node.op == "-" and isinstance(a, _Time) and isinstance(b, _Time):
        return _Duration(a.ms - b.ms)
    raise _Problem(node.col, f"invalid operation: {_type(a)} {node.op} {_type(b)}")
