"""Helpers shared by the function modules: argument access and output assembly."""

from __future__ import annotations

import math
import re
from typing import TypeVar

import numpy as np

from sloguard.labels import Labels
from sloguard.promql._steps import F64, B, StepMatrix, StepScalar, StepString, StepVector
from sloguard.promql._value import PromQLError
from sloguard.promql.functions._registry import FuncCall

_T = TypeVar("_T", StepScalar, StepString, StepVector, StepMatrix)

DUPLICATE_LABELSET = "vector cannot contain metrics with the same labelset"


def vector_arg(call: FuncCall, i: int) -> StepVector:
    return _typed(call, i, StepVector)


def matrix_arg(call: FuncCall, i: int) -> StepMatrix:
    return _typed(call, i, StepMatrix)


def scalar_arg(call: FuncCall, i: int) -> F64:
    """A scalar argument as one value per step, shape ``(k,)``."""
    return _typed(call, i, StepScalar).values


def string_arg(call: FuncCall, i: int) -> str:
    return _typed(call, i, StepString).value


def _typed(call: FuncCall, i: int, kind: type[_T]) -> _T:
    arg = call.args[i]
    if not isinstance(arg, kind):
        raise PromQLError(
            f"Function argument {i + 1} is a {type(arg).__name__}, expected a {kind.__name__}."
        )
    return arg


def drop_names(labels: list[Labels]) -> list[Labels]:
    return [ls.drop_metric_name() for ls in labels]


def finish_vector(labels: list[Labels], values: F64, present: B, *, strict: bool = False) -> StepVector:
    """Assemble a function result whose rows may share label sets.

    Rows with equal labels are merged into one row when they are never present at the same
    step (as Prometheus' range evaluation merges samples by label hash); rows that collide
    at a step raise Prometheus' duplicate-labelset error. With ``strict`` (functions over
    range vectors, where Prometheus checks the whole output matrix) any two rows with
    samples and equal labels are an error.
    """
    index: dict[Labels, int] = {}
    gid = np.fromiter((index.setdefault(ls, len(index)) for ls in labels), np.int64, len(labels))
    if len(index) == len(labels):
        return StepVector(labels, values, present)
    has = present.any(axis=1)
    g, k = len(index), present.shape[1]
    if strict:
        rows_per_group = np.bincount(gid[has], minlength=g)
        if (rows_per_group > 1).any():
            raise PromQLError(DUPLICATE_LABELSET)
    counts = np.zeros((g, k), np.int64)
    np.add.at(counts, gid, present.astype(np.int64))
    if (counts > 1).any():
        raise PromQLError(DUPLICATE_LABELSET)
    out_v = np.zeros((g, k), np.float64)
    out_p = np.zeros((g, k), np.bool_)
    rows, cols = np.nonzero(present)
    out_v[gid[rows], cols] = values[rows, cols]
    out_p[gid[rows], cols] = True
    return StepVector(list(index), out_v, out_p)


def empty_vector(k: int) -> StepVector:
    return StepVector.empty(k)


_GO_FLOAT = re.compile(
    r"^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$", re.IGNORECASE
)
_GO_HEX_FLOAT = re.compile(r"^[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+$")


def go_parse_float(text: str) -> float | None:
    """Go's ``strconv.ParseFloat(text, 64)``; ``None`` where Go returns an error."""
    if _GO_FLOAT.match(text):
        f = float(text)
        if math.isinf(f) and "inf" not in text.lower():
            return None  # out of range: Go reports an error
        return f
    if _GO_HEX_FLOAT.match(text):
        return float.fromhex(text)
    return None
