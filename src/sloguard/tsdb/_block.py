"""Immutable on-disk blocks: read one memory-mapped, verified (written by ``_blockwrite``).

Layout of ``<data>/<ULID>/``: ``meta.json`` (Prometheus-like: ulid, minTime,
maxTime exclusive, stats), ``labels.json.zst`` (series label sets in label order),
``offsets.npy`` (sample offsets per series), ``tminmax.npy`` (each series' first and
last timestamp), ``frames.npy`` (sample range and byte range of each frame),
``frames.crc32.npy`` (each frame's CRC32) and ``chunks`` (encoded frames, see
``_codec``). A block is written into ``<ULID>.tmp`` and renamed when complete, so a
crash never leaves half a block; ``meta.json`` records every file's size and CRC32,
all verified before the block is served (``_integrity``). A damaged block raises
``BlockCorruptError``, and is quarantined by ``_blockset``.
"""

from __future__ import annotations

import json
import mmap
import shutil
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cramjam
import numpy as np

from sloguard.labels import Labels, Matcher
from sloguard.tsdb._blockwrite import FRAME_SAMPLES, MARKER, claim_dir, new_ulid, write_block
from sloguard.tsdb._cache import Frame, FrameCache
from sloguard.tsdb._codec import decode
from sloguard.tsdb._gather import GATHER_MAX_SERIES, Wanted, gather
from sloguard.tsdb._index import StaticPostings, resolve
from sloguard.tsdb._integrity import (
    FRAME_CRC,
    BlockCorruptError,
    check_structure,
    has_checksums,
    read_meta,
    verify_files,
)
from sloguard.tsdb._types import F64, I64
from sloguard.tsdb._vec import BandKey, SegPart, cut

__all__ = ["FRAME_SAMPLES", "MARKER", "Block", "claim_dir", "new_ulid", "remove_block", "write_block"]

_RESOLVED_MAX = 1 << 16  # memoised matcher sets per block (rules repeat theirs every cycle)


def _read_labels(path: Path) -> list[list[str]]:
    try:
        raw = json.loads(bytes(cramjam.zstd.decompress(path.read_bytes())))
    except Exception as e:  # noqa: BLE001 (cramjam raises its own DecompressionError)
        raise ValueError(f"{path} cannot be decompressed and parsed: {e}") from None
    if not isinstance(raw, list) or not all(isinstance(f, list) and len(f) % 2 == 0 for f in raw):
        raise ValueError(f"{path} does not hold a list of label sets")
    return raw


class Block:
    """A read-only block, memory-mapped; selects series like the head does."""

    def __init__(self, path: Path, cache: FrameCache, verify: bool = True) -> None:
        """Open the block at ``path``, verifying every file first (``BlockCorruptError`` if
        anything is wrong; ``verify=False`` checks sizes only)."""
        self.path = path
        try:
            self.meta: dict[str, Any] = read_meta(path)
            problems = verify_files(path, self.meta, full=verify)
            if problems:
                raise BlockCorruptError(path, "; ".join(problems))
            raw = _read_labels(path / "labels.json.zst")
            self.offsets = np.load(path / "offsets.npy", mmap_mode="r", allow_pickle=False)
            self.tminmax = np.load(path / "tminmax.npy", mmap_mode="r", allow_pickle=False)
            self.frames = np.load(path / "frames.npy", mmap_mode="r", allow_pickle=False)
            # interned: names and values repeat across series and blocks (a tenth of the memory)
            self.labels = [
                Labels._sorted_unchecked(tuple(zip(map(sys.intern, f[::2]), map(sys.intern, f[1::2]), strict=True)))
                for f in raw
            ]
            size = (path / "chunks").stat().st_size
            problems = check_structure(self.meta, len(raw), self.offsets, self.tminmax, self.frames, size)
            self._crcs = np.load(path / FRAME_CRC, allow_pickle=False) if (path / FRAME_CRC).exists() else None
            if self._crcs is not None and self._crcs.shape != (len(self.frames),):
                problems.append(f"{FRAME_CRC} has shape {self._crcs.shape}, expected ({len(self.frames)},)")
        except (OSError, ValueError, KeyError, TypeError, IndexError) as e:
            raise BlockCorruptError(path, str(e)) from None
        if problems:
            raise BlockCorruptError(path, "; ".join(problems))
        self.index = StaticPostings(self.labels)
        self._resolved: dict[tuple[Matcher, ...], I64] = {}
        self._cache = cache
        self.damaged = ""  # set when a frame fails to decode during a query
        self._chunks: mmap.mmap | bytes = b""
        if size:
            with open(path / "chunks", "rb") as f:
                self._chunks = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self.ulid: str = self.meta["ulid"]
        self.mint: int = int(self.meta["minTime"])
        self.maxt: int = int(self.meta["maxTime"])  # exclusive, as in Prometheus
        self.num_samples: int = int(self.meta["stats"]["numSamples"])
        self.source: str = self.meta.get("sloguard", {}).get("source", "")
        self.checksummed = has_checksums(self.meta)
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
            t, v = self._decode(f, a, b, off, ln)
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

    def _decode(self, f: int, a: int, b: int, off: int, ln: int) -> tuple[I64, F64]:
        """Decode frame ``f``; a frame that does not decode to its samples marks the block
        damaged (quarantined by the next reload) and fails the query, naming the file."""
        try:
            buf = memoryview(self._chunks)[off:off + ln]
            if self._crcs is not None and zlib.crc32(buf) != int(self._crcs[f]):
                raise ValueError("its bytes do not match the CRC32 recorded when the block was written")
            t, v = decode(buf)
            if len(t) != b - a or len(v) != b - a:
                raise ValueError(f"it decoded to {len(t)} samples instead of {b - a}")
        except Exception as e:  # noqa: BLE001 (any decoder failure means damaged bytes)
            self.damaged = f"{self.path / 'chunks'} frame {f} (bytes {off}..{off + ln}) does not decode: {e}"
            raise BlockCorruptError(self.path, self.damaged + "; it will be quarantined") from None
        return t, v

    def check_frames(self) -> list[str]:
        """Decode every frame (what ``sloguard tsdb verify`` does after the checksums)."""
        problems = []
        for f in range(len(self.frames)):
            try:
                self._decode(f, *(int(x) for x in self.frames[f]))
            except BlockCorruptError:
                problems.append(self.damaged)
        return problems

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
        costs far less than one per frame (see ``_gather``)."""
        if len(ids) > GATHER_MAX_SERIES:
            return None
        key = (self.ulid, ids.tobytes())
        hit = self._cache.get(key)
        if hit is None:
            hit = gather(self, [Wanted(ids, s_start, s_end, fid)], self._frame)[0]
            self._cache.put(key, hit)
        return hit

    def is_gathered(self, key: bytes) -> bool:
        """Whether the series whose ids' bytes are ``key`` are gathered in the cache."""
        return self._cache.get((self.ulid, key)) is not None

    def gather_into_cache(self, wants: Sequence[Wanted]) -> None:
        """Gather all of ``wants`` into the cache, decoding each frame they need once
        (frames are read from the cache when there, and not put there)."""
        entries = gather(self, wants, lambda f: self._frame(f, keep=False))
        for w, entry in zip(wants, entries, strict=True):
            self._cache.put((self.ulid, w.key), entry)

    def release(self) -> None:
        """Forget cached frames. The maps stay valid for readers still holding this
        block (a deleted file stays readable while mapped) and go with the object."""
        self._cache.drop(self.ulid)


def remove_block(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
