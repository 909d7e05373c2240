"""Alertmanager's label-set fingerprint (``model.LabelSet.Fingerprint``): FNV-1a 64 over
``name 0xff value 0xff`` for each label in name order.

The byte loop is slow in Python (several µs a label set), so a batch of label sets (a
``POST /api/v2/alerts`` body) is hashed at once with numpy: the sets' bytes stand in the
rows of one matrix, longest first, and each column is folded into every row still that
long, so the loop runs once per byte position instead of once per byte.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["fingerprint", "fingerprints"]

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_MASK = (1 << 64) - 1
_SEP = b"\xff"
#: Fewer sets than this are hashed one by one (numpy's set-up costs more than it saves).
_BATCH_MIN = 8


def fingerprint(labels: Iterable[tuple[str, str]]) -> int:
    """The fingerprint of one label set; the empty set hashes to the FNV offset basis, as
    in prometheus/common. A tuple of pairs (a ``Labels``) is remembered: an alert's labels
    are fingerprinted several times on their way (the API, the store, the muters)."""
    if isinstance(labels, tuple):
        return _fingerprint_tuple(labels)
    return _fnv(_bytes(sorted(labels)))


@functools.lru_cache(maxsize=1 << 16)
def _fingerprint_tuple(labels: tuple[tuple[str, str], ...]) -> int:
    return _fnv(_bytes(sorted(labels)))


def fingerprints(label_sets: Sequence[Sequence[tuple[str, str]]]) -> list[int]:
    """:func:`fingerprint` of each label set, each given sorted by name (a ``Labels``)."""
    if len(label_sets) < _BATCH_MIN:
        return [_fnv(_bytes(s)) for s in label_sets]
    data = [_bytes(s) for s in label_sets]
    order = sorted(range(len(data)), key=lambda i: len(data[i]), reverse=True)
    lengths = [len(data[i]) for i in order]
    width = lengths[0]
    if width == 0:
        return [_FNV_OFFSET] * len(data)
    rows = b"".join([data[i].ljust(width, b"\0") for i in order])
    columns = np.frombuffer(rows, np.uint8).reshape(len(data), width).T.astype(np.uint64)
    h = np.full(len(data), _FNV_OFFSET, np.uint64)
    prime = np.uint64(_FNV_PRIME)
    live = len(data)  # rows at least as long as the column (sorted longest first)
    for j in range(width):
        while lengths[live - 1] <= j:
            live -= 1
        head = h[:live]  # a view: folded in place, wrapping at 64 bits as Go's uint64 does
        head ^= columns[j, :live]
        head *= prime
    out = [0] * len(data)
    for row, i in enumerate(order):
        out[i] = int(h[row])
    return out


def _bytes(pairs: Iterable[tuple[str, str]]) -> bytes:
    """``name 0xff value 0xff`` of each pair, in the order given (UTF-8; a string that is
    not valid UTF-8 raises, as it did for the byte loop)."""
    return b"".join([n.encode() + _SEP + v.encode() + _SEP for n, v in pairs])


def _fnv(data: bytes) -> int:
    h = _FNV_OFFSET
    for byte in data:
        h = ((h ^ byte) * _FNV_PRIME) & _MASK
    return h
