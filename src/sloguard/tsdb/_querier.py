"""Reads across blocks and the head, merged into one label-sorted ``SeriesBatch``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sloguard.labels import Labels, Matcher
from sloguard.tsdb._block import Block
from sloguard.tsdb._head import Head
from sloguard.tsdb._index import resolve
from sloguard.tsdb._types import F64, I64, SeriesBatch
from sloguard.tsdb._vec import merge_parts

Part = tuple[list[Labels], I64, I64, F64]


class TSDBQuerier:
    """Implements ``Querier`` over a fixed set of blocks plus the live head."""

    def __init__(self, head: Head, blocks: list[Block]) -> None:
        self._head = head
        self._blocks = blocks

    def _head_refs(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> tuple[I64, list[Labels]]:
        head = self._head
        with head.lock:
            refs = resolve(head.postings, matchers)
            if len(refs):
                refs = refs[(head.first_t[refs] <= maxt) & (head.last_t[refs] >= mint)]
            labels = head.labels
            return refs, [labels[r] for r in refs.tolist()]

    def _block_ids(self, b: Block, matchers: Sequence[Matcher], mint: int, maxt: int) -> I64:
        return b.series_in_range(resolve(b.index, matchers), mint, maxt)

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesBatch:
        parts: list[Part] = []
        for b in self._blocks:
            if b.overlaps(mint, maxt):
                ids = self._block_ids(b, matchers, mint, maxt)
                if len(ids):
                    parts.append(([b.labels[i] for i in ids.tolist()], *b.select(ids, mint, maxt)))
        refs, labels = self._head_refs(matchers, mint, maxt)
        if len(refs):
            parts.append((labels, *self._head.select(refs, mint, maxt)))
        return _merge(parts)

    def series(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[Labels]:
        out: set[Labels] = set()
        for b in self._blocks:
            if b.overlaps(mint, maxt):
                out.update(b.labels[i] for i in self._block_ids(b, matchers, mint, maxt).tolist())
        out.update(self._head_refs(matchers, mint, maxt)[1])
        return sorted(out)

    def label_names(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        if matchers:
            return sorted({n for ls in self.series(matchers, mint, maxt) for n, _ in ls})
        names: set[str] = set()
        for b in self._blocks:
            if b.overlaps(mint, maxt):
                names.update(b.index.label_names())
        with self._head.lock:
            names.update(self._head.postings.label_names())
        return sorted(names)

    def label_values(self, name: str, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        if matchers:
            return sorted({ls.get(name) for ls in self.series(matchers, mint, maxt)} - {""})
        values: set[str] = set()
        for b in self._blocks:
            if b.overlaps(mint, maxt):
                values.update(b.index.label_values_of(name))
        with self._head.lock:
            values.update(self._head.postings.label_values_of(name))
        return sorted(values)


def _merge(parts: list[Part]) -> SeriesBatch:
    """Merge parts (older first) by label set; drop series without samples."""
    if not parts:
        return SeriesBatch.empty()
    if len(parts) == 1 and _is_sorted(parts[0][0]):
        labels, offs, t, v = parts[0]
    else:
        labels = sorted({ls for p in parts for ls in p[0]})
        pos = {ls: i for i, ls in enumerate(labels)}
        keyed = [(np.fromiter((pos[ls] for ls in p[0]), np.int64, len(p[0])), p[1], p[2], p[3]) for p in parts]
        offs, t, v = merge_parts(len(labels), keyed)
    counts = np.diff(offs)
    if (counts > 0).all():
        return SeriesBatch(labels, offs, t, v)
    nz = np.flatnonzero(counts > 0)
    new_offs = np.zeros(len(nz) + 1, np.int64)
    np.cumsum(counts[nz], out=new_offs[1:])
    return SeriesBatch([labels[i] for i in nz.tolist()], new_offs, t, v)


def _is_sorted(labels: list[Labels]) -> bool:
    return all(a < b for a, b in zip(labels, labels[1:], strict=False))
