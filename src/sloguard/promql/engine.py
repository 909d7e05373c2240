"""``PromQLEngine``: parses, evaluates all steps at once, and shapes results like Prometheus."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from sloguard.promql._ast import Node, parse
from sloguard.promql._eval import EvalContext, Evaluator
from sloguard.promql._limits import Clock, ConcurrencyGate, QueryLimits, check_resolution
from sloguard.promql._steps import I64, StepMatrix, StepScalar, StepString, StepValue, StepVector
from sloguard.promql._value import (
    ErrorType,
    Matrix,
    PromQLError,
    QueryResult,
    Sample,
    Scalar,
    Series,
    String,
    ValueType,
    Vector,
)
from sloguard.tsdb import Querier, Storage


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """Engine settings, named and defaulted as Prometheus' flags
    (``--query.lookback-delta``, ``--query.max-samples``, ``--query.timeout``,
    ``--query.max-concurrency``; 11,000 points per series is the API's limit)."""

    lookback_delta_ms: int = 300_000
    max_samples: int = 50_000_000
    timeout_s: float = 120.0
    max_points_per_series: int = 11_000
    max_concurrent: int = 20
    default_subquery_step_ms: int = 60_000


class PromQLEngine:
    """The ``Engine`` protocol over a ``Storage``; safe to call from many threads."""

    def __init__(
        self, storage: Storage, options: EngineOptions | None = None, clock: Clock = time.monotonic
    ) -> None:
        self.storage = storage
        self.options = options or EngineOptions()
        self._clock = clock
        self._gate = ConcurrencyGate(self.options.max_concurrent)

    def instant_query(
        self, expr: str, t: int, timeout: float | None = None, querier: Querier | None = None
    ) -> QueryResult:
        """``querier`` replaces a fresh one from the storage (rule groups share one)."""
        node = parse(expr)
        value = self._run(node, t, t, np.array([t], np.int64), timeout, querier)
        return _instant_result(value, t)

    def range_query(
        self, expr: str, start: int, end: int, step: int, timeout: float | None = None
    ) -> QueryResult:
        node = parse(expr)
        if node.type not in (ValueType.VECTOR, ValueType.SCALAR):
            raise PromQLError(
                f'invalid expression type "{_doc_type(node.type)}" for range query, '
                "must be Scalar or instant Vector", ErrorType.BAD_DATA,
            )
        check_resolution(start, end, step, self.options.max_points_per_series)
        steps = np.arange(start, end + 1, step, dtype=np.int64)
        value = self._run(node, start, end, steps, timeout)
        return _range_result(value, steps)

    def evaluate(self, node: Node, start: int, end: int, steps: I64, timeout: float | None = None) -> StepValue:
        """Evaluate a parsed tree at ``steps`` (for callers that need the raw step values)."""
        return self._run(node, start, end, steps, timeout)

    def _run(
        self, node: Node, start: int, end: int, steps: I64, timeout: float | None, querier: Querier | None = None
    ) -> StepValue:
        timeout_s = self.options.timeout_s if timeout is None else min(timeout, self.options.timeout_s)
        deadline = self._clock() + timeout_s
        self._gate.enter(timeout_s)
        try:
            limits = QueryLimits(self._clock, deadline, self.options.max_samples)
            ctx = EvalContext(
                querier or self.storage.querier(), start, end, self.options.lookback_delta_ms,
                self.options.default_subquery_step_ms, limits,
            )
            return Evaluator(ctx).eval(node, steps)
        except RecursionError:
            raise PromQLError("expression nested too deeply to evaluate", ErrorType.BAD_DATA) from None
        finally:
            self._gate.leave()


def _doc_type(t: ValueType) -> str:
    return {ValueType.VECTOR: "instant vector", ValueType.MATRIX: "range vector"}.get(t, t.value)


def _instant_result(value: StepValue, t: int) -> QueryResult:
    match value:
        case StepScalar():
            return QueryResult(Scalar(t, float(value.values[0])), ValueType.SCALAR)
        case StepString():
            return QueryResult(String(t, value.value), ValueType.STRING)
        case StepVector():
            rows = np.flatnonzero(value.present[:, 0])
            vals = value.values[rows, 0].tolist()
            vec: Vector = [Sample(value.labels[i], t, v) for i, v in zip(rows.tolist(), vals, strict=True)]
            return QueryResult(vec, ValueType.VECTOR)
        case StepMatrix():
            return QueryResult(_matrix_windows(value), ValueType.MATRIX)
    raise PromQLError(f"unexpected result value {value!r}", ErrorType.INTERNAL)


def _matrix_windows(m: StepMatrix) -> Matrix:
    """The samples in each series' (only) window, series without samples left out."""
    out: Matrix = []
    for i in range(m.n):
        a, b = int(m.starts[i, 0]), int(m.ends[i, 0])
        if b > a:
            out.append(Series(m.labels[i], m.timestamps[a:b].copy(), m.values[a:b].copy()))
    return out


def _range_result(value: StepValue, steps: I64) -> QueryResult:
    from sloguard.labels import Labels

    if isinstance(value, StepScalar):
        return QueryResult([Series(Labels(), steps.copy(), value.values.copy())], ValueType.MATRIX)
    if not isinstance(value, StepVector):
        raise PromQLError(f"unexpected result value {value!r}", ErrorType.INTERNAL)
    order = sorted(range(value.n), key=lambda i: value.labels[i])
    out: Matrix = []
    for i in order:
        p = value.present[i]
        if p.any():
            out.append(Series(value.labels[i], steps[p], value.values[i, p]))
    return QueryResult(out, ValueType.MATRIX)
