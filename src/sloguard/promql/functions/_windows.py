"""The windows of a range vector, flattened for vectorised evaluation.

A ``StepMatrix`` has one window per (series, step). ``Windows`` selects the windows that
hold at least ``min_count`` samples and offers three vectorised access patterns:

* first/last samples (``first``, ``last``) for rate-like functions;
* ``reduceat`` over the concatenation of all windows (``np.fmax.reduceat`` and friends);
* ``scan``: iterate over the *position inside the window* (0, 1, 2, ...) while updating
  the state of every window at once, for the sequential algorithms Prometheus uses
  (Kahan sums, running means, Holt-Winters). The loop runs as many times as the longest
  window has samples, never once per step or per series.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sloguard.promql._steps import F64, I64, B, StepMatrix


@dataclass(frozen=True, slots=True)
class Windows:
    """Selected windows of ``matrix``; per-window arrays have one entry per selected window."""

    matrix: StepMatrix
    mask: B  #: (n, k): which windows are selected
    starts: I64  #: absolute index of the first sample
    lens: I64  #: samples in the window
    steps: I64  #: step index of the window (column in the (n, k) grid)

    @classmethod
    def of(cls, m: StepMatrix, min_count: int = 1) -> Windows:
        mask = m.counts >= min_count
        _, cols = np.nonzero(mask)
        return cls(m, mask, m.starts[mask], m.counts[mask], cols.astype(np.int64, copy=False))

    @property
    def size(self) -> int:
        return int(self.starts.shape[0])

    @property
    def first(self) -> I64:
        return self.starts

    @property
    def last(self) -> I64:
        return self.starts + self.lens - 1

    def range_bounds(self) -> tuple[I64, I64]:
        """(range start, range end) in ms per window."""
        end = self.matrix.window_ends[self.steps]
        return end - self.matrix.range_ms, end

    def scatter(self, values: F64, keep: B | None = None) -> tuple[F64, B]:
        """Per-window results back onto the (n, k) grid (``keep`` drops some windows)."""
        out = np.zeros(self.mask.shape, np.float64)
        present = self.mask.copy()
        out[self.mask] = values
        if keep is not None:
            present[self.mask] = keep
        return out, present

    def gather(self) -> tuple[I64, I64]:
        """(flat sample indices of all windows concatenated, segment start of each window)."""
        seg = np.zeros(self.size, np.int64)
        if self.size > 1:
            np.cumsum(self.lens[:-1], out=seg[1:])
        total = int(self.lens.sum())
        idx = np.arange(total, dtype=np.int64) - np.repeat(seg - self.starts, self.lens)
        return idx, seg

    def idempotent_reduce(self, ufunc: np.ufunc, per_sample: F64) -> F64:
        """``ufunc`` over each window for an idempotent, associative ``ufunc`` (``fmax``,
        ``fmin``) via a sparse table: level ``k`` holds the reduction of ``2**k`` samples
        starting at each index, and a window is two overlapping blocks of one level. Time
        ``O(samples * log(longest window))``, memory one level at a time."""
        out = np.empty(self.size, np.float64)
        if self.size == 0:
            return out
        level_of = np.floor(np.log2(self.lens)).astype(np.int64)
        level = np.asarray(per_sample, np.float64)
        for k in range(int(level_of.max()) + 1):
            if k:
                half = 1 << (k - 1)
                level = ufunc(level[:-half], level[half:]) if level.shape[0] > half else level[:0]
            sel = np.flatnonzero(level_of == k)
            if sel.size:
                s, width = self.starts[sel], 1 << k
                out[sel] = ufunc(level[s], level[s + self.lens[sel] - width])
        return out

    def chunks(self, max_samples: int = 1 << 21) -> Iterator[Windows]:
        """The selected windows in consecutive groups of at most ``max_samples`` samples
        (one window may exceed it alone), to bound memory of gather-based functions."""
        ends = np.cumsum(self.lens)
        lo = 0
        while lo < self.size:
            base = int(ends[lo - 1]) if lo else 0
            hi = max(lo + 1, int(np.searchsorted(ends, base + max_samples, side="right")))
            yield Windows(self.matrix, self.mask, self.starts[lo:hi], self.lens[lo:hi], self.steps[lo:hi])
            lo = hi


@dataclass(frozen=True, slots=True)
class Scan:
    """Windows sorted by length, longest first, for position-by-position algorithms."""

    order: I64
    starts: I64
    lens: I64

    @classmethod
    def of(cls, w: Windows) -> Scan:
        return cls.of_ranges(w.starts, w.lens)

    @classmethod
    def of_ranges(cls, starts: I64, lens: I64) -> Scan:
        order = np.argsort(-lens, kind="stable")
        return cls(order, starts[order], lens[order])

    def positions(self, per_sample: F64, first: int = 0) -> Iterator[tuple[int, int, F64]]:
        """Yield ``(j, a, x)`` for positions ``j >= first``: the ``a`` longest windows have
        a sample at position ``j`` and ``x`` holds those samples (sorted order)."""
        neg = -self.lens
        longest = int(self.lens[0]) if self.lens.shape[0] else 0
        for j in range(first, longest):
            a = int(np.searchsorted(neg, -j, side="left"))
            yield j, a, per_sample[self.starts[:a] + j]

    def unsort(self, sorted_values: npt.NDArray[np.float64]) -> F64:
        out = np.empty_like(sorted_values)
        out[self.order] = sorted_values
        return out


def kahan_inc(inc: F64, s: F64, c: F64) -> tuple[F64, F64]:
    """Vectorised step of Prometheus' ``kahanSumInc`` (Neumaier). The rounding error of
    ``s + inc`` is computed with Knuth's branch-free TwoSum, which yields the same exact
    error as Neumaier's two branches (and NaN/Inf where they give NaN/Inf; final sums agree)."""
    t = s + inc
    z = t - s
    err = (s - (t - z)) + (inc - z)
    return t, c + err


class KahanAcc:
    """Kahan-Neumaier accumulators for many windows, updated in place (no temporaries:
    preallocated scratch buffers), for the ``a`` first windows of a ``Scan``."""

    __slots__ = ("s", "c", "_t", "_z", "_u")

    def __init__(self, size: int) -> None:
        self.s, self.c = np.zeros(size), np.zeros(size)
        self._t, self._z, self._u = np.empty(size), np.empty(size), np.empty(size)

    def add(self, a: int, x: F64) -> None:
        s, c, t, z, u = self.s[:a], self.c[:a], self._t[:a], self._z[:a], self._u[:a]
        np.add(s, x, out=t)
        np.subtract(t, s, out=z)
        np.subtract(t, z, out=u)
        np.subtract(s, u, out=u)
        np.subtract(x, z, out=z)
        np.add(u, z, out=u)
        np.add(c, u, out=c)
        s[...] = t
