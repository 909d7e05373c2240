"""Checking a whole data directory without changing it (``sloguard tsdb verify``).

Every WAL file is read as replay reads it and every block as opening reads it, plus a
decode of every frame; nothing is repaired, truncated or quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sloguard.tsdb._block import Block
from sloguard.tsdb._blockset import block_dirs
from sloguard.tsdb._cache import FrameCache
from sloguard.tsdb._integrity import BlockCorruptError, read_meta, verify_files
from sloguard.tsdb._quarantine import QUARANTINE
from sloguard.tsdb._records import RecordError, decode_samples, decode_series, record_type
from sloguard.tsdb._replay import wal_gaps
from sloguard.tsdb._wal import checkpoints, seg_path, segment_numbers
from sloguard.tsdb._walscan import scan_segment


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one file of a data directory."""

    file: str
    problem: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What ``verify_data_dir`` looked at and what it found."""

    wal_files: int
    blocks: int
    problems: tuple[Problem, ...]
    quarantined: tuple[str, ...]  # entries already set aside under quarantine/


def verify_data_dir(path: Path) -> VerifyReport:
    """Check every WAL file and every block of ``path`` in full, read-only."""
    wal = _wal_files(path / "wal") if (path / "wal").is_dir() else []
    problems = [p for f in wal for p in _check_wal_file(f)]
    problems += [Problem(str(path / "wal"), g) for g in wal_gaps(path / "wal", wal)]
    blocks = block_dirs(path) if path.is_dir() else []
    problems += [p for b in blocks for p in _check_block(b)]
    q = path / QUARANTINE
    held = tuple(sorted(str(p) for p in q.iterdir() if p.suffix not in (".reason", ".json"))) if q.is_dir() else ()
    return VerifyReport(len(wal), len(blocks), tuple(problems), held)


def _wal_files(wal_dir: Path) -> list[Path]:
    cps = checkpoints(wal_dir)
    after = cps[-1][0] if cps else -1
    files = [seg_path(cps[-1][1], 0)] if cps else []
    return files + [seg_path(wal_dir, n) for n in segment_numbers(wal_dir) if n > after]


def _check_wal_file(path: Path) -> list[Problem]:
    scan = scan_segment(path)
    out = [Problem(str(path), f"bytes [{d.start}, {d.end}) are {'a torn last record' if d.torn else 'unreadable'}"
                   + (f" ({d.samples} samples)" if d.samples else "")) for d in scan.damage]
    for i, rec in enumerate(scan.records):
        try:
            kind = record_type(rec)
            decode_series(rec) if kind == 1 else decode_samples(rec) if kind == 2 else None
        except RecordError as e:
            out.append(Problem(str(path), f"record {i} passes its checksum but does not decode: {e}"))
    return out


def _check_block(path: Path) -> list[Problem]:
    try:
        meta = read_meta(path)
    except ValueError as e:
        return [Problem(str(path), str(e))]
    found = verify_files(path, meta, full=True)
    if found:
        return [Problem(str(path), p) for p in found]
    try:
        block = Block(path, FrameCache(0), verify=False)
    except BlockCorruptError as e:
        return [Problem(str(path), e.reason)]
    return [Problem(str(path), p) for p in block.check_frames()]
