"""topk/bottomk as Prometheus picks them, ties included.

The vectorised ranking decides every (group, step) where the k-th and (k+1)-th values
differ. Where they tie, which series Prometheus keeps depends on its heap (Go's
``container/heap``) and on input order, and so does the output order of an instant
query; those few columns are replayed here exactly, in Python.
"""

from __future__ import annotations

import math

import numpy as np

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


def boundary_ties(sorted_vals: F64, counts: I64, starts: I64, k: I64) -> B:
    """(group, step) where the k-th and (k+1)-th best present values are equal (or both NaN)."""
    n = sorted_vals.shape[0]
    kk = np.broadcast_to(k[None, :], counts.shape)
    need = (counts > kk) & (kk >= 1)
    a = np.clip(starts[:, None] + kk - 1, 0, max(n - 1, 0))
    b = np.clip(starts[:, None] + kk, 0, max(n - 1, 0))
    cols = np.arange(counts.shape[1])[None, :]
    va, vb = sorted_vals[a, cols], sorted_vals[b, cols]
    same: B = (va == vb) | (np.isnan(va) & np.isnan(vb))
    return need & same
