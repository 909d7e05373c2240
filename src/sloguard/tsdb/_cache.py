"""A byte-bounded LRU of decoded block frames, shared by all blocks of a TSDB."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from sloguard.tsdb._types import F64, I64
from sloguard.tsdb._vec import BandKey

Key = tuple[str, int | bytes]  # (block ulid, frame number or gathered series ids)


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded frame (read-only arrays) and its search key; series ``first + r`` is
    the key's segment ``r`` (``band`` is None when the frame has no samples or its
    bands would overflow). Also some series gathered from several frames, in the order
    asked for (``first`` 0, ``offsets`` their bounds in ``t``/``v``)."""

    t: I64
    v: F64
    band: BandKey | None
    first: int
    offsets: I64 | None = None

    @property
    def nbytes(self) -> int:
        extra = self.offsets.nbytes if self.offsets is not None else 0
        return self.t.nbytes + self.v.nbytes + (self.band.key.nbytes if self.band else 0) + extra


class FrameCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._d: OrderedDict[Key, Frame] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Key) -> Frame | None:
        with self._lock:
            hit = self._d.get(key)
            if hit is not None:
                self._d.move_to_end(key)
            return hit

    def put(self, key: Key, value: Frame) -> None:
        size = value.nbytes
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._d:
                return
            self._d[key] = value
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, old = self._d.popitem(last=False)
                self._bytes -= old.nbytes

    def drop(self, ulid: str) -> None:
        with self._lock:
            for key in [k for k in self._d if k[0] == ulid]:
                self._bytes -= self._d.pop(key).nbytes
