"""Rebuild the head from the WAL on open, keeping every intact record around damage.

Each file is read with ``scan_segment``, which skips a damaged range and resumes at the
next whole, checksummed frame, so records after the damage and every later segment are
kept. A samples record whose series record was lost refers to a ref nobody defined: its
samples are counted as lost (``orphan_samples``), never attached to another series.

Repair never deletes damaged bytes. A torn last record (a crash mid-write) is copied to
``<data>/quarantine/wal`` and cut off, as before. Any other damage means records the
head no longer agrees with (and possibly orphaned samples), so each damaged file is
copied whole to the quarantine and the replayed head is written as a checkpoint that
replaces every segment: the next open reads clean files and reports nothing twice.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sloguard.tsdb._compact import head_records
from sloguard.tsdb._head import Head
from sloguard.tsdb._options import ReplayReport, WALDamage
from sloguard.tsdb._quarantine import quarantine_wal_file
from sloguard.tsdb._records import (
    SAMPLES,
    SERIES,
    RecordError,
    decode_samples,
    decode_series,
    record_type,
    samples_in,
)
from sloguard.tsdb._types import F64, I64
from sloguard.tsdb._wal import (
    checkpoints,
    reader_floor,
    seg_path,
    segment_numbers,
    write_checkpoint,
)
from sloguard.tsdb._walscan import SegmentScan, scan_segment


def _files(wal_dir: Path, keep: int | None = None) -> tuple[list[Path], str, int]:
    """Checkpoint segment (if any) then the segments after it. Older checkpoints are
    deleted, except those a WAL reader at segment ``keep`` still needs."""
    for p in wal_dir.glob("checkpoint.*.tmp"):
        shutil.rmtree(p, ignore_errors=True)
    cps = checkpoints(wal_dir)
    files: list[Path] = []
    name, after = "", -1
    if cps:
        after, cp = cps[-1]
        name = cp.name
        files.append(seg_path(cp, 0))
        floor = reader_floor(wal_dir, after, keep)
        for n, old in cps[:-1]:
            if n < floor:
                shutil.rmtree(old, ignore_errors=True)
    files += [seg_path(wal_dir, n) for n in segment_numbers(wal_dir) if n > after]
    return [f for f in files if f.exists()], name, after


@dataclass(slots=True)
class _Loader:
    """Applies records to the head; collects samples to load in one go at the end."""

    head: Head
    refs: list[I64] = field(default_factory=list)
    ts: list[I64] = field(default_factory=list)
    vs: list[F64] = field(default_factory=list)
    records: int = 0
    series: int = 0

    def add(self, records: list[memoryview]) -> tuple[int, int]:
        """Apply ``records``; return (records, samples) that passed the CRC but do not decode."""
        bad = bad_samples = 0
        for rec in records:
            try:
                kind = record_type(rec)
                if kind == SERIES:
                    for ref, labels in decode_series(rec):
                        self.head.create_series(labels, ref)
                        self.series += 1
                elif kind == SAMPLES:
                    r, t, v = decode_samples(rec)
                    self.refs.append(r)
                    self.ts.append(t)
                    self.vs.append(v)
            except RecordError:
                bad += 1
                bad_samples += samples_in(rec)
                continue
            self.records += 1
        return bad, bad_samples

    def load(self) -> tuple[int, int]:
        """Load the samples of known series; return (loaded, orphaned) counts."""
        head = self.head
        if not self.refs:
            return 0, 0
        r, t, v = np.concatenate(self.refs), np.concatenate(self.ts), np.concatenate(self.vs)
        known = np.zeros(head.num_series + 1, bool)
        known[: head.num_series] = [len(ls) > 0 for ls in head.labels]
        is_known = known[np.minimum(r, head.num_series)]
        keep = is_known & (t >= head.min_valid_time)
        head.load(r[keep], t[keep], v[keep])
        return int(keep.sum()), int((~is_known).sum())


def wal_gaps(wal_dir: Path, files: list[Path]) -> list[str]:
    """Segments that must have held records but do not: missing numbers, or empty
    segments with later ones (a segment is only cut once records were written to it)."""
    segs = [p for p in files if p.parent == wal_dir]
    nums = [int(p.name) for p in segs]
    out = [f"{seg_path(wal_dir, n)} is missing (segment {n} of {nums[0]}..{nums[-1]})"
           for n in range(nums[0], nums[-1]) if n not in nums] if nums else []
    out += [f"{p} is empty but later segments exist: its records are missing"
            for p in segs[:-1] if p.stat().st_size == 0]
    return out


def replay(
    wal_dir: Path, head: Head, clock: Callable[[], float], keep: int | None = None
) -> tuple[ReplayReport, int]:
    """Load the WAL into ``head``, repairing damage; return the report and the checkpoint's
    number. ``keep``: the oldest segment a WAL reader still needs (kept with its checkpoint)."""
    start = clock()
    files, cp_name, cp_num = _files(wal_dir, keep)
    loader = _Loader(head)
    found: list[tuple[SegmentScan, int, int]] = []
    for path in files:
        scan = scan_segment(path)
        bad, bad_samples = loader.add(scan.records)
        if scan.damage or bad:
            found.append((scan, bad, bad_samples))
    samples, orphans = loader.load()
    gaps = wal_gaps(wal_dir, files)
    damage, cp_num = _repair(wal_dir, head, found, cp_num, orphans, len(gaps))
    damage += [WALDamage(g, (), 0, 0, torn=False, quarantined_to="") for g in gaps]
    report = ReplayReport(
        records=loader.records, samples=samples, series=loader.series, checkpoint=cp_name,
        dropped_bytes=sum(d.bytes for d in damage), dropped_records=sum(d.records for d in damage),
        dropped_samples=sum(d.samples for d in damage) + orphans, orphan_samples=orphans,
        corrupt_segment=damage[0].file if damage else "", duration_seconds=clock() - start,
        damage=tuple(damage),
    )
    return report, cp_num


def _repair(
    wal_dir: Path, head: Head, found: list[tuple[SegmentScan, int, int]], cp_num: int, orphans: int, gaps: int
) -> tuple[list[WALDamage], int]:
    """Quarantine the damaged files, then truncate a torn tail or checkpoint the head."""
    if not found and not orphans and not gaps:
        return [], cp_num
    orphans_only = orphans and not gaps
    last = segment_numbers(wal_dir)
    if not found:  # no damaged bytes, yet records are missing (see wal_gaps, orphans)
        write_checkpoint(wal_dir, max(last[-1] if last else cp_num, cp_num, 0), head_records(head))
        missing = [WALDamage(str(wal_dir), (), 0, 0, torn=False, quarantined_to="")] if orphans_only else []
        return missing, max(last[-1] if last else cp_num, cp_num, 0)
    scan0 = found[0][0]
    torn_tail = (len(found) == 1 and scan0.torn_only and not found[0][1] and not orphans and not gaps
                 and scan0.path.parent == wal_dir)
    damage = [_quarantine(wal_dir, scan, bad, bad_samples, whole=not torn_tail) for scan, bad, bad_samples in found]
    if torn_tail:
        os.truncate(scan0.path, scan0.damage[0].start)
        return damage, cp_num
    upto = max(last[-1] if last else cp_num, cp_num, 0)
    write_checkpoint(wal_dir, upto, head_records(head))
    return damage, upto


def _quarantine(wal_dir: Path, scan: SegmentScan, bad: int, bad_samples: int, whole: bool) -> WALDamage:
    ranges = [(d.start, d.end) for d in scan.damage]
    name = scan.path.name if scan.path.parent == wal_dir else f"{scan.path.parent.name}-{scan.path.name}"
    dst = quarantine_wal_file(wal_dir.parent, scan.path, name, ranges, whole)
    return WALDamage(
        file=str(scan.path), ranges=tuple(ranges), records=len(ranges) + bad,
        samples=sum(d.samples for d in scan.damage) + bad_samples,
        torn=scan.torn_only and not bad, quarantined_to=str(dst),
    )
