"""Kahan-Neumaier sums of every window, as Prometheus' ``kahanSumInc`` loops compute them.

Windows are summed sample by sample in window order, so the result is bit-for-bit Go's,
with one numpy step per sample *position* for all windows at once. When there are few but
long windows (rule-style ``[30d]`` ranges at one step) that would be a Python-level loop
per sample, so windows longer than ``EXACT_MAX`` are then cut into blocks of about
``sqrt(length)`` samples: every block is Kahan-summed (all blocks at once), then the blocks' (sum,
compensation) pairs are Kahan-summed per window. The result is as accurate as Go's (within
an ulp or so of the exact sum), with about ``2 * sqrt(length)`` iterations.
"""

from __future__ import annotations

import math

import numpy as np

from sloguard.promql._steps import F64, I64
from sloguard.promql.functions._windows import KahanAcc, Scan

EXACT_MAX = 128
FEW_WINDOWS = 4096


def use_blocks(lens: I64) -> bool:
    """Whether per-position iteration would be dominated by Python overhead."""
    return 0 < lens.shape[0] <= FEW_WINDOWS and int(lens.max()) > EXACT_MAX


def _scan_sums(scan: Scan, arrays: list[F64]) -> list[tuple[F64, F64]]:
    size = scan.starts.shape[0]
    accs = [KahanAcc(size) for _ in arrays]
    longest = int(scan.lens[0]) if size else 0
    neg = -scan.lens
    for j in range(longest):
        a = int(np.searchsorted(neg, -j, side="left"))
        idx = scan.starts[:a] + j
        for arr, acc in zip(arrays, accs, strict=True):
            acc.add(a, arr[idx])
    return [(scan.unsort(acc.s), scan.unsort(acc.c)) for acc in accs]


def window_kahan_sums(starts: I64, lens: I64, arrays: list[F64]) -> list[tuple[F64, F64]]:
    """(sum, compensation) of each window ``arrays[i][start:start+len]`` for every array."""
    if not use_blocks(lens):
        return _scan_sums(Scan.of_ranges(starts, lens), arrays)
    block = int(math.ceil(math.sqrt(float(lens.max()))))
    nblocks = (lens + block - 1) // block
    first_block = np.cumsum(nblocks) - nblocks
    window_of = np.repeat(np.arange(starts.shape[0]), nblocks)
    k = np.arange(int(nblocks.sum())) - first_block[window_of]
    b_starts = starts[window_of] + k * block
    b_lens = np.minimum(block, lens[window_of] - k * block)
    partial = _scan_sums(Scan.of_ranges(b_starts, b_lens), arrays)
    flat = [np.concatenate([s, c]) for s, c in partial]  # block sums, then compensations
    both_starts = first_block
    out = _scan_sums(Scan.of_ranges(both_starts, nblocks), [f[: len(k)] for f in flat])
    comp = _scan_sums(Scan.of_ranges(both_starts, nblocks), [f[len(k) :] for f in flat])
    return [(s, c + cs + cc) for (s, c), (cs, cc) in zip(out, comp, strict=True)]
