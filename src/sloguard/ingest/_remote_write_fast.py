"""Vectorised decoding of the common remote-write series shape: labels, then one sample.

Prometheus sends every sample in its own ``TimeSeries`` entry, serialised as the label
fields followed by one ``samples`` field. This module finds that sample at the end of
each entry's bytes, for all entries at once with numpy, and returns where the label part
ends. It only recognises the canonical encodings (``value`` then ``timestamp``, or
``timestamp`` alone when the value is 0); anything else is left to the general path.

Correctness does not rest on the guess alone: the caller accepts a guessed label part
only if it equals a byte string it has verified to consist solely of label fields; then
the sample field must start right after it, and the checks below prove it is exactly
one canonical ``Sample`` reaching the end of the entry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

_TAG_SAMPLES = 0x12  # field 2, length-delimited
_TAG_VALUE = 0x09  # field 1, 64-bit
_TAG_TIMESTAMP = 0x10  # field 2, varint
_J11 = np.arange(11)


@dataclass(frozen=True, slots=True)
class SampleTails:
    """Per entry: ``ok`` if it ends in one canonical sample; then the label part is
    ``entry[:label_len]`` and the sample is (``timestamps``, ``values``)."""

    ok: npt.NDArray[np.bool_]
    label_len: npt.NDArray[np.int64]
    timestamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]


def _at(blob: npt.NDArray[np.uint8], pos: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    return np.take(blob, pos, mode="clip")


def _varint_tail(
    blob: npt.NDArray[np.uint8], ends: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The varint that ends each entry: (well formed, its length k, its value)."""
    last = _at(blob, ends[:, None] - 11 + _J11)  # column c is the byte 11 - c before the end
    ok = (last[:, 10] & 0x80) == 0
    cont = (last[:, 9::-1] & 0x80) != 0  # bytes before the last one, nearest first
    run = np.where(cont.all(axis=1), 10, np.argmin(cont, axis=1))
    k = run + 1
    ok &= k <= 10
    k = np.minimum(k, 10)
    # byte at column c is varint byte j = k - 11 + c (used when 0 <= j < k)
    j = k[:, None] - 11 + _J11
    used = j >= 0
    shifts = (7 * np.maximum(j, 0)).astype(np.uint64)
    low = (last & 0x7F).astype(np.uint64)
    ok &= ~((k == 10) & (last[:, 10] > 1))  # a tenth byte above 1 overflows 64 bits
    val = ((low << shifts) * used).sum(axis=1, dtype=np.uint64)
    return ok, k, val.view(np.int64)


def sample_tails(entries: list[bytes]) -> SampleTails:
    n = len(entries)
    sizes = np.fromiter(map(len, entries), np.int64, n)
    ends = np.cumsum(sizes)
    starts = ends - sizes
    blob = np.frombuffer(b"".join(entries), np.uint8)
    if len(blob) == 0:
        z = np.zeros(n, np.int64)
        return SampleTails(np.zeros(n, np.bool_), z, z, np.zeros(n, np.float64))
    ok, k, ts = _varint_tail(blob, ends)
    vstart = ends - k
    ok &= (sizes >= k + 3) & (_at(blob, vstart - 1) == _TAG_TIMESTAMP)
    # Form A: 0x12 len 0x09 <8 bytes value> 0x10 <varint>
    a_len = vstart - 12
    form_a = (
        (a_len >= starts)
        & (_at(blob, vstart - 10) == _TAG_VALUE)
        & (_at(blob, vstart - 11) == k + 10)
        & (_at(blob, vstart - 12) == _TAG_SAMPLES)
    )
    # Form B (value 0 is omitted): 0x12 len 0x10 <varint>
    b_len = vstart - 3
    form_b = ~form_a & (b_len >= starts) & (_at(blob, vstart - 2) == k + 1) & (
        _at(blob, vstart - 3) == _TAG_SAMPLES
    )
    ok &= form_a | form_b
    vbytes = _at(blob, (vstart - 9)[:, None] + np.arange(8))
    values = np.ascontiguousarray(vbytes).view("<f8").reshape(n)
    values = np.where(form_a, values, 0.0)
    label_len = np.where(form_a, a_len, b_len) - starts
    return SampleTails(ok, label_len, ts, values)
