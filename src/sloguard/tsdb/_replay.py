"""Rebuild the head from the WAL on open, cutting off a torn or corrupt tail."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sloguard.tsdb._head import Head
from sloguard.tsdb._options import ReplayReport
from sloguard.tsdb._records import (
    SAMPLES,
    SERIES,
    RecordError,
    decode_samples,
    decode_series,
    record_type,
)
from sloguard.tsdb._types import F64, I64
from sloguard.tsdb._wal import checkpoints, scan_segment, seg_path, segment_numbers


def _files(wal_dir: Path) -> tuple[list[Path], str, int]:
    """Checkpoint segment (if any) then the segments after it."""
    for p in wal_dir.glob("checkpoint.*.tmp"):
        shutil.rmtree(p, ignore_errors=True)
    cps = checkpoints(wal_dir)
    files: list[Path] = []
    name, after = "", -1
    if cps:
        after, cp = cps[-1]
        name = cp.name
        files.append(seg_path(cp, 0))
        for _, old in cps[:-1]:
            shutil.rmtree(old, ignore_errors=True)
    files += [seg_path(wal_dir, n) for n in segment_numbers(wal_dir) if n > after]
    return [f for f in files if f.exists()], name, after


def replay(wal_dir: Path, head: Head, clock: Callable[[], float]) -> tuple[ReplayReport, int]:
    """Load the WAL into ``head``; return the report and the checkpoint's number."""
    start = clock()
    files, cp_name, cp_num = _files(wal_dir)
    refs: list[I64] = []
    ts: list[I64] = []
    vs: list[F64] = []
    records = series = 0
    dropped = {"bytes": 0, "records": 0, "samples": 0, "segments": 0}
    corrupt = ""
    for i, path in enumerate(files):
        scan = scan_segment(path)
        for rec in scan.records:
            try:
                kind = record_type(rec)
                if kind == SERIES:
                    for ref, labels in decode_series(rec):
                        head.create_series(labels, ref)
                        series += 1
                elif kind == SAMPLES:
                    r, t, v = decode_samples(rec)
                    refs.append(r)
                    ts.append(t)
                    vs.append(v)
            except RecordError:
                continue
            records += 1
        if scan.damaged:
            corrupt = str(path)
            dropped["bytes"] += scan.size - scan.good_bytes
            dropped["records"] += scan.dropped_records
            dropped["samples"] += scan.dropped_samples
            os.truncate(path, scan.good_bytes)
            for later in files[i + 1:]:
                lost = scan_segment(later)
                dropped["bytes"] += lost.size
                dropped["records"] += len(lost.records) + lost.dropped_records
                dropped["segments"] += 1
                later.unlink()
            break
    samples = _load(head, refs, ts, vs)
    report = ReplayReport(
        records=records, samples=samples, series=series, checkpoint=cp_name,
        dropped_bytes=dropped["bytes"], dropped_records=dropped["records"],
        dropped_samples=dropped["samples"], dropped_segments=dropped["segments"],
        corrupt_segment=corrupt, duration_seconds=clock() - start,
    )
    return report, cp_num


def _load(head: Head, refs: list[I64], ts: list[I64], vs: list[F64]) -> int:
    if not refs:
        return 0
    r, t, v = np.concatenate(refs), np.concatenate(ts), np.concatenate(vs)
    known = np.zeros(head.num_series + 1, bool)
    known[: head.num_series] = [len(ls) > 0 for ls in head.labels]
    keep = known[np.minimum(r, head.num_series)] & (t >= head.min_valid_time)
    head.load(r[keep], t[keep], v[keep])
    return int(keep.sum())
