"""Reading ahead, for the rule groups due next, the block data they will select.

A group of SLO rules selects one service's series; a block keeps series in label order,
so one service's series lie in many frames and each frame holds many services' series.
Evaluated one group at a time over a store whose decoded frames do not fit in the cache,
every group decodes again the frames the groups before it decoded: the cycle's cost grows
with groups x frames. Before a group evaluates, ``Prefetcher`` hands the storage's
``prefetch`` the selects of that group and of the groups due after it (in schedule order),
which reads as many of them as fit in its budget with one decode per frame. The groups
so covered then evaluate from the cache; the first one not covered starts the next read.
Selects read the same entries they would have built, so results are unchanged. Storage
without ``prefetch`` (a remote backend) is left alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sloguard.labels import Matcher
from sloguard.promql._ast import MatrixSelector, VectorSelector, parse
from sloguard.rules._group import AnyRule, Group

SelectKey = tuple[Matcher, ...]
Select = tuple[SelectKey, int, int]
_LOOKBACK_MS = 300_000  # what a first evaluation's instant selectors read (Prometheus' default)
_MAX_SELECTS = 1 << 16  # selects offered to one read-ahead (the storage's budget usually ends it sooner)


def next_slot(g: Group, ts: int) -> int:
    """``g``'s first slotted evaluation time at or after ``ts``."""
    t = g.eval_timestamp(ts)
    return t if t >= ts else t + g.interval_ms


class Prefetcher:
    def __init__(self, storage: object) -> None:
        self._fetch: Callable[[Sequence[Select]], int] | None = getattr(storage, "prefetch", None)
        self._covered: set[str] = set()
        self._static: dict[str, dict[SelectKey, int]] = {}
        self._lock = threading.Lock()

    def before(self, g: Group, ts: int, upcoming: Iterable[Group]) -> None:
        """Called before ``g`` evaluates at ``ts``; ``upcoming`` are the groups due after
        it, in order. Reads ahead unless an earlier read covered ``g``."""
        if self._fetch is None:
            return
        with self._lock:
            if g.key in self._covered:
                self._covered.discard(g.key)
                return
            selects, last = self._selects(g, ts, upcoming)
            n = self._fetch(selects) if selects else 0
            self._covered = {key for key, i in last.items() if i < n}
            self._covered.discard(g.key)

    def _selects(self, g: Group, ts: int, upcoming: Iterable[Group]) -> tuple[list[Select], dict[str, int]]:
        """The groups' selects, each selector once over the union of its windows, and
        for each group the index of its last select (-1 if none)."""
        windows: dict[SelectKey, list[int]] = {}  # key -> [index, mint, maxt]
        last: dict[str, int] = {}
        for h, t in _with_times(g, ts, upcoming):
            i = -1
            for key, span in self._spans(h).items():
                w = windows.get(key)
                if w is None:
                    w = windows[key] = [len(windows), t - span, t]
                w[1], w[2] = min(w[1], t - span), max(w[2], t)
                i = max(i, w[0])
            last[h.key] = i
            if len(windows) >= _MAX_SELECTS:
                break
        return [(key, w[1], w[2]) for key, w in windows.items()], last

    def _spans(self, g: Group) -> dict[SelectKey, int]:
        """What ``g`` selected, each over its widest window: as of its last evaluation,
        or read from its rules' expressions before the first."""
        spans = g.select_spans
        if spans:
            return spans
        static = self._static.get(g.key)
        if static is None:
            static = self._static[g.key] = static_spans(g.rules)
        return static

    def forget(self) -> None:
        """Drop what was read from rule expressions (the rules were reloaded)."""
        with self._lock:
            self._static.clear()
            self._covered.clear()


def _with_times(g: Group, ts: int, upcoming: Iterable[Group]) -> Iterator[tuple[Group, int]]:
    yield g, ts
    for h in upcoming:
        if h is not g:
            yield h, next_slot(h, ts)


def static_spans(rules: Sequence[AnyRule]) -> dict[SelectKey, int]:
    """Each selector of the rules' expressions with the widest window it reads."""
    out: dict[SelectKey, int] = {}
    for r in rules:
        try:
            node = parse(r.expr)
        except Exception:  # noqa: BLE001 - a rule that does not parse selects nothing
            continue
        for sel, span in _selectors(node):
            out[sel] = max(out.get(sel, 0), span)
    return out


def _selectors(node: Any) -> Iterator[tuple[SelectKey, int]]:
    if isinstance(node, MatrixSelector):
        yield tuple(node.selector.matchers), node.range_ms + node.selector.offset_ms
        return
    if isinstance(node, VectorSelector):
        yield tuple(node.matchers), _LOOKBACK_MS + node.offset_ms
        return
    for attr in ("expr", "lhs", "rhs", "param"):
        child = getattr(node, attr, None)
        if child is not None:
            yield from _selectors(child)
    for child in getattr(node, "args", ()):
        yield from _selectors(child)
