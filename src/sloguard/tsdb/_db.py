"""The TSDB: head + WAL + blocks in one data directory, with limits and retention."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from itertools import repeat
from pathlib import Path

import numpy as np

from sloguard.labels import Labels, describe_labels
from sloguard.tsdb._appender import OK, HeadAppender, order_check, record_rejections
from sloguard.tsdb._block import Block, claim_dir
from sloguard.tsdb._blockset import BlockSet
from sloguard.tsdb._cache import FrameCache
from sloguard.tsdb._compact import Compactor
from sloguard.tsdb._gather import Select, prefetch
from sloguard.tsdb._head import Head
from sloguard.tsdb._newseries import NewSeries
from sloguard.tsdb._options import FsyncPolicy, ReplayReport, TSDBOptions, TSDBStats
from sloguard.tsdb._querier import TSDBQuerier
from sloguard.tsdb._records import samples_records
from sloguard.tsdb._replay import replay
from sloguard.tsdb._types import F64, I64, AppendResult, RejectReason, TSDBError
from sloguard.tsdb._wal import WALWriter, fsync_dir, seg_path, segment_numbers, wal_bytes

log = logging.getLogger("sloguard.tsdb")


_LIMIT_REASONS = (RejectReason.SERIES_LIMIT, RejectReason.METRIC_SERIES_LIMIT)


class TSDB:
    """Embedded storage implementing ``Storage``; open with ``TSDB.open(path)``."""

    def __init__(self, path: Path, options: TSDBOptions) -> None:
        self.path = path
        self.options = options
        self.head = Head()
        self.cache = FrameCache(options.decoded_cache_bytes)
        self.blocks: list[Block] = []
        self.replay_report = ReplayReport()
        self.wal_dir = path / "wal"
        self._wal: WALWriter | None = None
        self._closed = False
        self._clock = options.monotonic
        self._appended = 0
        self._rejected: dict[RejectReason, int] = {}
        self._series_created = 0
        self._series_limited = 0
        self._last_sync = 0.0
        self._compactor = Compactor(self)
        self._blockset = BlockSet(path, self.cache)

    @classmethod
    def open(cls, path: str | Path, options: TSDBOptions | None = None) -> TSDB:
        """Open (or create) a data directory: load blocks, replay the WAL."""
        db = cls(Path(path), options or TSDBOptions())
        claim_dir(db.path)
        db.wal_dir.mkdir(exist_ok=True)
        for tmp in db.path.glob("*.tmp"):
            shutil.rmtree(tmp, ignore_errors=True)
        db.reload_blocks(live=False)
        db.head.min_valid_time = max(
            (b.maxt for b in db.blocks if b.source == "head"), default=db.head.min_valid_time
        )
        keep = db.options.wal_keep
        db.replay_report, cp = replay(db.wal_dir, db.head, db._clock, keep() if keep else None)
        if not segment_numbers(db.wal_dir) or segment_numbers(db.wal_dir)[-1] <= cp:
            seg_path(db.wal_dir, cp + 1).touch()
            fsync_dir(db.wal_dir)
        db._wal = WALWriter(db.wal_dir, db.options.wal_segment_bytes, db._clock)
        db._last_sync = db._clock()
        db._log_replay()
        return db

    def _log_replay(self) -> None:
        r = self.replay_report
        if not r.dropped_anything:
            log.info("WAL replayed: %d records, %d samples, %d series in %.3fs",
                     r.records, r.samples, r.series, r.duration_seconds)
            return
        where = "; ".join(
            f"{d.file} bytes {', '.join(f'[{a}, {b})' for a, b in d.ranges) or '(undecodable records)'} "
            f"copied to {d.quarantined_to}" if d.quarantined_to else
            f"{d.file} has samples of series that no record defines (an emptied or missing segment?)"
            for d in r.damage
        )
        what = "WAL corruption found and repaired" if r.corrupted else "WAL tail was torn and was truncated"
        (log.error if r.corrupted else log.warning)(
            "%s: dropped %d bytes, %d records (%d samples known lost, %d of them of series whose "
            "record was lost; a record whose header was damaged hides its count); replayed %d records, %d samples, %d series; every intact record "
            "before and after the damage was kept: %s",
            what, r.dropped_bytes, r.dropped_records, r.dropped_samples, r.orphan_samples,
            r.records, r.samples, r.series, where,
        )

    def reload_blocks(self, live: bool = True) -> None:
        """(Re)load block directories from disk, e.g. after a backfill wrote new ones.

        New blocks are verified in full before they are served; damaged ones (and blocks a
        query found damaged) are quarantined. Safe while queries run: they keep the block
        list they started with. ``live=False`` (on open) also quarantines block
        directories without ``meta.json`` instead of waiting for them.
        """
        with self._compactor.lock:
            blocks = self._blockset.load(list(self.blocks), live)
            with self.head.lock:
                self.blocks = blocks

    # -- Storage -------------------------------------------------------------------
    def appender(self, durable: bool = True) -> HeadAppender:
        """``durable=False`` is for derived data (rule outputs, as Prometheus' rule manager
        appends): the commit is written to the WAL but not fsynced on its own; the next
        durable commit or close syncs it."""
        return HeadAppender(self, durable)

    def querier(self) -> TSDBQuerier:
        return TSDBQuerier(self)

    def prefetch(self, selects: Sequence[Select]) -> int:
        """Read ahead the block series of the leading ``selects`` (matchers, mint, maxt)
        whose data fit in half the decoded-frame cache, decoding each frame they need once
        (``_gather.prefetch``); returns how many selects were covered. Selects made after
        read them from the cache: what a rule cycle over many groups reads is decoded about
        once, not once per group. Results are unchanged (the same entries a select would
        build)."""
        with self.head.lock:
            blocks = list(self.blocks)
        return prefetch(blocks, selects, self.cache.max_bytes // 2)

    def compact(self, now_ms: int | None = None) -> None:
        """Cut head ranges into blocks while the head spans > 1.5 blocks; apply retention."""
        self._compactor.run(now_ms)

    def close(self) -> None:
        """Sync and close the WAL (waits for a running compaction to finish)."""
        with self._compactor.lock, self.head.lock:
            if self._closed:
                return
            self._closed = True
            if self._wal is not None:
                self._wal.close()
            for b in self.blocks:
                b.release()

    def __enter__(self) -> TSDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- commit ----------------------------------------------------------------------
    def _commit(self, groups: list[Labels], sizes: I64 | None, t: I64, v: F64, durable: bool = True) -> AppendResult:
        """Validate, log and store one appender's samples (see ``HeadAppender``).

        Atomic towards the head: new series are validated and their WAL entries encoded
        first (a label set the WAL cannot hold is refused like any invalid one), the
        records are written, and only then do series and samples enter the head. If the
        WAL write fails (``OSError``), nothing of the commit is in the head.
        """
        res = AppendResult()
        head = self.head
        with head.lock:
            if self._closed or self._wal is None:
                raise TSDBError(f"the TSDB at {self.path} is closed; cannot commit")
            new = NewSeries.of(head)
            grefs = self._resolve(groups, sizes, t, res, new)
            ref = grefs if sizes is None else np.repeat(grefs, sizes)
            r, tt, vv = self._in_order(res, new, *self._in_bounds(res, new, ref, t, v))
            sync_to = self._log(new, r, tt, vv, durable)
            new.register()
            group_last = np.flatnonzero(np.append(r[1:] != r[:-1], True)) if len(r) else r
            head.append(r, tt, vv, group_last)
            res.series_added = len(new)
            res.appended = len(r)
            self._count(res)
            span_full = head.maxt - head.mint > self.options.block_duration_ms * 3 // 2
        if sync_to:  # outside the lock: concurrent commits share one fsync
            self._wal.sync_to(sync_to)
        if span_full and self.options.auto_compact:
            try:
                self._compactor.run(None, wait=False)  # another thread may be at it already
            except (OSError, TSDBError) as e:  # the commit itself is durable already
                log.error("compaction after commit failed; will retry: %s", e)
        return res

    def _in_bounds(self, res: AppendResult, new: NewSeries, ref: I64, t: I64, v: F64) -> tuple[I64, I64, F64]:
        """Drop samples of refused series and those older than the head (out of bounds)."""
        head = self.head
        keep = ref >= 0
        oob = keep & (t < head.min_valid_time)
        if oob.any():
            i = int(np.argmax(oob))
            res.reject(RejectReason.OUT_OF_BOUNDS, int(oob.sum()),
                       f"out of bounds: timestamp {int(t[i])} is older than the head's minimum "
                       f"valid time {head.min_valid_time} for series {describe_labels(new.labels_of(int(ref[i])))}")
            keep &= ~oob
        if keep.all():
            return ref, t, v
        idx = np.flatnonzero(keep)
        return ref[idx], t[idx], v[idx]

    def _in_order(self, res: AppendResult, new: NewSeries, ref: I64, t: I64, v: F64) -> tuple[I64, I64, F64]:
        """Group samples by series (stable) and drop out-of-order and duplicate ones."""
        order = np.argsort(ref, kind="stable")
        r, tt, vv = ref[order], t[order], v[order]
        status = order_check(r, tt, vv.view(np.uint64), *new.latest(r))
        if not status.any():
            return r, tt, vv
        record_rejections(res, status, new.labels_of, r, tt)
        acc = np.flatnonzero(status == OK)
        return r[acc], tt[acc], vv[acc]

    def _resolve(self, groups: list[Labels], sizes: I64 | None, t: I64, res: AppendResult, new: NewSeries) -> I64:
        """Series ref per group (-1 = refused); new series are planned in ``new``."""
        head = self.head
        grefs = np.fromiter(map(head.refs.get, groups, repeat(-1)), np.int64, len(groups))
        missing = np.flatnonzero(grefs < 0)
        if not len(missing):
            return grefs
        starts = np.arange(len(groups)) if sizes is None else np.concatenate(([0], np.cumsum(sizes)[:-1]))
        counts = np.ones(len(groups), np.int64) if sizes is None else sizes
        for g in missing.tolist():
            n = int(counts[g])
            if n:
                grefs[g] = self._plan(groups[g], t[int(starts[g]):int(starts[g]) + n], res, new)
        return grefs

    def _plan(self, labels: Labels, t: I64, res: AppendResult, new: NewSeries) -> int:
        """The ref a new series' samples ``t`` go to, or -1 (refused and reported)."""
        head, opts = self.head, self.options
        if labels not in new.refs and int(t.max()) < head.min_valid_time:
            res.reject(RejectReason.OUT_OF_BOUNDS, len(t),
                       f"out of bounds: all samples of new series {describe_labels(labels)} are older "
                       f"than the head's minimum valid time {head.min_valid_time}")
            return -1
        planned = new.plan(labels, opts.max_series, opts.max_series_per_metric)
        if isinstance(planned, int):
            return planned
        res.reject(planned[0], len(t), planned[1])
        if planned[0] in _LIMIT_REASONS:
            self._series_limited += 1
        return -1

    def _log(self, new: NewSeries, r: I64, t: I64, v: F64, durable: bool = True) -> int:
        """Write the commit's WAL records; return the offset to fsync up to (0: none)."""
        assert self._wal is not None
        payloads = new.records()
        if len(r):
            payloads += samples_records(r, t, v)
        if not payloads:
            return 0
        written = self._wal.log(payloads)
        policy = self.options.fsync
        if not durable:
            return 0
        now = self._clock()
        if policy is FsyncPolicy.PER_COMMIT or (
            policy is FsyncPolicy.INTERVAL and (now - self._last_sync) * 1000 >= self.options.fsync_interval_ms
        ):
            self._last_sync = now
            return written
        return 0

    def _count(self, res: AppendResult) -> None:
        self._appended += res.appended
        self._series_created += res.series_added
        for reason, n in res.rejected.items():
            self._rejected[reason] = self._rejected.get(reason, 0) + n

    # -- stats -----------------------------------------------------------------------
    def stats(self) -> TSDBStats:
        head, wal, comp = self.head, self._wal, self._compactor
        blocks = list(self.blocks)
        block_bytes = sum(b.size_bytes for b in blocks)
        block_samples = sum(b.num_samples for b in blocks)
        wb = wal_bytes(self.wal_dir)
        with head.lock:
            empty = head.num_samples == 0
            return TSDBStats(
                head_series=head.num_series, head_samples=head.num_samples,
                head_min_time=None if empty else head.mint, head_max_time=None if empty else head.maxt,
                samples_appended_total=self._appended, samples_rejected=dict(self._rejected),
                series_created_total=self._series_created, series_rejected_by_limit=self._series_limited,
                wal_bytes=wb, wal_segments=len(segment_numbers(self.wal_dir)),
                wal_fsyncs_total=wal.fsyncs if wal else 0,
                wal_fsync_seconds_total=wal.fsync_seconds if wal else 0.0,
                wal_fsync_last_seconds=wal.fsync_last if wal else 0.0,
                compactions_total=comp.count, compaction_seconds_total=comp.seconds,
                compaction_last_seconds=comp.last, blocks=len(blocks), block_samples=block_samples,
                block_bytes=block_bytes, bytes_on_disk=block_bytes + wb,
                bytes_per_sample=block_bytes / block_samples if block_samples else 0.0,
                retention_deleted_blocks_total=comp.deleted,
                wal_corruptions_total=len(self.replay_report.damage),
                wal_replay_records_lost=self.replay_report.dropped_records,
                wal_replay_samples_lost=self.replay_report.dropped_samples,
                blocks_quarantined=len(self._blockset.quarantined),
                quarantined_blocks=tuple(self._blockset.quarantined),
            )
