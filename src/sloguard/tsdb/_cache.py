"""A byte-bounded LRU of decoded block frames, shared by all blocks of a TSDB."""

from __future__ import annotations

import threading
from collections import OrderedDict

from sloguard.tsdb._types import F64, I64

Key = tuple[str, int]


class FrameCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._d: OrderedDict[Key, tuple[I64, F64]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Key) -> tuple[I64, F64] | None:
        with self._lock:
            hit = self._d.get(key)
            if hit is not None:
                self._d.move_to_end(key)
            return hit

    def put(self, key: Key, value: tuple[I64, F64]) -> None:
        size = value[0].nbytes + value[1].nbytes
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._d:
                return
            self._d[key] = value
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (t, v) = self._d.popitem(last=False)
                self._bytes -= t.nbytes + v.nbytes

    def drop(self, ulid: str) -> None:
        with self._lock:
            for key in [k for k in self._d if k[0] == ulid]:
                t, v = self._d.pop(key)
                self._bytes -= t.nbytes + v.nbytes
