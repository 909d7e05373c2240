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


_PAD = 32  # zero bytes in front of the joined entries, so every look-behind is in range
_M7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_STOPS = np.uint64(0x0080808080808080)  # the continuation bits of bytes 0..6


def _words(buf: bytes, dtype: str) -> npt.NDArray[np.generic]:
    """An 8-byte value starting at every byte offset of ``buf`` (unaligned, read-only)."""
    return np.ndarray(shape=(max(len(buf) - 7, 0),), dtype=dtype, buffer=buf, strides=(1,))


def _compact7(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Concatenate the low 7 bits of each of the 8 bytes of ``x`` (little endian)."""
    x = (x & np.uint64(0x007F007F007F007F)) | ((x >> np.uint64(1)) & np.uint64(0x3F803F803F803F80))
    x = (x & np.uint64(0x00003FFF00003FFF)) | ((x >> np.uint64(2)) & np.uint64(0x0FFFC0000FFFC000))
    return (x & np.uint64(0x0FFFFFFF)) | ((x >> np.uint64(4)) & np.uint64(0x00FFFFFFF0000000))


def _short_varint_tail(
    words: npt.NDArray[np.uint64], ends: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Like ``_varint_tail`` for varints of at most 7 bytes, read from the 8 bytes before
    each end: (well formed, k, value, short) where rows with ``short`` False must be
    decoded by ``_varint_tail``."""
    w = words[ends - 8]
    ok = (w >> np.uint64(63)) == 0
    stops = ~w & _STOPS  # bytes 0..6 that end a varint: the last one is the byte before ours
    short = stops != 0
    top = np.frexp(stops.astype(np.float64))[1].astype(np.int64) - 1  # bit 8 * i + 7
    k = 7 - (top - 7) // 8
    k = np.where(short, k, 8)
    val = _compact7((w >> (8 * (8 - k)).astype(np.uint64)) & _M7)
    return ok, k, val.view(np.int64), short


def sample_tails(entries: list[bytes]) -> SampleTails:
    n = len(entries)
    sizes = np.fromiter(map(len, entries), np.int64, n)
    ends = np.cumsum(sizes) + _PAD
    starts = ends - sizes
    buf = bytes(_PAD) + b"".join(entries)
    blob = np.frombuffer(buf, np.uint8)
    if len(blob) == _PAD:
        z = np.zeros(n, np.int64)
        return SampleTails(np.zeros(n, np.bool_), z, z, np.zeros(n, np.float64))
    ok, k, ts, short = _short_varint_tail(_words(buf, "<u8"), ends)  # type: ignore[arg-type]
    if not short.all():
        long_ = ~short
        ok[long_], k[long_], ts[long_] = _varint_tail(blob, ends[long_])
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
    values = np.where(form_a, _words(buf, "<f8")[np.maximum(vstart - 9, 0)], 0.0)
    label_len = np.where(form_a, a_len, b_len) - starts
    return SampleTails(ok, label_len, ts, values)
