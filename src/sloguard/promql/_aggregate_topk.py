"""topk/bottomk as Prometheus picks them, ties included.

The vectorised ranking decides every (group, step) where the k-th and (k+1)-th values
differ. Where they tie, which series Prometheus keeps depends on its heap (Go's
``container/heap``) and on input order, and so does the output order of an instant
query; those few columns are replayed here exactly, in Python.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from sloguard.promql._steps import F64, I64, B

#: Upper bound on rows replayed in Python per query; beyond it the vectorised choice stands.
REPLAY_BUDGET = 200_000


class _GoHeap:
    """Go's ``container/heap`` over indices into ``vals`` with Prometheus' ``Less``:
    NaN sorts first, then ascending values (topk, a min-heap) or descending (bottomk)."""

    def __init__(self, vals: list[float], top: bool) -> None:
        self.vals = vals
        self.top = top
        self.h: list[int] = []

    def less(self, i: int, j: int) -> bool:
        a, b = self.vals[self.h[i]], self.vals[self.h[j]]
        if math.isnan(a):
            return True
        return a < b if self.top else a > b

    def push(self, idx: int) -> None:
        self.h.append(idx)
        self._up(len(self.h) - 1)

    def _up(self, j: int) -> None:
        while j > 0:
            i = (j - 1) // 2
            if not self.less(j, i):
                break
            self.h[i], self.h[j] = self.h[j], self.h[i]
            j = i

    def _down(self, i0: int, n: int) -> bool:
        i = i0
        while (j := 2 * i + 1) < n:
            if j + 1 < n and self.less(j + 1, j):
                j += 1
            if not self.less(j, i):
                break
            self.h[i], self.h[j] = self.h[j], self.h[i]
            i = j
        return i > i0

    def replace_top(self, idx: int) -> None:
        """``heap.Pop`` then ``heap.Push``: how Prometheus 2.42 swaps out the worst
        element (checked against the real binary on ties, where it matters)."""
        n = len(self.h) - 1
        self.h[0], self.h[n] = self.h[n], self.h[0]
        self._down(0, n)
        self.h.pop()
        self.push(idx)

    def sorted_desc(self) -> list[int]:
        """``sort.Sort(sort.Reverse(heap))``: Go's insertion sort for small heaps."""
        h = list(self.h)
        vals = self.vals

        def rev_less(a: int, b: int) -> bool:
            x, y = vals[b], vals[a]
            if math.isnan(x):
                return True
            return x < y if self.top else x > y

        for i in range(1, len(h)):
            j = i
            while j > 0 and rev_less(h[j], h[j - 1]):
                h[j], h[j - 1] = h[j - 1], h[j]
                j -= 1
        return h


def replay(vals: list[float], k: int, top: bool) -> list[int]:
    """Positions (into ``vals``, input order) Prometheus keeps, in its output order.

    As 2.42's ``aggregation``: a value enters when the heap is not full, when it beats
    the worst kept value, or when the worst kept value is NaN (even for a NaN).
    """
    heap = _GoHeap(vals, top)
    for idx, v in enumerate(vals):
        if len(heap.h) < k:
            heap.push(idx)
            continue
        cur = vals[heap.h[0]]
        if (cur < v if top else cur > v) or math.isnan(cur):
            if k == 1:
                heap.h[0] = idx
            else:
                heap.replace_top(idx)
    return heap.sorted_desc()


def select(values: F64, present: B, starts: I64, k: I64, top: bool) -> tuple[B, B]:
    """Rows (sorted by group, runs starting at ``starts``) topk/bottomk keeps per step,
    and the (group, step) cells where ties at the k-th place leave the choice to the heap.

    One ``np.partition`` per group finds the k-th best value; rows better than it are in,
    rows equal to it fill the remaining places in input order (a tie when they do not
    all fit). NaN ranks after every number, as in Prometheus.
    """
    n, steps = present.shape
    keep = np.zeros((n, steps), np.bool_)
    ties = np.zeros((len(starts), steps), np.bool_)
    valid = k >= 1
    ends = np.append(starts[1:], n)
    single = (ends - starts) == 1
    keep[starts[single]] = present[starts[single]] & valid[None, :]
    with np.errstate(invalid="ignore"):
        key = -values if top else values.copy()
        key[~present] = np.nan
        for g in np.flatnonzero(~single).tolist():
            a, b = int(starts[g]), int(ends[g])
            keep[a:b], ties[g] = _select_block(key[a:b], values[a:b], present[a:b], k)
    keep &= valid[None, :]
    ties &= valid[None, :]
    return keep, ties


def _select_block(key: F64, values: F64, present: B, k: I64) -> tuple[B, npt.NDArray[np.bool_]]:
    m = key.shape[0]
    kk = np.clip(np.minimum(k, m) - 1, 0, m - 1)
    part = np.partition(key, np.unique(kk), axis=0)
    threshold = part[kk, np.arange(key.shape[1])]
    nan_t = np.isnan(threshold)[None, :]
    less = np.where(nan_t, ~np.isnan(key), key < threshold[None, :])
    equal = np.where(nan_t, present & np.isnan(values), key == threshold[None, :])
    need = np.minimum(k, m) - less.sum(axis=0)
    n_equal = equal.sum(axis=0)
    tie: npt.NDArray[np.bool_] = (n_equal > need) & (need > 0)
    keep: B = present & (less | (equal & (n_equal <= need)[None, :]))
    cols = np.flatnonzero(tie)
    if len(cols):
        # Ties: fill the places in input order (the heap replay may refine this).
        rank = np.cumsum(equal[:, cols], axis=0) - 1
        keep[:, cols] |= present[:, cols] & equal[:, cols] & (rank < need[cols][None, :])
    return keep, tie
