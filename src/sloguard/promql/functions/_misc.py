"""absent, scalar, vector, sort, sort_desc, pi."""

from __future__ import annotations

import math

import numpy as np

from sloguard.labels import Labels
from sloguard.promql._steps import StepScalar, StepVector
from sloguard.promql.functions._absent import absent_labels
from sloguard.promql.functions._common import scalar_arg, vector_arg
from sloguard.promql.functions._registry import FuncCall, register


@register("absent", 1)
def absent(call: FuncCall) -> StepVector:
    v = vector_arg(call, 0)
    missing = ~np.asarray(v.present.any(axis=0), np.bool_)
    return StepVector([absent_labels(call.raw_args[0])], np.ones((1, call.k)), missing[None, :])


@register("scalar", 1)
def scalar(call: FuncCall) -> StepScalar:
    v = vector_arg(call, 0)
    one = v.present.sum(axis=0) == 1
    if v.n == 0:
        return StepScalar(np.full(call.k, np.nan))
    row = np.argmax(v.present, axis=0)
    picked = v.values[row, np.arange(call.k)]
    return StepScalar(np.where(one, picked, np.nan))


@register("vector", 1)
def vector(call: FuncCall) -> StepVector:
    s = scalar_arg(call, 0)
    return StepVector([Labels()], s[None, :].copy(), np.ones((1, call.k), np.bool_))


def _sorted(v: StepVector, descending: bool) -> StepVector:
    """Rows ordered by their value at the first step, NaN last (Prometheus' sort for an
    instant query; for range queries the row order carries no meaning)."""
    if v.n == 0:
        return v
    first = v.values[:, 0]
    nan = np.isnan(first) | ~v.present[:, 0]
    key = -first if descending else first
    order = np.lexsort((np.where(nan, 0.0, key), nan))
    ts = None if v.sample_ts is None else v.sample_ts[order]
    return StepVector([v.labels[i] for i in order], v.values[order], v.present[order], ts)


@register("sort", 1, drops_metric_name=False)
def sort(call: FuncCall) -> StepVector:
    return _sorted(vector_arg(call, 0), descending=False)


@register("sort_desc", 1, drops_metric_name=False)
def sort_desc(call: FuncCall) -> StepVector:
    return _sorted(vector_arg(call, 0), descending=True)


@register("pi", 0)
def pi(call: FuncCall) -> StepScalar:
    return StepScalar(np.full(call.k, math.pi))
