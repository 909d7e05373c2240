"""Options, statistics and reports of the embedded TSDB."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sloguard.tsdb._types import RejectReason

HOUR_MS = 3_600_000
DEFAULT_BLOCK_MS = 2 * HOUR_MS


class FsyncPolicy(enum.Enum):
    """When the WAL is fsynced relative to a commit's acknowledgement."""

    PER_COMMIT = "per_commit"  # fsync before every commit returns (default, no loss)
    INTERVAL = "interval"  # fsync by the first commit after ``fsync_interval_ms``
    NEVER = "never"  # leave it to the OS (fast; a machine crash may lose recent commits)


@dataclass(frozen=True, slots=True)
class TSDBOptions:
    """How the TSDB stores data.

    ``retention_ms``/``retention_bytes`` of 0 mean "no limit"; ``max_series`` and
    ``max_series_per_metric`` of 0 mean "unlimited". ``block_duration_ms`` is the time
    range of one on-disk block; the head is cut when it spans 1.5 times that. Older
    blocks are merged into ranges 3, 9, 27... times as long, up to
    ``max_block_duration_ms`` (0: a tenth of the retention, at most 31 days, as in
    Prometheus; equal to ``block_duration_ms``: never merge).
    ``monotonic`` is the clock used for fsync intervals and durations (injected in tests).
    ``wal_keep`` (if set) returns the oldest WAL segment a reader of the WAL (remote
    write) still needs, or ``None``: checkpoints then keep that segment, the segments
    after it and the checkpoint it starts from (see ``_wal.reader_floor``).
    """

    fsync: FsyncPolicy = FsyncPolicy.PER_COMMIT
    fsync_interval_ms: int = 1000
    wal_segment_bytes: int = 128 * 1024 * 1024
    block_duration_ms: int = DEFAULT_BLOCK_MS
    max_block_duration_ms: int = 0
    retention_ms: int = 15 * 24 * HOUR_MS
    retention_bytes: int = 0
    max_series: int = 0
    max_series_per_metric: int = 0
    auto_compact: bool = True
    decoded_cache_bytes: int = 256 * 1024 * 1024
    monotonic: Callable[[], float] = field(default=time.monotonic, compare=False)
    wal_keep: Callable[[], int | None] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class WALDamage:
    """One damaged WAL file as replay found and repaired it.

    ``ranges`` are the unreadable byte ranges ``[start, end)``; ``records`` is how many
    records were lost (at least one per range, plus intact frames that did not decode);
    ``samples`` the samples known to be lost with them (a damaged record header hides its
    count, so this is a lower bound). ``torn`` is a last record cut short by a crash.
    ``quarantined_to`` is where the original bytes were copied before the repair.
    """

    file: str
    ranges: tuple[tuple[int, int], ...]
    records: int
    samples: int
    torn: bool
    quarantined_to: str

    @property
    def bytes(self) -> int:
        return sum(b - a for a, b in self.ranges)


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """What opening the TSDB read back from the WAL, and what it could not.

    Replay keeps every intact record before and after damage. ``dropped_bytes``,
    ``dropped_records`` and ``dropped_samples`` total the damage (``dropped_samples``
    includes ``orphan_samples``: samples whose series record was lost, which are never
    attached to another series). ``damage`` lists each damaged file; its original bytes
    are kept under ``<data>/quarantine/wal``. ``dropped_segments`` stays 0 (no segment is
    dropped any more; kept for callers of the old report).
    """

    records: int = 0
    samples: int = 0
    series: int = 0
    checkpoint: str = ""
    dropped_bytes: int = 0
    dropped_records: int = 0
    dropped_samples: int = 0
    dropped_segments: int = 0
    corrupt_segment: str = ""
    duration_seconds: float = 0.0
    orphan_samples: int = 0
    damage: tuple[WALDamage, ...] = ()

    @property
    def dropped_anything(self) -> bool:
        return self.dropped_bytes > 0 or self.dropped_records > 0 or self.dropped_samples > 0

    @property
    def corrupted(self) -> bool:
        """Damage other than a torn last record (bytes that changed on disk)."""
        return any(not d.torn for d in self.damage) or (self.dropped_anything and not self.damage)


@dataclass(frozen=True, slots=True)
class QuarantinedBlock:
    """A block directory moved to ``<data>/quarantine`` because it failed verification."""

    ulid: str
    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class TSDBStats:
    """A snapshot of the TSDB's counters and sizes (for ``/metrics`` and reports).

    ``bytes_per_sample`` is the on-disk size of all blocks divided by their samples
    (0.0 while there are no blocks). ``wal_corruptions_total`` counts damaged WAL files
    found by replay (as ``prometheus_tsdb_wal_corruptions_total``), ``wal_replay_*_lost``
    what they cost, and ``quarantined_blocks`` the blocks set aside since the TSDB opened.
    """

    head_series: int
    head_samples: int
    head_min_time: int | None
    head_max_time: int | None
    samples_appended_total: int
    samples_rejected: dict[RejectReason, int]
    series_created_total: int
    series_rejected_by_limit: int
    wal_bytes: int
    wal_segments: int
    wal_fsyncs_total: int
    wal_fsync_seconds_total: float
    wal_fsync_last_seconds: float
    compactions_total: int
    compaction_seconds_total: float
    compaction_last_seconds: float
    blocks: int
    block_samples: int
    block_bytes: int
    bytes_on_disk: int
    bytes_per_sample: float
    retention_deleted_blocks_total: int
    wal_corruptions_total: int = 0
    wal_replay_records_lost: int = 0
    wal_replay_samples_lost: int = 0
    blocks_quarantined: int = 0
    quarantined_blocks: tuple[QuarantinedBlock, ...] = ()
