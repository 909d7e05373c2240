"""Merging adjacent blocks into longer ones (Prometheus' leveled compaction).

Blocks cut from the head span one block duration; once a whole aligned range of 3x
(then 9x, 27x, ...) that duration is in the past, its blocks are rewritten as one, so
long retentions do not mean hundreds of small blocks per query. The new block lists
its parents; if a crash interrupts the swap, the next open deletes the parents.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from sloguard.labels import Labels
from sloguard.tsdb._block import Block, remove_block, write_block
from sloguard.tsdb._types import F64, I64
from sloguard.tsdb._vec import SegPart, merge

log = logging.getLogger("sloguard.tsdb")
T_MIN = np.iinfo(np.int64).min
T_MAX = np.iinfo(np.int64).max
_MAX_AUTO_MS = 31 * 24 * 3_600_000
MAX_MERGE_SAMPLES = 20_000_000  # a merge decodes its blocks in memory (16 bytes/sample)


def merge_ranges(block_ms: int, max_block_ms: int, retention_ms: int) -> list[int]:
    """The longer block ranges to merge into: 3x, 9x, ... up to the maximum."""
    limit = max_block_ms or min(retention_ms // 10 if retention_ms else _MAX_AUTO_MS, _MAX_AUTO_MS)
    out, r = [], block_ms * 3
    while r <= limit:
        out.append(r)
        r *= 3
    return out


def pick_group(blocks: list[Block], ranges: list[int], sealed_before: int) -> tuple[list[Block], int, int] | None:
    """A set of >= 2 shorter blocks filling one aligned range that is wholly sealed."""
    for rng in ranges:
        groups: dict[int, list[Block]] = {}
        for b in blocks:
            start = (b.mint // rng) * rng
            if b.maxt - b.mint < rng and b.maxt <= start + rng:
                groups.setdefault(start, []).append(b)
        for start in sorted(groups):
            g = groups[start]
            small = sum(b.num_samples for b in g) <= MAX_MERGE_SAMPLES
            if len(g) >= 2 and start + rng <= sealed_before and small:
                return g, start, start + rng
    return None


def read_all(blocks: list[Block]) -> tuple[list[Labels], I64, I64, F64]:
    """Every series of the blocks, merged by label set (overlaps resolved)."""
    labels = sorted({ls for b in blocks for ls in b.labels})
    pos = {ls: i for i, ls in enumerate(labels)}
    parts: list[SegPart] = []
    for b in sorted(blocks, key=lambda b: (b.mint, b.maxt, b.ulid)):
        ids = np.arange(len(b.labels), dtype=np.int64)
        keys = np.fromiter((pos[ls] for ls in b.labels), np.int64, len(b.labels))
        parts += b.select_parts(ids, keys, T_MIN, T_MAX)
    offsets, t, v = merge(len(labels), parts, may_overlap=True)
    return labels, offsets, np.ascontiguousarray(t), np.ascontiguousarray(v)


def write_merged(parent: Path, group: list[Block], mint: int, maxt: int) -> Path:
    labels, offsets, t, v = read_all(group)
    source = "head" if all(b.source == "head" for b in group) else "merged"
    return write_block(parent, labels, offsets, t, v, mint, maxt, source, [b.ulid for b in group])


def finish_interrupted(paths: list[Path], metas: dict[str, dict[str, object]]) -> list[Path]:
    """Delete blocks that a present block replaced; return the remaining paths."""
    replaced: set[str] = set()
    for meta in metas.values():
        comp = meta.get("compaction")
        if isinstance(comp, dict):
            replaced.update(str(p) for p in comp.get("parents", []))
    keep = []
    for p in paths:
        if p.name in replaced:
            log.info("removing block %s: a merged block replaced it", p.name)
            remove_block(p)
        else:
            keep.append(p)
    return keep
