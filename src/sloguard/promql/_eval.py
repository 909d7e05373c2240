"""The evaluator: one ``_eval_*`` method per node type, each over all steps at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sloguard.labels import Labels, Matcher
from sloguard.promql import _aggregate, _binary, _streamed, _subquery
from sloguard.promql._ast import (
    Aggregate,
    At,
    AtKind,
    Binary,
    Call,
    MatrixSelector,
    Node,
    NumberLiteral,
    Paren,
    StringLiteral,
    Subquery,
    Unary,
    VectorSelector,
    unwrap_parens,
)
from sloguard.promql._eval_rows import DUPLICATE_LABELSET, broadcast, is_step_invariant, merge_rows
from sloguard.promql._eval_samples import cost, matrix_call_peak, range_eval_peak
from sloguard.promql._limits import QueryLimits
from sloguard.promql._plan import Footprint
from sloguard.promql._selectors import instant_vector, range_vector
from sloguard.promql._steps import I64, StepMatrix, StepScalar, StepString, StepValue, StepVector
from sloguard.promql._value import ErrorType, PromQLError
from sloguard.tsdb import Querier, SeriesBatch


@dataclass(frozen=True, slots=True)
class EvalContext:
    """What every node of one query sees: storage, the query's own start/end (for
    ``@ start()``/``@ end()``), engine settings and the query's limits."""

    querier: Querier
    start_ms: int
    end_ms: int
    lookback_ms: int
    default_subquery_step_ms: int
    limits: QueryLimits
    #: For checks Prometheus makes over a node's whole range (not per step) when the
    #: steps are evaluated in chunks: per node, what earlier chunks produced.
    across_chunks: dict[int, dict[Labels, Labels]] = field(default_factory=dict)
    #: Cells a node's steps may take before they are split into chunks (0: never), and
    #: the planner's footprint of each subquery's inner expression (by node ``id``).
    chunk_cells: int = 0
    subquery_plans: dict[int, Footprint] = field(default_factory=dict)


_CONSTANTS: dict[Node, tuple[StepValue, int]] = {}
_CONSTANTS_MAX = 4096


def _literal_arithmetic(node: Node) -> bool:
    """An operator tree over number literals only (its value never changes)."""
    match node:
        case Paren() | Unary():
            return _literal_tree(node.expr)
        case Binary():
            return _literal_tree(node.lhs) and _literal_tree(node.rhs)
    return False


def _literal_tree(node: Node) -> bool:
    return isinstance(node, NumberLiteral) or _literal_arithmetic(node)


