"""Immutable on-disk blocks: write one from sorted series, read it memory-mapped.

Layout of ``<data>/<ULID>/``: ``meta.json`` (Prometheus-like: ulid, minTime,
maxTime exclusive, stats), ``labels.json.zst`` (series label sets in label order),
``offsets.npy`` (sample offsets per series), ``tminmax.npy`` (each series' first and
last timestamp), ``frames.npy`` (sample range and byte range of each frame) and
``chunks`` (encoded frames, see ``_codec``). A block is written into ``<ULID>.tmp``
and renamed when complete, so a crash never leaves half a block.
"""

from __future__ import annotations

import json
import mmap
import os
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cramjam
import numpy as np

from sloguard.labels import Labels, Matcher
from sloguard.tsdb._cache import Frame, FrameCache
from sloguard.tsdb._codec import decode, encode
from sloguard.tsdb._index import StaticPostings, resolve
from sloguard.tsdb._types import F64, I64, TSDBError
from sloguard.tsdb._vec import BandKey, SegPart, cut
from sloguard.tsdb._wal import fsync_dir

_GATHER_MAX_SERIES = 256  # at most this many series spread over frames are gathered and cached
FRAME_SAMPLES = 1 << 16  # decode granularity: a single-series read decodes one frame
_RESOLVED_MAX = 1 << 16  # memoised matcher sets per block (rules repeat theirs every cycle)
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
    flat = [[x for pair in ls for x in pair] for ls in labels]
    (tmp / "labels.json.zst").write_bytes(bytes(cramjam.zstd.compress(json.dumps(flat).encode(), 3)))
    meta = {
        "ulid": ulid, "minTime": int(mint), "maxTime": int(maxt), "version": 1,
        "stats": {"numSamples": int(len(t)), "numSeries": len(labels), "numChunks": len(frames)},
        "compaction": {"level": 2 if parents else 1, "sources": [ulid], "parents": parents or []},
        "sloguard": {"source": source, "encoding": "delta-decimal-xor-shuffle-zstd/1"},
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
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


class Block:
    """A read-only block, memory-mapped; selects series like the head does."""

    def __init__(self, path: Path, cache: FrameCache) -> None:
        self.path = path
        try:
            self.meta: dict[str, Any] = json.loads((path / "meta.json").read_text())
            raw = json.loads(bytes(cramjam.zstd.decompress((path / "labels.json.zst").read_bytes())))
            self.offsets = np.load(path / "offsets.npy", mmap_mode="r")
            self.tminmax = np.load(path / "tminmax.npy", mmap_mode="r")
            self.frames = np.load(path / "frames.npy", mmap_mode="r")
        except (OSError, ValueError, KeyError) as e:
            raise TSDBError(f"cannot read block {path}: {e}") from None
        # interned: names and values repeat across series and blocks (a tenth of the memory)
        self.labels = [Labels._sorted_unchecked(tuple(zip(map(sys.intern, f[::2]), map(sys.intern, f[1::2]),
                                                          strict=True))) for f in raw]
        self.index = StaticPostings(self.labels)
        self._resolved: dict[tuple[Matcher, ...], I64] = {}
        self._cache = cache
        size = (path / "chunks").stat().st_size
        self._chunks: mmap.mmap | bytes = b""
        if size:
            with open(path / "chunks", "rb") as f:
                self._chunks = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self.ulid: str = self.meta["ulid"]
        self.mint: int = int(self.meta["minTime"])
        self.maxt: int = int(self.meta["maxTime"])  # exclusive, as in Prometheus
        self.num_samples: int = int(self.meta["stats"]["numSamples"])
        self.source: str = self.meta.get("sloguard", {}).get("source", "")
        self.size_bytes = sum(p.stat().st_size for p in path.iterdir())

    def overlaps(self, mint: int, maxt: int) -> bool:
        return self.mint <= maxt and self.maxt > mint

    def series_in_range(self, ids: I64, mint: int, maxt: int) -> I64:
        tm = self.tminmax[ids] if len(ids) else np.empty((0, 2), np.int64)
        return ids[(tm[:, 0] <= maxt) & (tm[:, 1] >= mint)]

    def resolve(self, matchers: Sequence[Matcher]) -> I64:
        """Ids of the series matching ``matchers`` (memoised: the block never changes)."""
        key = tuple(matchers)
        ids = self._resolved.get(key)
        if ids is None:
            ids = resolve(self.index, matchers)
            if len(self._resolved) >= _RESOLVED_MAX:
                self._resolved.clear()
            self._resolved[key] = ids
        return ids

    def frame(self, f: int, keep: bool = True) -> Frame:
        """Frame ``f`` decoded (from the shared cache when there; put there if ``keep``)."""
        return self._frame(f, keep)

    def _frame(self, f: int, keep: bool = True) -> Frame:
        key = (self.ulid, f)
        hit = self._cache.get(key)
        if hit is None:
            a, b, off, ln = (int(x) for x in self.frames[f])
            t, v = decode(memoryview(self._chunks)[off:off + ln])
            t.flags.writeable = False
            v.flags.writeable = False
            first = int(np.searchsorted(self.offsets, a, side="right")) - 1
            last = int(np.searchsorted(self.offsets, b, side="left"))
            seg = np.clip(np.asarray(self.offsets[first:last + 1]) - a, 0, b - a)
            seg[-1] = b - a
            hit = Frame(t, v, BandKey.build(seg, t), first)
            if keep:
                self._cache.put(key, hit)
        return hit

    def select_parts(self, ids: I64, keys: I64, mint: int, maxt: int) -> list[SegPart]:
        """Samples of series ``ids`` in [mint, maxt] as segments of decoded frames."""
        fstarts = np.asarray(self.frames[:, 0])
        s_start = np.asarray(self.offsets[ids])
        s_end = np.asarray(self.offsets[ids + 1])
        fid = np.searchsorted(fstarts, s_start, side="right") - 1
        groups: list[tuple[int, slice | I64]]
        if len(fid) and fid[0] == fid[-1]:  # ids ascend, so this is one frame
            groups = [(int(fid[0]), slice(None))]
        else:
            g = self._gathered(ids, fid, s_start, s_end)
            if g is not None and g.band is not None and g.offsets is not None:
                part = SegPart(keys, g.offsets[:-1], g.offsets[1:], g.t, g.v)
                return [g.band.cut(part, np.arange(len(ids), dtype=np.int64), mint, maxt)]
            groups = [(f, np.flatnonzero(fid == f)) for f in np.unique(fid).tolist()]
        parts = []
        for f, sel in groups:
            fr = self._frame(f)
            base = int(fstarts[f])
            part = SegPart(keys[sel], s_start[sel] - base, s_end[sel] - base, fr.t, fr.v)
            parts.append(cut(part, mint, maxt) if fr.band is None else fr.band.cut(part, ids[sel] - fr.first, mint, maxt))
        return parts

    def _gathered(self, ids: I64, fid: I64, s_start: I64, s_end: I64) -> Frame | None:
        """Series ``ids`` (spread over several frames) copied out back to back, cached:
        rules select the same few series every cycle, and one search over one array
        costs far less than one per frame."""
        if len(ids) > _GATHER_MAX_SERIES:
            return None
        key = (self.ulid, ids.tobytes())
        hit = self._cache.get(key)
        if hit is None:
            fstarts = np.asarray(self.frames[:, 0])
            ts, vs = [], []
            for i, f in enumerate(fid.tolist()):
                fr = self._frame(f)
                a, b = int(s_start[i] - fstarts[f]), int(s_end[i] - fstarts[f])
                ts.append(fr.t[a:b])
                vs.append(fr.v[a:b])
            t, v = np.concatenate(ts), np.concatenate(vs)
            t.flags.writeable = False
            v.flags.writeable = False
            offsets = np.zeros(len(ids) + 1, np.int64)
            np.cumsum(s_end - s_start, out=offsets[1:])
            hit = Frame(t, v, BandKey.build(offsets, t), 0, offsets)
            self._cache.put(key, hit)
        return hit

    def release(self) -> None:
        """Forget cached frames. The maps stay valid for readers still holding this
        block (a deleted file stays readable while mapped) and go with the object."""
        self._cache.drop(self.ulid)


def remove_block(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
