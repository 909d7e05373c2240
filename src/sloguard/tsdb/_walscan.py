"""Reading one WAL segment, resynchronising after damage.

A frame is ``u32 payload length | u32 crc32(payload) | payload`` and a payload starts
with a record header (``u8 type | u32 count``, see ``_records``). When a frame is torn or
fails its checksum, the reader does not give up on the rest of the file: it looks for
the next offset where a whole frame starts, checks it and carries on, so one flipped
byte costs one record, not the segment and everything after it.

A candidate offset must hold a length that fits in the file, a known record type and,
for a samples record, a length that agrees with its sample count (``5 + 20 * count``);
only then is its CRC32 computed. A random match needs all of these and a 1 in 2**32
checksum collision, which is the same trust every frame of the WAL gets anyway.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sloguard.tsdb._records import SAMPLES, SERIES, samples_in

_FRAME = struct.Struct("<II")
_HEADER = 5  # u8 type | u32 count
_MAX_RECORD = 1 << 31
_WINDOW = 1 << 20  # candidate offsets examined per vectorised step
_MIN_FRAME = 8 + _HEADER + 10  # the smallest record: one series entry (u64 ref, u16 pairs)
_LOOKAHEAD = 8 + _HEADER + 8  # header bytes examined beyond a candidate offset


@dataclass(frozen=True, slots=True)
class Damage:
    """Bytes ``[start, end)`` of a WAL file that hold no readable record.

    ``samples`` counts the samples of the damaged record when its header survived (a
    lower bound of what was lost: a damaged header hides its count). ``torn`` means the
    damage is a record cut short by the end of the file (a write interrupted by a crash),
    not bytes that changed.
    """

    start: int
    end: int
    samples: int
    torn: bool


@dataclass(slots=True)
class SegmentScan:
    """The intact records of one WAL file, in order, and the damaged ranges between them."""

    path: Path
    records: list[memoryview]
    size: int
    damage: list[Damage] = field(default_factory=list)

    @property
    def damaged_bytes(self) -> int:
        return sum(d.end - d.start for d in self.damage)

    @property
    def torn_only(self) -> bool:
        """Only a torn last record: what a crash mid-write leaves, nothing changed."""
        return len(self.damage) == 1 and self.damage[0].torn


def read_frame(data: memoryview, o: int) -> memoryview | None:
    """The payload of the frame at ``o`` if it is whole and its checksum matches."""
    if o + _FRAME.size > len(data):
        return None
    length, crc = _FRAME.unpack_from(data, o)
    end = o + _FRAME.size + length
    if length == 0 or length > _MAX_RECORD or end > len(data):
        return None
    payload = data[o + _FRAME.size:end]
    return payload if zlib.crc32(payload) == crc else None


def scan_segment(path: Path) -> SegmentScan:
    """Every intact record of ``path``; damaged ranges are skipped and described."""
    data = memoryview(path.read_bytes())
    scan = SegmentScan(path, [], len(data))
    o = 0
    while o < len(data):
        payload = read_frame(data, o)
        if payload is not None:
            scan.records.append(payload)
            o += _FRAME.size + len(payload)
            continue
        nxt = resync(data, o + 1)
        scan.damage.append(Damage(o, nxt, _damaged_samples(data, o, nxt), _is_torn(data, o, nxt)))
        o = nxt
    return scan


def _is_torn(data: memoryview, o: int, nxt: int) -> bool:
    if nxt != len(data):
        return False
    if o + _FRAME.size > len(data):
        return True
    return o + _FRAME.size + int(_FRAME.unpack_from(data, o)[0]) > len(data)


def _damaged_samples(data: memoryview, o: int, nxt: int) -> int:
    """The sample count of the damaged record at ``o`` if its header is believable."""
    if o + _FRAME.size + _HEADER > nxt:
        return 0
    length = int(_FRAME.unpack_from(data, o)[0])
    payload = data[o + _FRAME.size:o + _FRAME.size + _HEADER]
    n = samples_in(payload)
    return n if payload[0] == SAMPLES and length == _HEADER + 20 * n and o + _FRAME.size + length <= nxt else 0


def resync(data: memoryview, start: int) -> int:
    """The first offset ``>= start`` where a whole, checksummed frame starts (or the end)."""
    size = len(data)
    arr = np.frombuffer(data, np.uint8)
    pos = start
    while pos + _MIN_FRAME <= size:
        stop = min(size - _MIN_FRAME + 1, pos + _WINDOW)
        for p in _candidates(arr, pos, stop).tolist():
            if read_frame(data, p) is not None:
                return int(p)
        pos = stop
    return size


def _candidates(arr: np.ndarray, pos: int, stop: int) -> np.ndarray:
    """Offsets in ``[pos, stop)`` whose frame and record headers look like ours: a length
    that fits, and a samples record whose length matches its count, or a series record
    whose first ref fits in 32 bits and whose count fits in its length. Only these get
    their CRC computed, so scanning damaged bytes stays fast."""
    n = stop - pos
    w = arr[pos:stop + _LOOKAHEAD].astype(np.uint64)
    if len(w) < n + _LOOKAHEAD:
        w = np.concatenate([w, np.zeros(n + _LOOKAHEAD - len(w), np.uint64)])

    def u32(at: int) -> np.ndarray:
        return w[at:at + n] | (w[at + 1:at + 1 + n] << 8) | (w[at + 2:at + 2 + n] << 16) | (w[at + 3:at + 3 + n] << 24)

    length = u32(0)
    kind = w[_FRAME.size:_FRAME.size + n]
    count = u32(_FRAME.size + 1)
    offs = np.arange(pos, stop, dtype=np.uint64)
    fits = offs + _FRAME.size + length <= len(arr)
    samples = (kind == SAMPLES) & (count > 0) & (length == _HEADER + 20 * count)
    ref_high = u32(_FRAME.size + _HEADER + 4)
    series = (kind == SERIES) & (count > 0) & (count * 10 <= length - _HEADER) & (ref_high == 0) & (length > _HEADER)
    return np.flatnonzero(fits & (samples | series)) + pos
