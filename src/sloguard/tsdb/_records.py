"""WAL record payloads: new series (ref -> labels) and sample batches (refs, t, v)."""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from sloguard.labels import Labels, describe_labels, shorten
from sloguard.tsdb._types import F64, I64, TSDBError

SERIES = 1
SAMPLES = 2

_COUNT = struct.Struct("<BI")
_REF = struct.Struct("<QH")
_NAME = struct.Struct("<H")
_VALUE = struct.Struct("<I")


class RecordError(TSDBError):
    """A WAL record that cannot be decoded (treated like a checksum failure)."""


#: Bounds of a series record's length fields: labels per series and label name bytes
#: (u16), label value bytes (u32); a whole record must fit a WAL frame (``_wal``).
MAX_LABELS = 0xFFFF
MAX_NAME_BYTES = 0xFFFF
MAX_VALUE_BYTES = 0xFFFF_FFFF
MAX_RECORD_BYTES = (1 << 31) - _COUNT.size


def encode_series_entry(ref: int, labels: Labels) -> bytes:
    """One series' part of a series record; ``RecordError`` (naming the series and the
    bound) if the format cannot hold it."""
    if len(labels) > MAX_LABELS:
        raise RecordError(_too_big(labels, f"has {len(labels)} labels", f"{MAX_LABELS} labels per series"))
    parts = [_REF.pack(ref, len(labels))]
    for name, value in labels:
        try:
            nb, vb = name.encode(), value.encode()
        except UnicodeEncodeError as e:
            raise RecordError(f"series {describe_labels(labels)} is not valid UTF-8: {e}") from None
        if len(nb) > MAX_NAME_BYTES:
            raise RecordError(_too_big(labels, f"has a label name of {len(nb)} bytes",
                                       f"{MAX_NAME_BYTES} bytes per label name"))
        if len(vb) > MAX_VALUE_BYTES:
            raise RecordError(_too_big(labels, f"has a label value of {len(vb)} bytes for label {shorten(name)}",
                                       f"{MAX_VALUE_BYTES} bytes per label value"))
        parts += (_NAME.pack(len(nb)), nb, _VALUE.pack(len(vb)), vb)
    entry = b"".join(parts)
    if len(entry) > MAX_RECORD_BYTES:
        raise RecordError(_too_big(labels, f"takes {len(entry)} bytes", f"{MAX_RECORD_BYTES} bytes per record"))
    return entry


def _too_big(labels: Labels, what: str, bound: str) -> str:
    return f"series {describe_labels(labels)} {what}; the WAL's series records hold at most {bound}"


def series_records(entries: Sequence[bytes]) -> list[bytes]:
    """Series records holding ``entries`` (from ``encode_series_entry``), each at most
    ``MAX_RECORD_BYTES`` long."""
    out: list[bytes] = []
    batch: list[bytes] = []
    size = 0
    for e in entries:
        if batch and size + len(e) > MAX_RECORD_BYTES:
            out.append(b"".join([_COUNT.pack(SERIES, len(batch)), *batch]))
            batch, size = [], 0
        batch.append(e)
        size += len(e)
    if batch:
        out.append(b"".join([_COUNT.pack(SERIES, len(batch)), *batch]))
    return out


def encode_series(series: Sequence[tuple[int, Labels]]) -> bytes:
    """One series record (the series must fit: see ``encode_series_entry``)."""
    return b"".join([_COUNT.pack(SERIES, len(series)), *(encode_series_entry(r, ls) for r, ls in series)])


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


#: Samples per samples record (20 bytes each): well below the WAL frame's limit.
SAMPLES_PER_RECORD = 1 << 24


def samples_records(refs: I64, t: I64, v: F64) -> list[bytes]:
    """Samples records for the arrays, at most ``SAMPLES_PER_RECORD`` samples each."""
    step = SAMPLES_PER_RECORD
    return [encode_samples(refs[a:a + step], t[a:a + step], v[a:a + step]) for a in range(0, len(refs), step)]


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
