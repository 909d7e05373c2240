"""Inverted index over label pairs, and matcher resolution with Prometheus semantics.

A matcher that matches the empty string also selects series *without* the label
(``{foo=""}``, ``{foo!="bar"}``, ``{foo=~"|x"}``); such matchers are applied by
subtracting the series that carry a non-matching value, never by scanning all series.
Regexes are only run over the distinct values of their label name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np

from sloguard.labels import Labels, Matcher, MatchType
from sloguard.tsdb._types import I64

_EMPTY = np.empty(0, np.int64)


class LabelIndex(Protocol):
    def label_values_of(self, name: str) -> Iterable[str]: ...

    def postings(self, name: str, value: str) -> I64: ...

    def all_ids(self) -> I64: ...


def _union(index: LabelIndex, name: str, values: Iterable[str]) -> I64:
    lists = [index.postings(name, v) for v in values]
    lists = [p for p in lists if len(p)]
    if not lists:
        return _EMPTY
    if len(lists) == 1:
        return lists[0]
    return np.unique(np.concatenate(lists))


def _matching_values(index: LabelIndex, m: Matcher, want: bool) -> list[str]:
    """Distinct values of ``m.name`` for which ``m.matches(value) == want``."""
    alts = m.literal_alternatives
    if alts is not None and want == (m.type is MatchType.REGEX):
        return alts
    return [v for v in index.label_values_of(m.name) if m.matches(v) == want]


def resolve(index: LabelIndex, matchers: Sequence[Matcher]) -> I64:
    """Sorted ids of the series matching every matcher."""
    positives: list[I64] = []
    negatives: list[I64] = []
    for m in matchers:
        if m.type is MatchType.EQUAL and m.value != "":
            positives.append(index.postings(m.name, m.value))
        elif m.type is MatchType.NOT_EQUAL and m.value != "":
            negatives.append(index.postings(m.name, m.value))
        elif m.matches(""):
            negatives.append(_union(index, m.name, _matching_values(index, m, False)))
        else:
            positives.append(_union(index, m.name, _matching_values(index, m, True)))
    if positives:
        positives.sort(key=len)
        out = positives[0]
        for p in positives[1:]:
            if not len(out):
                break
            out = _intersect(out, p)
    else:
        out = index.all_ids()
    for n in negatives:
        if len(n) and len(out):
            out = out[~np.isin(out, n, assume_unique=True)]
    return out


def _intersect(small: I64, big: I64) -> I64:
    """Ids in both (each sorted, unique; ``small`` no longer than ``big``): a binary
    search of each of ``small`` in ``big`` when ``big`` is much longer (a rule's
    ``{__name__="slo:...", slo="x"}`` meets the name's postings of every SLO), so a
    lookup costs ``len(small) * log(len(big))``, not a sort of both."""
    if len(small) * 16 >= len(big):
        return np.intersect1d(small, big, assume_unique=True)
    pos = np.searchsorted(big, small)
    np.minimum(pos, len(big) - 1, out=pos)
    found: I64 = small[big[pos] == small]
    return found


class _Postings:
    __slots__ = ("ids", "arr")

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.arr: I64 | None = None


_RESOLVED_MAX = 1 << 16


class MemPostings:
    """The head's index: label name -> value -> ascending series refs.

    Resolved matcher sets are memoised until the next series is added (rules select
    the same sets every cycle while the set of series rarely changes)."""

    def __init__(self) -> None:
        self._idx: dict[str, dict[str, _Postings]] = {}
        self._all = _Postings()
        self._resolved: dict[tuple[Matcher, ...], I64] = {}

    def resolve(self, matchers: Sequence[Matcher]) -> I64:
        """``resolve(self, matchers)``, memoised; callers hold the head lock."""
        key = tuple(matchers)
        ids = self._resolved.get(key)
        if ids is None:
            ids = resolve(self, matchers)
            if len(self._resolved) >= _RESOLVED_MAX:
                self._resolved.clear()
            self._resolved[key] = ids
        return ids

    def add(self, ref: int, labels: Labels) -> None:
        if self._resolved:
            self._resolved = {}
        for name, value in labels:
            p = self._idx.setdefault(name, {}).get(value)
            if p is None:
                p = self._idx[name][value] = _Postings()
            p.ids.append(ref)
            p.arr = None
        self._all.ids.append(ref)
        self._all.arr = None

    def label_values_of(self, name: str) -> Iterable[str]:
        return list(self._idx.get(name, {}))

    def label_names(self) -> list[str]:
        return list(self._idx)

    def postings(self, name: str, value: str) -> I64:
        p = self._idx.get(name, {}).get(value)
        return _EMPTY if p is None else _array(p)

    def all_ids(self) -> I64:
        return _array(self._all)


def _array(p: _Postings) -> I64:
    if p.arr is None or len(p.arr) != len(p.ids):
        p.arr = np.asarray(p.ids, np.int64)
    return p.arr


class StaticPostings:
    """An immutable index over a block's series (ids are positions in label order)."""

    def __init__(self, labels: Sequence[Labels]) -> None:
        idx: dict[str, dict[str, list[int]]] = {}
        for i, ls in enumerate(labels):
            for name, value in ls:
                idx.setdefault(name, {}).setdefault(value, []).append(i)
        self._idx = {n: {v: np.asarray(ids, np.int64) for v, ids in vals.items()} for n, vals in idx.items()}
        self._all = np.arange(len(labels), dtype=np.int64)

    def label_values_of(self, name: str) -> Iterable[str]:
        return self._idx.get(name, {}).keys()

    def label_names(self) -> list[str]:
        return list(self._idx)

    def postings(self, name: str, value: str) -> I64:
        return self._idx.get(name, {}).get(value, _EMPTY)

    def all_ids(self) -> I64:
        return self._all
