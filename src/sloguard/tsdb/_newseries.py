"""The series one commit creates: planned first, registered in the head only once their
WAL records are written.

A commit validates each new label set (names, values, limits), encodes its WAL entry
under the ref it will get, and keeps it here; order checks see the planned series as
series without samples. Only after ``WALWriter.log`` returned does ``register`` create
them in the head, so a commit that fails (a label set the WAL cannot hold, an I/O
error) leaves nothing half-made behind for the next one to trip over.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sloguard.labels import Labels
from sloguard.tsdb._appender import check_new_series
from sloguard.tsdb._head import T_MIN, U64, Head
from sloguard.tsdb._records import RecordError, encode_series_entry, series_records
from sloguard.tsdb._types import I64, RejectReason


@dataclass(slots=True)
class NewSeries:
    """The series a commit will create, in ref order from ``base`` (the head's series
    count when the commit started, under the head's lock)."""

    head: Head
    base: int
    labels: list[Labels] = field(default_factory=list)
    entries: list[bytes] = field(default_factory=list)
    refs: dict[Labels, int] = field(default_factory=dict)
    per_metric: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, head: Head) -> NewSeries:
        return cls(head, head.num_series)

    def __len__(self) -> int:
        return len(self.labels)

    def plan(self, labels: Labels, max_series: int, max_per_metric: int) -> tuple[RejectReason, str] | int:
        """The ref ``labels`` will get, or why it may not be created."""
        ref = self.refs.get(labels)
        if ref is not None:
            return ref
        why = check_new_series(labels, self.base + len(self.labels), self._metric_count, max_series, max_per_metric)
        if why is not None:
            return why
        ref = self.base + len(self.labels)
        try:
            entry = encode_series_entry(ref, labels)
        except RecordError as e:
            return RejectReason.INVALID_LABELS, str(e)
        name = labels.metric_name
        self.per_metric[name] = self.per_metric.get(name, 0) + 1
        self.labels.append(labels)
        self.entries.append(entry)
        self.refs[labels] = ref
        return ref

    def _metric_count(self, name: str) -> int:
        return self.head.metric_counts.get(name, 0) + self.per_metric.get(name, 0)

    def labels_of(self, ref: int) -> Labels:
        return self.head.labels[ref] if ref < self.base else self.labels[ref - self.base]

    def latest(self, r: I64) -> tuple[I64, U64]:
        """Each ref's latest stored (t, value bits); planned series have none yet."""
        head = self.head
        if not self.labels:
            return head.last_t[r], head.last_v[r]
        known = r < self.base
        last_t = np.full(len(r), T_MIN, np.int64)
        last_v = np.zeros(len(r), np.uint64)
        last_t[known] = head.last_t[r[known]]
        last_v[known] = head.last_v[r[known]]
        return last_t, last_v

    def records(self) -> list[bytes]:
        return series_records(self.entries) if self.entries else []

    def register(self) -> None:
        """Create the planned series in the head (after their WAL records are written)."""
        for i, labels in enumerate(self.labels):
            self.head.create_series(labels, self.base + i)
