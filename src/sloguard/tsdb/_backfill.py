"""Write blocks directly from historical data (``sloguard import openmetrics``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import numpy as np

from sloguard.labels import InvalidLabelError, Labels, check_labels
from sloguard.tsdb._block import claim_dir, write_block
from sloguard.tsdb._options import DEFAULT_BLOCK_MS
from sloguard.tsdb._types import F64, I64, TSDBError
from sloguard.tsdb._vec import SegPart, concat_segments, fix_overlaps


class BlockWriter:
    """Collects series in any order, then writes block_duration-aligned blocks.

    ``add`` may be called several times for one series (its calls in time order, or
    not: samples are sorted, and a repeated timestamp keeps the first value). Nothing is
    written before ``flush``/``close``; a ``TSDB.open`` on the directory then sees the
    blocks (or call ``TSDB.reload_blocks`` on an open one).
    """

    def __init__(self, path: str | Path, block_duration_ms: int = DEFAULT_BLOCK_MS) -> None:
        self.path = Path(path)
        self.block_duration_ms = block_duration_ms
        claim_dir(self.path)
        self._ids: dict[Labels, int] = {}
        self._labels: list[Labels] = []
        self._calls: list[tuple[I64, I64, F64]] = []
        self.samples = 0
        self.written: list[Path] = []

    def _sid(self, labels: Labels) -> int:
        sid = self._ids.get(labels)
        if sid is None:
            try:
                check_labels(labels)
            except InvalidLabelError as e:
                raise TSDBError(f"cannot backfill series {labels}: {e}") from None
            sid = self._ids[labels] = len(self._labels)
            self._labels.append(labels)
        return sid

    def add(self, labels: Labels, ts: I64, vs: F64) -> None:
        """Add samples of one series."""
        if len(ts) != len(vs):
            raise TSDBError(f"cannot backfill series {labels}: {len(ts)} timestamps but {len(vs)} values")
        sid = self._sid(labels)
        self._calls.append((np.full(len(ts), sid, np.int64), np.asarray(ts, np.int64), np.asarray(vs, np.float64)))
        self.samples += len(ts)

    def add_batch(self, labels: Sequence[Labels], ids: I64, ts: I64, vs: F64) -> None:
        """Add samples of many series at once: sample ``i`` belongs to ``labels[ids[i]]``.

        The fast path for parsers that number their series; only the distinct ids
        of the batch are looked at in Python.
        """
        if not len(ids) == len(ts) == len(vs):
            raise TSDBError(f"cannot backfill: {len(ids)} ids, {len(ts)} timestamps, {len(vs)} values")
        uniq, inverse = np.unique(ids, return_inverse=True)
        sids = np.fromiter((self._sid(labels[i]) for i in uniq.tolist()), np.int64, len(uniq))
        self._calls.append((sids[inverse], np.asarray(ts, np.int64), np.asarray(vs, np.float64)))
        self.samples += len(ts)

    def flush(self) -> list[Path]:
        """Write everything added so far as blocks; return their directories."""
        if not self._calls:
            return []
        sid = np.concatenate([c[0] for c in self._calls])
        t = np.concatenate([c[1] for c in self._calls])
        v = np.concatenate([c[2] for c in self._calls])
        self._calls.clear()
        order_of = sorted(range(len(self._labels)), key=self._labels.__getitem__)
        rank = np.empty(len(self._labels), np.int64)
        rank[np.asarray(order_of, np.int64)] = np.arange(len(self._labels))
        bd = self.block_duration_ms
        blk = t // bd
        b0 = int(blk.min())
        key = (blk - b0) * len(self._labels) + rank[sid]
        uniq, offsets, t, v = _group(key, t, v)
        offsets, t, v = fix_overlaps(offsets, t, v)
        paths = self._write(uniq, offsets, t, v, b0, order_of)
        self.written += paths
        return paths

    def _write(self, keys: I64, offsets: I64, t: I64, v: F64, b0: int, order_of: list[int]) -> list[Path]:
        n = len(self._labels)
        blk = keys // n
        bd = self.block_duration_ms
        bounds = np.flatnonzero(np.diff(blk, prepend=-1) != 0).tolist() + [len(keys)]
        paths = []
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            lo = (int(blk[a]) + b0) * bd
            labels = [self._labels[order_of[int(k % n)]] for k in keys[a:b]]
            sa, sb = int(offsets[a]), int(offsets[b])
            paths.append(write_block(self.path, labels, offsets[a:b + 1] - sa, t[sa:sb], v[sa:sb], lo, lo + bd, "backfill"))
        return paths

    def close(self) -> list[Path]:
        self.flush()
        return self.written

    def __enter__(self) -> BlockWriter:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if et is None:
            self.close()


def _group(key: I64, t: I64, v: F64) -> tuple[I64, I64, I64, F64]:
    """Order samples by key, keeping each key's samples in arrival order.

    Input usually comes as runs (one series' samples in time order); then only the
    runs are sorted and copied out as slices. Interleaved input (many short runs)
    falls back to a stable argsort of every sample.
    """
    brk = np.ones(len(key), bool)
    brk[1:] = (key[1:] != key[:-1]) | (t[1:] <= t[:-1])
    rs = np.flatnonzero(brk)
    if len(rs) * 16 > len(key):
        order = np.argsort(key, kind="stable")
        key, t, v = key[order], t[order], v[order]
        starts = np.flatnonzero(np.diff(key, prepend=np.int64(-1)) != 0)
        return key[starts], np.append(starts, len(key)).astype(np.int64), t, v
    re = np.append(rs[1:], len(key))
    order = np.argsort(key[rs], kind="stable")
    lo, hi, skey = rs[order], re[order], key[rs][order]
    src = SegPart(skey, lo, hi, t, v)
    t, v = concat_segments([src], np.zeros(len(lo), np.int64), lo, hi)
    first = np.flatnonzero(np.diff(skey, prepend=np.int64(-1)) != 0)
    offsets = np.zeros(len(first) + 1, np.int64)
    np.cumsum(np.add.reduceat(hi - lo, first), out=offsets[1:])
    return skey[first], offsets, np.ascontiguousarray(t), np.ascontiguousarray(v)
