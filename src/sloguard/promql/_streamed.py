"""A function over a range selector, evaluated a piece of whole series at a time.

A range function's value for one series depends on that series' samples alone
(Prometheus streams them series by series), so the select behind ``rate(x[5m])`` need
not be held whole: the querier's ``select_partitioned`` hands it over in consecutive
pieces of whole series (label order), each piece is windowed and passed to the function
for all steps at once, and the pieces' rows are put together. The working set is one
piece's samples and windows plus the function's output, so a range query over many
series runs over all its steps in one pass instead of re-reading every frame once per
chunk of steps. ``absent_over_time`` (one output series for all inputs) is not streamed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from sloguard.labels import Labels, Matcher
from sloguard.promql._ast import Call, MatrixSelector, Node, unwrap_parens
from sloguard.promql._eval_samples import call_peak_during, cost, out_rows
from sloguard.promql._selectors import range_vector
from sloguard.promql._steps import I64, StepMatrix, StepValue, StepVector
from sloguard.promql._value import ErrorType, PromQLError
from sloguard.tsdb import SeriesBatch

if TYPE_CHECKING:
    from sloguard.promql._eval import Evaluator

#: Raw samples per piece (16 bytes each, plus the piece's windows).
PIECE_SAMPLES = 1 << 21
#: Cells (series x steps) of one slice's windows and output: the function is applied to a
#: piece's series this many cells at a time, so a long range at a small step holds tens
#: of megabytes at once, and a query over ``max_samples`` is refused after one slice.
SLICE_CELLS = 1 << 18

Apply = Callable[[list[StepValue]], StepValue]


def streamed_selector(call: Call) -> MatrixSelector | None:
    """The call's one range-selector argument when the call may be streamed."""
    if call.name == "absent_over_time":
        return None
    found = [a for a in (unwrap_parens(x) for x in call.args) if isinstance(a, MatrixSelector)]
    return found[0] if len(found) == 1 else None


def can_stream(querier: object) -> bool:
    return callable(getattr(querier, "select_partitioned", None))


def eval_streamed(
    ev: Evaluator, call: Call, sel: MatrixSelector, steps: I64, apply: Apply
) -> StepVector | None:
    """``call`` over ``sel`` a piece at a time; ``None`` when the pieces' rows share a
    label set (the caller then evaluates the call whole, for Prometheus' exact merge or
    duplicate error)."""
    args: list[StepValue | None] = [
        None if unwrap_parens(a) is sel else ev._eval_arg(call, a, steps) for a in call.args
    ]
    refs = ev.ref_times(sel.selector.at, sel.selector.offset_ms, steps)
    lo = int(refs.min()) - sel.range_ms if len(refs) else 0
    hi = int(refs.max()) if len(refs) else 0
    acc = _Rows()
    rows = max(1, SLICE_CELLS // max(1, len(steps)))
    for piece in _pieces(ev, sel.selector.matchers, lo, hi, _piece_size(ev)):
        for batch in _row_slices(piece, rows):
            m = range_vector(batch, refs, sel.range_ms)
            out = apply([m if a is None else a for a in args])
            if not isinstance(out, StepVector):
                raise PromQLError(f"function {call.name} returned {type(out).__name__} for a range",
                                  ErrorType.INTERNAL)
            acc.add(m, out)
            ev.ctx.limits.touch(acc.peak)
    ev.ctx.limits.touch(acc.final_peak())
    return acc.result(len(steps))


def _row_slices(batch: SeriesBatch, rows: int) -> Iterator[SeriesBatch]:
    """``batch`` in consecutive slices of at most ``rows`` series."""
    if len(batch) <= rows:
        yield batch
        return
    off = batch.offsets
    for a in range(0, len(batch), rows):
        b = min(a + rows, len(batch))
        lo, hi = int(off[a]), int(off[b])
        yield SeriesBatch(batch.labels[a:b], off[a : b + 1] - lo, batch.timestamps[lo:hi], batch.values[lo:hi])


def _piece_size(ev: Evaluator) -> int:
    """Raw samples per piece: ``PIECE_SAMPLES``, or fewer under a small ``max_samples``, so
    a query over its limit is refused after one small piece, not one 32 MB piece."""
    limits = ev.ctx.limits
    return max(1, min(PIECE_SAMPLES, max(limits.max_samples, 1 << 16)))


def _pieces(ev: Evaluator, matchers: Sequence[Matcher], mint: int, maxt: int, size: int) -> Iterator[SeriesBatch]:
    limits = ev.ctx.limits
    ev.check_select(matchers, mint, maxt)  # refused as a whole select would be
    for batch in ev.ctx.querier.select_partitioned(matchers, mint, maxt, size):  # type: ignore[attr-defined]
        limits.check_time()
        limits.check_load(len(batch.timestamps))
        yield batch


class _Rows:
    """The pieces' outputs, and the samples a series-by-series evaluation would hold
    at its worst (``_eval_samples.matrix_call_peak`` over all pieces)."""

    def __init__(self) -> None:
        self.labels: list[Labels] = []
        self.values: list[np.ndarray] = []
        self.present: list[np.ndarray] = []
        self.held = 0
        self.peak = 0
        self.last = 0

    def add(self, m: StepMatrix, out: StepVector) -> None:
        total = cost(out)
        if m.n and m.starts.shape[1]:
            counts = m.counts
            during = call_peak_during(counts.max(axis=1), out_rows(m.n, out, total), self.held)
            self.peak = max(self.peak, during)
            self.last = int(counts[-1, -1])
        self.held += total
        if out.n:
            self.labels.extend(out.labels)
            self.values.append(out.values)
            self.present.append(out.present)

    def final_peak(self) -> int:
        """``matrix_call_peak`` of the whole call: the worst series, or all outputs
        plus the last series' last window."""
        return max(self.peak, self.held + self.last)

    def result(self, k: int) -> StepVector | None:
        if len(set(self.labels)) != len(self.labels):
            return None
        if not self.labels:
            return StepVector.empty(k)
        if len(self.values) == 1:
            return StepVector(self.labels, self.values[0], self.present[0])
        return StepVector(self.labels, np.concatenate(self.values), np.concatenate(self.present))


def streams(node: Node, querier: object) -> MatrixSelector | None:
    """``streamed_selector`` for a call evaluated over ``querier``, else ``None``."""
    if isinstance(node, Call) and can_stream(querier):
        return streamed_selector(node)
    return None
