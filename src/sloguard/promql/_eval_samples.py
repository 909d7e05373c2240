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
    if isinstance(result, StepVector) and result.n == m.n:
        out_rows = result.present.sum(axis=1)
    else:
        out_rows = np.zeros(m.n, np.int64)
        out_rows[-1] = out_total
    before = np.cumsum(out_rows) - out_rows
    during = int((before + counts.max(axis=1)).max())
    return max(during, out_total + int(counts[-1, -1]))
