"""Remote write 1.0 request bodies: a ``prometheus.WriteRequest`` in protobuf, snappy-compressed.

The samples of a batch are encoded with numpy in one pass (each ``Sample`` is
``0x12 len 0x09 <f64> 0x10 <varint ms>``); each series' labels are encoded once per
series (``encode_labels``, cached by the queue) and joined with its samples. The
messages are those of ``sloguard.ingest._remote_write_proto`` (``prompb``), which tests
decode the bodies with.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import cramjam
import numpy as np

from sloguard.ingest._remote_write_decode import uvarint
from sloguard.ingest._remote_write_proto import MetricMetadata, WriteRequest
from sloguard.labels import Labels
from sloguard.tsdb._types import F64, I64

_U64 = np.uint64


_HEADS = [b"\x0a" + uvarint(n) for n in range(1 << 14)]


def _series_head(n: int) -> bytes:
    """``0x0a <varint n>``: a ``timeseries`` field's tag and length."""
    return _HEADS[n] if n < 16384 else b"\x0a" + uvarint(n)


def _field(tag: int, data: bytes) -> bytes:
    return bytes((tag,)) + uvarint(len(data)) + data


def encode_labels(labels: Labels) -> bytes:
    """The ``labels`` fields of a ``TimeSeries`` (field 1, one ``Label`` each)."""
    return b"".join(map(_label, labels))


@functools.lru_cache(maxsize=1 << 16)
def _label(pair: tuple[str, str]) -> bytes:
    """One ``labels`` field; pairs repeat across series (``job``, metric names), so cached."""
    return _field(0x0A, _field(0x0A, pair[0].encode()) + _field(0x12, pair[1].encode()))


def _varint_lengths(x: np.ndarray) -> np.ndarray:
    n = np.ones(len(x), np.int64)
    for k in range(1, 10):
        n += x >= _U64(1 << (7 * k))
    return n


def _samples_bytes(t: I64, v: F64) -> tuple[np.ndarray, np.ndarray]:
    """Every sample as a ``samples`` field (tag 2), concatenated; and each one's start
    offset (plus the end)."""
    x = t.astype(np.int64).view(_U64)
    lens = _varint_lengths(x)
    if len(lens) and lens.min() == lens.max():  # the usual case: a fixed-width row per sample
        return _fixed_width(x, v, int(lens[0]))
    size = 12 + lens
    starts = np.zeros(len(t) + 1, np.int64)
    np.cumsum(size, out=starts[1:])
    out = np.zeros(int(starts[-1]), np.uint8)
    s = starts[:-1]
    out[s] = 0x12
    out[s + 1] = (10 + lens).astype(np.uint8)
    out[s + 2] = 0x09
    out[(s[:, None] + np.arange(3, 11)).ravel()] = np.ascontiguousarray(v, np.float64).view(np.uint8)
    out[s + 11] = 0x10
    for k in range(10):
        m = lens > k
        if not m.any():
            break
        b = ((x[m] >> _U64(7 * k)) & _U64(0x7F)).astype(np.uint8)
        b |= np.where(lens[m] > k + 1, 0x80, 0).astype(np.uint8)
        out[s[m] + 12 + k] = b
    return out, starts


def _fixed_width(x: np.ndarray, v: F64, width: int) -> tuple[np.ndarray, np.ndarray]:
    """``_samples_bytes`` when every timestamp's varint is ``width`` bytes long."""
    n = len(x)
    out = np.empty((n, 12 + width), np.uint8)
    out[:, 0], out[:, 1], out[:, 2], out[:, 11] = 0x12, 10 + width, 0x09, 0x10
    out[:, 3:11] = np.ascontiguousarray(v, np.float64).view(np.uint8).reshape(n, 8)
    for k in range(width):
        out[:, 12 + k] = ((x >> _U64(7 * k)) & _U64(0x7F)).astype(np.uint8) | (0x80 if k < width - 1 else 0)
    return out.reshape(-1), np.arange(n + 1, dtype=np.int64) * (12 + width)


@dataclass(frozen=True, slots=True)
class EncodedBatch:
    """A compressed request body and what it holds (for the queue's metrics)."""

    body: bytes
    samples: int
    series: int
    max_t: int
    raw_bytes: int


def encode_samples(labels_of: Sequence[bytes | None], refs: I64, t: I64, v: F64) -> EncodedBatch:
    """A compressed ``WriteRequest`` for the samples (``refs`` index ``labels_of``, whose
    entries are encoded label fields; ``None`` entries, dropped series, must not be
    referenced). Samples of one series keep their order."""
    order = np.argsort(refs, kind="stable")
    refs, t, v = refs[order], t[order], v[order]
    buf, starts = _samples_bytes(t, v)
    cuts = np.flatnonzero(np.diff(refs)) + 1
    firsts = np.concatenate(([0], cuts)).astype(np.int64)
    ends = np.concatenate((cuts, [len(refs)])).astype(np.int64)
    # every step per series runs in C (map, zip, join): no Python bytecode per series
    lbs: list[bytes] = list(map(labels_of.__getitem__, refs[firsts].tolist()))  # type: ignore[arg-type]
    a, b = starts[firsts], starts[ends]
    sizes = (np.fromiter(map(len, lbs), np.int64, len(lbs)) + (b - a)).tolist()
    heads = list(map(_series_head, sizes)) if max(sizes, default=0) >= len(_HEADS) else list(
        map(_HEADS.__getitem__, sizes))
    samples = buf.tobytes()  # slicing bytes is cheaper than slicing a memoryview
    slices = list(map(samples.__getitem__, map(slice, a.tolist(), b.tolist())))
    raw = b"".join(chain.from_iterable(zip(heads, lbs, slices, strict=True)))
    return EncodedBatch(compress(raw), len(refs), len(firsts), int(t.max()) if len(t) else 0, len(raw))


def compress(raw: bytes) -> bytes:
    """Snappy block format, as remote write 1.0 requires."""
    return bytes(cramjam.snappy.compress_raw(raw))


@dataclass(frozen=True, slots=True)
class Metadata:
    """One metric family's metadata (``type`` is Prometheus' lowercase type name)."""

    family: str
    type: str
    help: str = ""
    unit: str = ""


_TYPES = {"unknown": 0, "counter": 1, "gauge": 2, "histogram": 3, "gaugehistogram": 4, "summary": 5,
          "info": 6, "stateset": 7}


def encode_metadata(items: Sequence[Metadata]) -> EncodedBatch:
    """A compressed ``WriteRequest`` holding only metadata."""
    req = WriteRequest()
    for m in items:
        req.metadata.add(type=_TYPES.get(m.type.lower(), 0), metric_family_name=m.family, help=m.help, unit=m.unit)
    raw = req.SerializeToString()
    return EncodedBatch(compress(raw), len(items), 0, 0, len(raw))


__all__ = ["EncodedBatch", "Metadata", "MetricMetadata", "encode_labels", "encode_metadata", "encode_samples"]
