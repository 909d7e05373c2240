"""Writing a block: ``<ULID>.tmp`` filled, fsynced, sealed with checksums, renamed.

See ``_block`` for the layout; ``_integrity`` for the checksums in ``meta.json``.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
import zlib
from pathlib import Path

import cramjam
import numpy as np

from sloguard.labels import Labels
from sloguard.tsdb._codec import encode
from sloguard.tsdb._integrity import FRAME_CRC, seal
from sloguard.tsdb._types import F64, I64, TSDBError
from sloguard.tsdb._wal import fsync_dir

FRAME_SAMPLES = 1 << 16  # decode granularity: a single-series read decodes one frame
_B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


_last_ulid = [0]
_ulid_lock = threading.Lock()


def new_ulid(ms: int | None = None) -> str:
    """A ULID: 48-bit millisecond time + 80 random bits, Crockford base32.

    Monotonic within the process (like Prometheus' monotonic entropy), so blocks
    written in the same millisecond still sort in creation order.
    """
    t = int(time.time() * 1000) if ms is None else ms
    with _ulid_lock:
        n = max((t << 80) | secrets.randbits(80), _last_ulid[0] + 1)
        _last_ulid[0] = n
    return "".join(_B32[(n >> (5 * i)) & 31] for i in reversed(range(26)))


MARKER = "sloguard-tsdb.json"


def claim_dir(path: Path) -> None:
    """Create or accept a data directory; refuse one written by something else.

    A Prometheus data directory looks similar (``wal/``, block dirs with
    ``meta.json``) but its WAL would read as corrupt and be truncated, so a directory
    with foreign content and no marker file is refused instead.
    """
    path.mkdir(parents=True, exist_ok=True)
    marker = path / MARKER
    if marker.exists():
        return
    foreign = sorted(
        p.name for p in path.iterdir()
        if p.name == "chunks_head"
        or (p.name == "wal" and p.is_dir() and any(q.is_file() and q.stat().st_size for q in p.iterdir()))
        or ((p / "meta.json").exists() and not (p / "labels.json.zst").exists())
    )
    if foreign:
        raise TSDBError(
            f"refusing to use {path} as a sloguard data directory: it holds {', '.join(foreign)} "
            f"but no {MARKER} (is it a Prometheus data directory?); use an empty or sloguard directory"
        )
    marker.write_text(json.dumps({"format": 1}) + "\n")


def _frame_bounds(offsets: I64) -> I64:
    """Series indices where frames start (a series never spans two frames)."""
    bucket = offsets[:-1] // FRAME_SAMPLES
    starts = np.flatnonzero(np.diff(bucket, prepend=-1) != 0)
    return np.append(starts, len(offsets) - 1)


def write_block(
    parent: Path, labels: list[Labels], offsets: I64, t: I64, v: F64,
    mint: int, maxt: int, source: str, parents: list[str] | None = None,
) -> Path:
    """Write a block (series already sorted by labels, samples in time order).

    ``parents`` are the blocks it replaces (a merge); they are listed in its meta so an
    interrupted merge is finished on the next open.
    """
    ulid = new_ulid()
    tmp = parent / f"{ulid}.tmp"
    tmp.mkdir(parents=True)
    frames = _write_frames(tmp / "chunks", offsets, t, v)
    _save(tmp / "offsets.npy", offsets.astype(np.int64))
    _save(tmp / "tminmax.npy", _series_ranges(offsets, t))
    _save(tmp / "frames.npy", frames)
    _save(tmp / FRAME_CRC, _frame_crcs(tmp / "chunks", frames))
    flat = [[x for pair in ls for x in pair] for ls in labels]
    (tmp / "labels.json.zst").write_bytes(bytes(cramjam.zstd.compress(json.dumps(flat).encode(), 3)))
    meta = {
        "ulid": ulid, "minTime": int(mint), "maxTime": int(maxt), "version": 1,
        "stats": {"numSamples": int(len(t)), "numSeries": len(labels), "numChunks": len(frames)},
        "compaction": {"level": 2 if parents else 1, "sources": [ulid], "parents": parents or []},
        "sloguard": {"source": source, "encoding": "delta-decimal-xor-shuffle-zstd/1"},
    }
    (tmp / "meta.json").write_text(json.dumps(seal(meta, tmp), indent=1))
    for p in tmp.iterdir():
        with open(p, "rb") as fh:
            os.fsync(fh.fileno())
    fsync_dir(tmp)
    final = parent / ulid
    tmp.rename(final)
    fsync_dir(parent)
    return final


def _write_frames(path: Path, offsets: I64, t: I64, v: F64) -> I64:
    """Encode frames into ``path``; return rows (sample start, end, byte offset, length)."""
    bounds = _frame_bounds(offsets)
    frames = np.zeros((len(bounds) - 1, 4), np.int64)
    pos = 0
    with open(path, "wb") as f:
        for i in range(len(bounds) - 1):
            a, b = int(offsets[bounds[i]]), int(offsets[bounds[i + 1]])
            data = encode(t[a:b], v[a:b]).data
            f.write(data)
            frames[i] = (a, b, pos, len(data))
            pos += len(data)
    return frames


def _frame_crcs(chunks: Path, frames: I64) -> np.ndarray:
    """CRC32 of each frame's bytes, so a frame is checked again whenever it is decoded."""
    data = chunks.read_bytes()
    return np.fromiter((zlib.crc32(data[o:o + n]) for o, n in frames[:, 2:4].tolist()), np.uint32, len(frames))


def _series_ranges(offsets: I64, t: I64) -> I64:
    """Each series' first and last timestamp (zeros for a series without samples)."""
    out = np.zeros((len(offsets) - 1, 2), np.int64)
    has = np.diff(offsets) > 0
    out[has, 0] = t[offsets[:-1][has]]
    out[has, 1] = t[offsets[1:][has] - 1]
    return out


def _save(path: Path, a: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, a)
