"""Sample accounting against ``max_samples``, following Prometheus 2.42's evaluator.

Prometheus counts the samples it holds in memory (``currentSamples``) and fails a query
whose count would exceed ``--query.max-samples``. The evaluator here works on whole
arrays, so it reproduces the count from the arrays instead of incrementing it sample by
sample; the peaks match what 2.42 reports as ``peakSamples`` (checked against the real
binary with ``stats=all``):

* every node keeps its result (all points of all steps) until its parent is done; a
  scalar holds one sample per step;
* a node evaluated step by step (``rangeEval``: operators, aggregations, functions without
  a range argument) also holds, at step ``j``, its inputs at ``j`` and its outputs so far;
* a function over a range vector streams series by series: it holds its outputs so far
  and the current series' window, never the whole matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sloguard.promql._steps import I64, StepMatrix, StepScalar, StepValue, StepVector


def cost(value: StepValue) -> int:
    """Samples a finished value holds."""
    match value:
        case StepVector():
            return int(np.count_nonzero(value.present))
        case StepScalar():
            return len(value.values)
        case StepMatrix():
            return len(value.timestamps)
    return 0


def _per_step(value: StepValue | None, k: int) -> I64:
    match value:
        case StepVector():
            counts: I64 = value.present.sum(axis=0)
            return counts
        case StepScalar():
            return np.ones(k, np.int64)
    return np.zeros(k, np.int64)


def _held(value: StepValue | None) -> int:
    """``_per_step(value, 1)[0]``."""
    if isinstance(value, StepVector):
        return int(np.count_nonzero(value.present))
    return 1 if isinstance(value, StepScalar) else 0


def range_eval_peak(args: Sequence[StepValue | None], result: StepValue, k: int) -> int:
    """Extra samples held at the worst step of a step-by-step node (beyond its children)."""
    if k == 0:
        return 0
    if k == 1:  # an instant query: the one step is the worst
        return sum(_held(a) for a in args) + _held(result)
    inputs = sum((_per_step(a, k) for a in args), np.zeros(k, np.int64))
    outputs = np.cumsum(_per_step(result, k))
    return int((outputs + inputs).max())


def matrix_call_peak(m: StepMatrix, result: StepValue) -> int:
    """Extra samples held while a function streams over the series of ``m``."""
    out_total = cost(result)
    if m.n == 0 or m.starts.shape[1] == 0:
        return out_total
    counts = m.counts
    return call_peak(counts.max(axis=1), out_rows(m.n, result, out_total), int(counts[-1, -1]))


def out_rows(n: int, result: StepValue, out_total: int) -> I64:
    """The output samples of each of ``n`` input series (all at the last when the
    function's rows are not its inputs')."""
    if isinstance(result, StepVector) and result.n == n:
        rows: I64 = result.present.sum(axis=1)
        return rows
    rows = np.zeros(n, np.int64)
    rows[-1] = out_total
    return rows


def call_peak(row_max: I64, rows: I64, last_count: int) -> int:
    """The worst of, for each series, its largest window plus the outputs of the series
    before it, and all outputs plus the last series' last window."""
    return max(call_peak_during(row_max, rows), int(rows.sum()) + last_count)


def call_peak_during(row_max: I64, rows: I64, held: int = 0) -> int:
    """For each series, its largest window plus the outputs before it (``held`` of them
    from series before these): the worst."""
    before = np.cumsum(rows) - rows + held
    return int((before + row_max).max())
