"""``PromQLEngine``: parses, sizes, evaluates all steps at once (or in chunks of steps
when they would not fit), and shapes results like Prometheus."""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from sloguard.promql._ast import Node, parse
from sloguard.promql._chunks import assemble_range_result, eval_chunks
from sloguard.promql._eval import EvalContext, Evaluator
from sloguard.promql._limits import (
    ACTIVE,
    TOO_MANY_SAMPLES,
    Clock,
    ConcurrencyGate,
    QueryLimits,
    check_resolution,
)
from sloguard.promql._plan import Footprint, Planner, has_subquery
from sloguard.promql._steps import I64, StepMatrix, StepScalar, StepString, StepValue, StepVector
from sloguard.promql._trim import trim_after
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
    #: Parse limits (``--query.max-parse-depth``/``-chain``), applied by the parser's
    #: pre-scan where it is connected (see ``api._engine_setup.apply_parse_limits``).
    max_parse_depth: int = 200
    max_parse_chain: int = 300
    #: Dense (series x steps) cells a range query may hold at once before its steps are
    #: split into chunks: about 10 bytes each (a value and its presence); a matrix
    #: selector's windows count three per cell, unless its function streams over the
    #: series (``_streamed``: then only the output counts). 16M covers 45,000 series
    #: at 331 steps in one pass (it was 2M before range functions streamed).
    chunk_cells: int = 16_000_000
    #: Raw samples one select may load before it is refused for its size alone, when
    #: that is also over ``max_samples`` (16 MB of arrays; see ``QueryLimits.check_load``).
    load_floor: int = 1_000_000


#: Queries whose working set fits this many cells are never chunked (see _chunk_steps).
WHOLE_CELLS = 1_000_000
#: A subquery's grid is evaluated in chunks of at most this many cells (about 40 bytes
#: each with its windows), whatever ``chunk_cells`` allows a range query's output: the
#: grid is held whole per chunk, so this bounds a subquery's memory (issue 8's bounds).
SUBQUERY_CELLS = 2_000_000


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
        self, expr: str, t: int, timeout: float | None = None, querier: Querier | None = None,
        cancel: threading.Event | None = None,
    ) -> QueryResult:
        """``querier`` replaces a fresh one from the storage (rule groups share one);
        setting ``cancel`` stops the evaluation at its next check."""
        node = parse(expr)
        steps = np.array([t], np.int64)
        with self._session(node, t, t, timeout, querier, cancel) as (ctx, plan):
            if plan is not None:
                self._refuse_unfit(plan)
            value = Evaluator(ctx).eval(node, steps)
        return _instant_result(value, t)

    def range_query(
        self, expr: str, start: int, end: int, step: int, timeout: float | None = None,
        cancel: threading.Event | None = None,
    ) -> QueryResult:
        node = parse(expr)
        if node.type not in (ValueType.VECTOR, ValueType.SCALAR):
            raise PromQLError(
                f'invalid expression type "{_doc_type(node.type)}" for range query, '
                "must be Scalar or instant Vector", ErrorType.BAD_DATA,
            )
        check_resolution(start, end, step, self.options.max_points_per_series)
        steps = np.arange(start, end + 1, step, dtype=np.int64)
        with self._session(node, start, end, timeout, None, cancel, step) as (ctx, plan):
            chunk = len(steps) if plan is None else self._chunk_steps(plan, len(steps))
            if chunk >= len(steps):
                return _range_result(Evaluator(ctx).eval(node, steps), steps)
            parts = eval_chunks(lambda: Evaluator(ctx), node, steps, chunk, ctx.limits)
        return assemble_range_result(parts, steps)

    def evaluate(self, node: Node, start: int, end: int, steps: I64, timeout: float | None = None) -> StepValue:
        """Evaluate a parsed tree at ``steps`` (for callers that need the raw step values)."""
        with self._session(node, start, end, timeout, None, None) as (ctx, _):
            return Evaluator(ctx).eval(node, steps)

    @contextlib.contextmanager
    def _session(
        self, node: Node, start: int, end: int, timeout: float | None, querier: Querier | None,
        cancel: threading.Event | None, step: int = 0,
    ) -> Iterator[tuple[EvalContext, Footprint | None]]:
        """The query's context (limits, querier) while it holds a concurrency slot, and
        its footprint when it needs one (range queries and subqueries)."""
        timeout_s = self.options.timeout_s if timeout is None else min(timeout, self.options.timeout_s)
        deadline = self._clock() + timeout_s
        self._gate.enter(timeout_s)
        try:
            limits = QueryLimits(self._clock, deadline, self.options.max_samples, load_floor=self.options.load_floor)
            if cancel is not None:
                limits.cancel = cancel
            o = self.options
            ctx = EvalContext(
                querier or self.storage.querier(), start, end, o.lookback_delta_ms,
                o.default_subquery_step_ms, limits, chunk_cells=min(o.chunk_cells, SUBQUERY_CELLS),
            )
            plan = None
            if step > 0 or has_subquery(node):
                planner = Planner(ctx.querier, start, end, o.lookback_delta_ms, o.default_subquery_step_ms)
                plan = planner.footprint(node, step)
                ctx.subquery_plans.update(planner.subqueries)
            limits.check_time()
            token = ACTIVE.set(limits)
            try:
                yield ctx, plan
            except PromQLError as e:  # refused, timed out or cancelled: drop what its frames hold
                traceback.clear_frames(e.__traceback__)
                raise
            finally:
                ACTIVE.reset(token)
                trim_after(limits.peak, limits.cancel.is_set() or limits.clock() > limits.deadline)
        except RecursionError:
            raise PromQLError("expression nested too deeply to evaluate", ErrorType.BAD_DATA) from None
        finally:
            self._gate.leave()

    def _chunk_steps(self, plan: Footprint, k: int) -> int:
        """All ``k`` steps when they fit the budget, else the chunk size that does.

        The budget is ``chunk_cells``, lowered towards ``max_samples`` (but not under
        ``WHOLE_CELLS``): a query that could exceed a small sample limit is evaluated a chunk
        at a time, so the limit (on its output, which stays counted across chunks) refuses
        it after one chunk's allocation, not after the whole query's. Queries that fit
        ``WHOLE_CELLS`` are evaluated whole, with Prometheus' exact sample accounting."""
        budget = min(self.options.chunk_cells, max(self.options.max_samples, WHOLE_CELLS))
        if plan.cells(k) <= budget:
            return k
        self._refuse_unfit(plan)
        return plan.chunk_steps(budget, k)

    def _refuse_unfit(self, plan: Footprint) -> None:
        """Refuse, before anything is allocated, a query whose one step needs more cells
        than both ``max_samples`` and ``chunk_cells``."""
        if plan.cells(1) > max(self.options.max_samples, self.options.chunk_cells):
            raise PromQLError(TOO_MANY_SAMPLES, ErrorType.EXECUTION)


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
