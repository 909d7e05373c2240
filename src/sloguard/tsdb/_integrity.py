"""Block checksums: recorded in ``meta.json`` when a block is written, verified on open.

``meta.json`` gets ``"sloguard": {"files": {name: {"size": N, "crc32": C}}, "metaCrc32": M}``
for every other file of the block, and ``metaCrc32`` over the meta itself (its JSON with
sorted keys, without that field), so a changed ``minTime`` is caught like a changed chunk.
CRC32 (zlib) runs at well over 1 GB/s, so every byte is checked whenever a block is
opened: a block answers queries only after all of it was verified. ``frames.crc32.npy``
holds each chunk frame's CRC32, checked again on every decode, so bytes that change
under a running server fail the query (naming the file) instead of answering wrongly.

Blocks written before checksums were recorded still open; only their structure (array
shapes, offsets, frame bounds) can be checked, which ``Block`` does for every block.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from sloguard.tsdb._types import TSDBError

BLOCK_FILES = ("chunks", "offsets.npy", "tminmax.npy", "frames.npy", "labels.json.zst")
FRAME_CRC = "frames.crc32.npy"  # per-frame CRC32 (blocks written since checksums were added)
_READ = 4 << 20


def crc32_file(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(_READ):
            crc = zlib.crc32(chunk, crc)
    return crc


def meta_crc32(meta: dict[str, Any]) -> int:
    own = dict(meta.get("sloguard") or {})
    own.pop("metaCrc32", None)
    body = {**meta, "sloguard": own}
    return zlib.crc32(json.dumps(body, sort_keys=True).encode())


def seal(meta: dict[str, Any], block_dir: Path) -> dict[str, Any]:
    """``meta`` with the size and CRC32 of every block file and of itself."""
    names = [n for n in (*BLOCK_FILES, FRAME_CRC) if (block_dir / n).exists()]
    files = {n: {"size": (block_dir / n).stat().st_size, "crc32": crc32_file(block_dir / n)} for n in names}
    out = {**meta, "sloguard": {**meta.get("sloguard", {}), "files": files}}
    out["sloguard"]["metaCrc32"] = meta_crc32(out)
    return out


def has_checksums(meta: dict[str, Any]) -> bool:
    own = meta.get("sloguard")
    return isinstance(own, dict) and "files" in own and "metaCrc32" in own


def read_meta(block_dir: Path) -> dict[str, Any]:
    """The block's meta; ``ValueError`` (a sentence naming the file) if it is unusable."""
    path = block_dir / "meta.json"
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        present = sorted(p.name for p in block_dir.iterdir()) if block_dir.is_dir() else []
        raise ValueError(f"{path} is missing (the directory holds {', '.join(present) or 'nothing'})") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"{path} is not readable JSON: {e}") from None
    if not isinstance(meta, dict) or not {"ulid", "minTime", "maxTime", "stats"} <= meta.keys():
        raise ValueError(f"{path} is not a block meta (it lacks ulid, minTime, maxTime or stats)")
    if has_checksums(meta) and meta_crc32(meta) != meta["sloguard"]["metaCrc32"]:
        raise ValueError(f"{path} does not match its own checksum (metaCrc32): it was changed or damaged")
    return meta


def verify_files(block_dir: Path, meta: dict[str, Any], full: bool = True) -> list[str]:
    """Problems with the block's files against ``meta`` (sizes always, CRC32 if ``full``)."""
    problems = [f"{block_dir / n} is missing" for n in BLOCK_FILES if not (block_dir / n).is_file()]
    if problems or not has_checksums(meta):
        return problems
    for name, want in meta["sloguard"]["files"].items():
        path = block_dir / name
        size = path.stat().st_size if path.is_file() else -1
        if size != want.get("size"):
            problems.append(f"{path} has {size} bytes but meta.json records {want.get('size')}")
        elif full and crc32_file(path) != want.get("crc32"):
            problems.append(f"{path} does not match the CRC32 recorded in meta.json: its content changed")
    return problems


class BlockCorruptError(TSDBError):
    """A block that failed verification; ``path`` is its directory. Not retryable: the
    block is quarantined, and its data is lost until restored from elsewhere."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"block {path} is damaged: {reason}")
        self.path = path
        self.reason = reason


def check_structure(
    meta: dict[str, Any], n_labels: int, offsets: np.ndarray, tminmax: np.ndarray, frames: np.ndarray, chunks: int
) -> list[str]:
    """Problems with the arrays' shapes and bounds (what a block without checksums can be checked for)."""
    n, samples = int(meta["stats"]["numSeries"]), int(meta["stats"]["numSamples"])
    out = []
    if n_labels != n:
        out.append(f"labels.json.zst holds {n_labels} series but meta.json says {n}")
    if offsets.shape != (n + 1,) or (n >= 0 and len(offsets) and (offsets[0] != 0 or offsets[-1] != samples)):
        out.append(f"offsets.npy has shape {offsets.shape} and does not run from 0 to {samples} samples")
    elif len(offsets) > 1 and bool((np.diff(offsets) < 0).any()):
        out.append("offsets.npy is not ascending")
    if tminmax.shape != (n, 2):
        out.append(f"tminmax.npy has shape {tminmax.shape}, expected ({n}, 2)")
    if frames.ndim != 2 or frames.shape[1] != 4:
        out.append(f"frames.npy has shape {frames.shape}, expected (frames, 4)")
    elif len(frames) and (bool((frames[:, 2] + frames[:, 3] > chunks).any()) or int(frames[-1, 1]) != samples):
        out.append(f"frames.npy points outside the {chunks}-byte chunks file or does not cover {samples} samples")
    return out
