"""Element-wise math on instant vectors: abs, ceil, floor, exp, ln, log2, log10, sqrt,
sgn, round, clamp, clamp_min, clamp_max, deg, rad and the trigonometric functions.

All of them drop the metric name, as Prometheus' ``simpleFunc`` does.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sloguard.promql._steps import F64, StepVector
from sloguard.promql.functions._common import drop_names, finish_vector, scalar_arg, vector_arg
from sloguard.promql.functions._registry import FuncCall, register


def _apply(v: StepVector, values: F64, present: np.ndarray | None = None) -> StepVector:
    return finish_vector(drop_names(v.labels), values, v.present if present is None else present)


def _sgn(x: F64) -> F64:
    return np.where(x < 0, -1.0, np.where(x > 0, 1.0, x))


_SIMPLE: dict[str, Callable[[F64], F64]] = {
    "abs": np.abs,
    "ceil": np.ceil,
    "floor": np.floor,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "ln": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "sgn": _sgn,
    "deg": lambda x: x * 180 / math.pi,
    "rad": lambda x: x * math.pi / 180,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "asinh": np.arcsinh,
    "acosh": np.arccosh,
    "atanh": np.arctanh,
}


def _simple(fn: Callable[[F64], F64]) -> Callable[[FuncCall], StepVector]:
    def impl(call: FuncCall) -> StepVector:
        v = vector_arg(call, 0)
        return _apply(v, np.asarray(fn(v.values), np.float64))

    return impl


for _name, _fn in _SIMPLE.items():
    register(_name, 1)(_simple(_fn))


@register("round", 1, 2)
def round_(call: FuncCall) -> StepVector:
    """``floor(v / to_nearest + 0.5) * to_nearest`` via the inverse, like Prometheus."""
    v = vector_arg(call, 0)
    to_nearest = scalar_arg(call, 1) if len(call.args) > 1 else np.ones(call.k)
    inverse = 1.0 / to_nearest
    return _apply(v, np.floor(v.values * inverse + 0.5) / inverse)


@register("clamp", 3)
def clamp(call: FuncCall) -> StepVector:
    """Steps where ``max < min`` give no samples."""
    v = vector_arg(call, 0)
    lo, hi = scalar_arg(call, 1), scalar_arg(call, 2)
    values = _go_max(lo, _go_min(hi, v.values))
    return _apply(v, values, v.present & ~(hi < lo)[None, :])


@register("clamp_max", 2)
def clamp_max(call: FuncCall) -> StepVector:
    v = vector_arg(call, 0)
    return _apply(v, _go_min(scalar_arg(call, 1), v.values))


@register("clamp_min", 2)
def clamp_min(call: FuncCall) -> StepVector:
    v = vector_arg(call, 0)
    return _apply(v, _go_max(scalar_arg(call, 1), v.values))


def _go_max(a: F64, b: F64) -> F64:
    """Go's ``math.Max``: +Inf wins over NaN, then NaN, then +0 over -0, else the larger."""
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    out = np.maximum(a, b)
    zeros = (a == 0) & (b == 0)
    out = np.where(zeros, np.where(np.signbit(a) & np.signbit(b), -0.0, 0.0), out)
    return np.asarray(np.where(np.isposinf(a) | np.isposinf(b), np.inf, out), np.float64)


def _go_min(a: F64, b: F64) -> F64:
    """Go's ``math.Min``: -Inf wins over NaN, then NaN, then -0 over +0, else the smaller."""
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    out = np.minimum(a, b)
    zeros = (a == 0) & (b == 0)
    out = np.where(zeros, np.where(np.signbit(a) | np.signbit(b), -0.0, 0.0), out)
    return np.asarray(np.where(np.isneginf(a) | np.isneginf(b), -np.inf, out), np.float64)