class Evaluator:
    def __init__(self, ctx: EvalContext) -> None:
        self.ctx = ctx
        self._invariant: dict[int, bool] = {}
        self._is_constant: dict[int, bool] = {}
        #: End of the evaluation in progress (the query's end; inside a subquery, its
        #: own end): subqueries run their inner steps up to it, as Prometheus does.
        self.end_ms = ctx.end_ms
        #: Where step-invariant parts are evaluated when the steps are a chunk of the
        #: query's (the query's first step, as Prometheus does); ``None``: ``steps[0]``.
        self.invariant_at: int | None = None

    def eval(self, node: Node, steps: I64) -> StepValue:
        """Evaluate ``node`` at every timestamp of ``steps``.

        Samples held by children are released when the node is done, so the sample
        count follows what is live in memory, as Prometheus' ``currentSamples`` does.
        """
        limits = self.ctx.limits
        limits.check_time()
        before = limits.current
        if len(steps) == 1 and self._constant(node):
            return self._eval_constant(node, steps)
        if (len(steps) > 1 or self.invariant_at is not None) and self._step_invariant(node):
            # Prometheus evaluates step-invariant parts (``@``, literals) once, at the
            # first step, and repeats the result.
            first = steps[:1] if self.invariant_at is None else np.array([self.invariant_at], np.int64)
            outer_end, self.end_ms = self.end_ms, int(first[0])
            outer_at, self.invariant_at = self.invariant_at, None
            try:
                value = broadcast(self._dispatch(node, first), len(steps))
            finally:
                self.end_ms, self.invariant_at = outer_end, outer_at
        else:
            value = self._dispatch(node, steps)
        limits.current = before
        limits.acquire(cost(value))
        return value

    def _constant(self, node: Node) -> bool:
        key = id(node)
        known = self._is_constant.get(key)
        if known is None:
            known = self._is_constant[key] = _literal_arithmetic(node)
        return known

    def _eval_constant(self, node: Node, steps: I64) -> StepValue:
        """Number arithmetic such as ``(14.4 * 0.01)`` at one step, remembered across
        queries (rules repeat theirs every cycle). A remembered value replays the peak
        sample count its evaluation reached, so limits and stats stay the same."""
        limits = self.ctx.limits
        before = limits.current
        hit = _CONSTANTS.get(node)
        if hit is None:
            outer_peak, limits.peak = limits.peak, before
            try:
                value = self._dispatch(node, steps)
            finally:
                local_peak, limits.peak = limits.peak, max(outer_peak, limits.peak)
            if isinstance(value, StepScalar):
                value.values.flags.writeable = False
            if len(_CONSTANTS) >= _CONSTANTS_MAX:
                _CONSTANTS.clear()
            hit = _CONSTANTS[node] = (value, local_peak - before)
        value, extra = hit
        limits.current = before
        limits.touch(extra)
        limits.acquire(cost(value))
        return value

    def _dispatch(self, node: Node, steps: I64) -> StepValue:
        match node:
            case NumberLiteral():
                return StepScalar(np.full(len(steps), node.value, np.float64))
            case StringLiteral():
                return StepString(node.value)
            case Paren():
                return self.eval(node.expr, steps)
            case VectorSelector():
                return self._eval_vector_selector(node, steps)
            case MatrixSelector():
                return self._eval_matrix_selector(node, steps)
            case Subquery():
                return _subquery.eval_subquery(self, node, steps)
            case Unary():
                return self._eval_unary(node, steps)
            case Binary():
                return self._eval_binary(node, steps)
            case Aggregate():
                return self._eval_aggregate(node, steps)
            case Call():
                return self._eval_call(node, steps)
        raise PromQLError(f"unsupported expression node {node!r}", ErrorType.INTERNAL)

    def _step_invariant(self, node: Node) -> bool:
        key = id(node)
        if key not in self._invariant:
            self._invariant[key] = is_step_invariant(node)
        return self._invariant[key]

    # --- selectors -------------------------------------------------------------------

    def ref_times(self, at: At | None, offset_ms: int, steps: I64) -> I64:
        """Each step's evaluation time after ``@`` and ``offset``."""
        if at is None:
            return steps - offset_ms
        t = {AtKind.START: self.ctx.start_ms, AtKind.END: self.ctx.end_ms}.get(at.kind, at.t_ms)
        return np.full(len(steps), t - offset_ms, np.int64)

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesBatch:
        """The querier's select, refused before it loads more samples than the query may
        hold (``QueryLimits.check_load``). The querier's ``samples_bound`` (all samples
        of the sources overlapping the window, a sum over blocks) is asked first, and
        only when it does not fit its ``estimate_samples`` (an index lookup): rule
        evaluations' thousands of small selects on a small store pay next to nothing.
        A querier with neither (or answering -1, unknown) is checked after its select."""
        self.check_select(matchers, mint, maxt)
        batch = self.ctx.querier.select(matchers, mint, maxt)
        self.ctx.limits.check_load(len(batch.timestamps))
        return batch

    def check_select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> None:
        """``select``'s refusal before it loads (see there)."""
        limits, querier = self.ctx.limits, self.ctx.querier
        bound = getattr(querier, "samples_bound", None)
        most = -1 if bound is None else int(bound(mint, maxt))
        estimate = getattr(querier, "estimate_samples", None)
        if estimate is not None and not (most >= 0 and limits.load_fits(most)):
            limits.check_load(int(estimate(matchers, mint, maxt)))

    def _eval_vector_selector(
        self, node: VectorSelector, steps: I64, want_ts: bool = False
    ) -> StepVector:
        refs = self.ref_times(node.at, node.offset_ms, steps)
        if len(refs) == 0:
            return StepVector.empty(0)
        lb = self.ctx.lookback_ms
        batch = self.select(node.matchers, int(refs.min()) - lb, int(refs.max()))
        return instant_vector(batch, refs, lb, want_ts)

    def _eval_matrix_selector(self, node: MatrixSelector, steps: I64) -> StepMatrix:
        sel = node.selector
        refs = self.ref_times(sel.at, sel.offset_ms, steps)
        lo = int(refs.min()) - node.range_ms if len(refs) else 0
        hi = int(refs.max()) if len(refs) else 0
        batch = self.select(sel.matchers, lo, hi)
        return range_vector(batch, refs, node.range_ms)

    # --- operators -------------------------------------------------------------------

    def _eval_unary(self, node: Unary, steps: I64) -> StepValue:
        val = self.eval(node.expr, steps)
        if isinstance(val, StepScalar):
            return StepScalar(-val.values)
        if not isinstance(val, StepVector):
            raise PromQLError("unary minus needs a scalar or an instant vector", ErrorType.BAD_DATA)
        val = val.prune()
        # Upstream checks the whole result matrix, so series that collide after dropping
        # the name are an error even when they never overlap in time.
        labels = [ls.drop_metric_name() for ls in val.labels]
        if len(set(labels)) != len(labels):
            raise PromQLError(DUPLICATE_LABELSET, ErrorType.EXECUTION)
        if self.invariant_at is not None:  # a chunk: earlier chunks' series count too
            self._same_labels_across_chunks(node, val.labels, labels)
        return StepVector(labels, -val.values, val.present)

    def _same_labels_across_chunks(self, node: Node, before: list[Labels], after: list[Labels]) -> None:
        seen = self.ctx.across_chunks.setdefault(id(node), {})
        for orig, out in zip(before, after, strict=True):
            if seen.setdefault(out, orig) != orig:
                raise PromQLError(DUPLICATE_LABELSET, ErrorType.EXECUTION)

    def _eval_binary(self, node: Binary, steps: I64) -> StepValue:
        lhs = self.eval(node.lhs, steps)
        rhs = self.eval(node.rhs, steps)
        out = _binary.binary(node, lhs, rhs)
        self.ctx.limits.touch(range_eval_peak([lhs, rhs], out, len(steps)))
        return out

    def _eval_aggregate(self, node: Aggregate, steps: I64) -> StepVector:
        param = self.eval(node.param, steps) if node.param is not None else None
        val = self.eval(node.expr, steps)
        if not isinstance(val, StepVector):
            raise PromQLError(f"expected an instant vector in aggregation {node.op}", ErrorType.BAD_DATA)
        out = _aggregate.aggregate(node, val, param)
        self.ctx.limits.touch(range_eval_peak([param, val], out, len(steps)))
        return out

    # --- functions -------------------------------------------------------------------

    def _eval_call(self, node: Call, steps: I64) -> StepValue:
        from sloguard.promql.functions import FUNCTIONS, FuncCall

        fdef = FUNCTIONS.get(node.name)
        if fdef is None:
            raise PromQLError(f"function {node.name!r} is not implemented", ErrorType.BAD_DATA)
        sel = _streamed.streams(node, self.ctx.querier)
        if sel is not None:
            impl, raw = fdef.impl, list(node.raw_args)
            done = _streamed.eval_streamed(self, node, sel, steps, lambda a: impl(FuncCall(a, raw, steps)))
            if done is not None:
                return done
        args = [self._eval_arg(node, a, steps) for a in node.args]
        out = fdef.impl(FuncCall(args, list(node.raw_args), steps))
        if isinstance(out, StepVector) and len(set(out.labels)) != len(out.labels):
            out = merge_rows(out.labels, out.values, out.present)
        ranges = [a for a in args if isinstance(a, StepMatrix)]
        if ranges:
            # absent_over_time's one output series is made after the count, upstream.
            counted = StepVector.empty(len(steps)) if node.name == "absent_over_time" else out
            self.ctx.limits.touch(matrix_call_peak(ranges[0], counted))
        else:
            self.ctx.limits.touch(range_eval_peak(args, out, len(steps)))
        return out

    def _eval_arg(self, call: Call, arg: Node, steps: I64) -> StepValue:
        """An argument; a range selector and ``timestamp``'s selector are streamed by
        Prometheus, so they are not held (counted) as a child's result."""
        inner = unwrap_parens(arg)
        if call.name == "timestamp" and isinstance(inner, VectorSelector):
            return self._eval_vector_selector(inner, steps, want_ts=True)
        if isinstance(inner, MatrixSelector):
            self.ctx.limits.check_time()
            return self._eval_matrix_selector(inner, steps)
        return self.eval(arg, steps)
