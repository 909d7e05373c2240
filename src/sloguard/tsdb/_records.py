"""WAL record payloads: new series (ref -> labels) and sample batches (refs, t, v)."""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from sloguard.labels import Labels
from sloguard.tsdb._types import F64, I64, TSDBError

SERIES = 1
SAMPLES = 2

_COUNT = struct.Struct("<BI")
_REF = struct.Struct("<QH")
_NAME = struct.Struct("<H")
_VALUE = struct.Struct("<I")


class RecordError(TSDBError):
    """A WAL record that cannot be decoded (treated like a checksum failure)."""


def encode_series(series: Sequence[tuple[int, Labels]]) -> bytes:
    parts = [_COUNT.pack(SERIES, len(series))]
    for ref, labels in series:
        parts.append(_REF.pack(ref, len(labels)))
        for name, value in labels:
            nb, vb = name.encode(), value.encode()
            parts += (_NAME.pack(len(nb)), nb, _VALUE.pack(len(vb)), vb)
    return b"".join(parts)


def decode_series(buf: memoryview) -> list[tuple[int, Labels]]:
    try:
        _, count = _COUNT.unpack_from(buf, 0)
        o = _COUNT.size
        out: list[tuple[int, Labels]] = []
        for _ in range(count):
            ref, npairs = _REF.unpack_from(buf, o)
            o += _REF.size
            pairs = []
            for _ in range(npairs):
                (ln,) = _NAME.unpack_from(buf, o)
                name = bytes(buf[o + 2:o + 2 + ln]).decode()
                o += 2 + ln
                (lv,) = _VALUE.unpack_from(buf, o)
                value = bytes(buf[o + 4:o + 4 + lv]).decode()
                o += 4 + lv
                pairs.append((name, value))
            out.append((ref, Labels._sorted_unchecked(tuple(pairs))))
    except (struct.error, UnicodeDecodeError) as e:
        raise RecordError(f"malformed series record: {e}") from None
    if o != len(buf):
        raise RecordError("malformed series record: trailing bytes")
    return out


def encode_samples(refs: I64, t: I64, v: F64) -> bytes:
    n = len(refs)
    return b"".join((
        _COUNT.pack(SAMPLES, n),
        refs.astype(np.uint32).tobytes(),
        t.astype(np.int64).tobytes(),
        v.astype(np.float64).tobytes(),
    ))


def decode_samples(buf: memoryview) -> tuple[I64, I64, F64]:
    _, n = _COUNT.unpack_from(buf, 0)
    o = _COUNT.size
    if len(buf) != o + 20 * n:
        raise RecordError(f"malformed samples record: {len(buf)} bytes for {n} samples")
    refs = np.frombuffer(buf, np.uint32, n, o).astype(np.int64)
    t = np.frombuffer(buf, np.int64, n, o + 4 * n).copy()
    v = np.frombuffer(buf, np.float64, n, o + 12 * n).copy()
    return refs, t, v


def record_type(buf: memoryview) -> int:
    if len(buf) < _COUNT.size:
        raise RecordError("record shorter than its header")
    return int(buf[0])


def samples_in(buf: memoryview) -> int:
    """Sample count of a record (0 for non-sample records), for dropped-data reports."""
    if len(buf) >= _COUNT.size and buf[0] == SAMPLES:
        return int(_COUNT.unpack_from(buf, 0)[1])
    return 0
