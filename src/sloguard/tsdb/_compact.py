"""Head -> block compaction, WAL checkpointing, and retention by time and size."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from sloguard.tsdb._block import Block, remove_block, write_block
from sloguard.tsdb._head import Head, HeadData
from sloguard.tsdb._merge import merge_ranges, pick_group, write_merged
from sloguard.tsdb._records import encode_samples, encode_series_entry, series_records
from sloguard.tsdb._vec import ranges_index, seg_search
from sloguard.tsdb._wal import wal_bytes, write_checkpoint

if TYPE_CHECKING:
    from sloguard.tsdb._db import TSDB

log = logging.getLogger("sloguard.tsdb")
_CHECKPOINT_CHUNK = 1 << 20


def sort_by_labels(data: HeadData) -> HeadData:
    order = sorted(range(len(data.labels)), key=data.labels.__getitem__)
    o = np.asarray(order, np.int64)
    idx, offs = ranges_index(data.offsets[:-1][o], data.offsets[1:][o]) if len(o) else (o, data.offsets)
    return HeadData([data.labels[i] for i in order], offs, data.t[idx], data.v[idx])


def head_records(head: Head) -> Iterator[bytes]:
    """The whole head as WAL records (series, then samples in chunks): a checkpoint's content."""
    head.fold()
    if head.num_series:  # split so that no record exceeds the WAL's frame limit
        yield from series_records([encode_series_entry(r, ls) for r, ls in enumerate(head.labels)])
    refs = np.repeat(np.arange(len(head.f_off) - 1, dtype=np.int64), np.diff(head.f_off))
    for a in range(0, len(refs), _CHECKPOINT_CHUNK):
        b = a + _CHECKPOINT_CHUNK
        yield encode_samples(refs[a:b], head.f_t[a:b], head.f_v[a:b])


class Compactor:
    def __init__(self, db: TSDB) -> None:
        self.db = db
        self.lock = threading.Lock()
        self.count = 0
        self.seconds = 0.0
        self.last = 0.0
        self.deleted = 0

    def run(self, now_ms: int | None, wait: bool = True) -> None:
        """Cut blocks and apply retention; with ``wait=False`` skip if already running."""
        if not self.lock.acquire(blocking=wait):
            return
        try:
            while self._cut_one():
                pass
            while self._merge_one():
                pass
            self._retention(now_ms)
        finally:
            self.lock.release()

    def _cut_one(self) -> bool:
        db, head = self.db, self.db.head
        bd = db.options.block_duration_ms
        with head.lock:
            if db._closed or head.num_samples == 0 or head.maxt - head.mint <= bd * 3 // 2:
                return False
            start = self.db._clock()
            lo = (head.mint // bd) * bd
            boundary = lo + bd
            head.min_valid_time = max(head.min_valid_time, boundary)  # freeze the range
            head.fold()
            snap = head.snapshot()
            labels = list(head.labels)
        starts, ends = snap.f_off[:-1], snap.f_off[1:]
        split = seg_search(snap.f_t, starts, ends, boundary)
        has = np.flatnonzero(split > starts)
        idx, offs = ranges_index(starts[has], split[has])
        data = sort_by_labels(HeadData([labels[r] for r in has.tolist()], offs, snap.f_t[idx], snap.f_v[idx]))
        path = write_block(db.path, data.labels, data.offsets, data.t, data.v, lo, boundary, "head")
        block = Block(path, db.cache)
        with head.lock:
            db.blocks = sorted([*db.blocks, block], key=lambda b: (b.mint, b.maxt, b.ulid))
            head.cut(boundary)
            self._checkpoint()
            took = self.db._clock() - start
        self.count += 1
        self.seconds += took
        self.last = took
        log.info("compacted head range [%d, %d) into block %s: %d series, %d samples in %.3fs",
                 lo, boundary, block.ulid, len(data.labels), len(data.t), took)
        return True

    def _merge_one(self) -> bool:
        db, opts = self.db, self.db.options
        ranges = merge_ranges(opts.block_duration_ms, opts.max_block_duration_ms, opts.retention_ms)
        picked = pick_group(list(db.blocks), ranges, db.head.min_valid_time) if ranges else None
        if picked is None or db._closed:
            return False
        group, mint, maxt = picked
        start = db._clock()
        block = Block(write_merged(db.path, group, mint, maxt), db.cache)
        with db.head.lock:
            db.blocks = sorted([*(b for b in db.blocks if b not in group), block], key=lambda b: (b.mint, b.maxt, b.ulid))
        for b in group:
            b.release()
            remove_block(b.path)
        took = db._clock() - start
        self.count += 1
        self.seconds += took
        self.last = took
        log.info("merged %d blocks into %s [%d, %d) in %.3fs", len(group), block.ulid, mint, maxt, took)
        return True

    def _checkpoint(self) -> None:
        """Write the whole (truncated) head as a checkpoint; drop older WAL segments."""
        wal = self.db._wal
        if wal is None:
            return
        upto = wal.segment
        wal.cut()
        keep = self.db.options.wal_keep
        write_checkpoint(self.db.wal_dir, upto, head_records(self.db.head), keep() if keep else None)

    def _retention(self, now_ms: int | None) -> None:
        db = self.db
        opts = db.options
        blocks = list(db.blocks)
        if not blocks:
            return
        drop: list[Block] = []
        if opts.retention_ms:
            if now_ms is None:
                now_ms = max(max(b.maxt for b in blocks), db.head.maxt)
            drop += [b for b in blocks if b.maxt <= now_ms - opts.retention_ms]
        if opts.retention_bytes:
            keep = sorted((b for b in blocks if b not in drop), key=lambda b: (b.mint, b.maxt, b.ulid))
            total = sum(b.size_bytes for b in keep) + wal_bytes(db.wal_dir)
            while keep and total > opts.retention_bytes:
                b = keep.pop(0)
                drop.append(b)
                total -= b.size_bytes
        if not drop:
            return
        with db.head.lock:
            db.blocks = [b for b in db.blocks if b not in drop]
        for b in drop:
            b.release()
            remove_block(b.path)
            self.deleted += 1
            log.info("retention removed block %s [%d, %d)", b.ulid, b.mint, b.maxt)
