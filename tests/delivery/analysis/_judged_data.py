"""A TSDB holding synthetic baseline, canary and stable series for judge-metric tests:
``req_total{version, code}`` counters and ``lat_bucket{version, le}`` histograms, one
sample every 15 s from an hour before ``T0`` to an hour after."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sloguard.labels import Labels
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions

T0 = 1_700_000_000_000
STEP_MS = 15_000
BOUNDS = ("0.1", "0.25", "0.5", "1", "+Inf")
FAST = (0.70, 0.20, 0.08, 0.015, 0.005)  # share of requests in each bucket (not cumulative)
SLOW = (0.50, 0.25, 0.15, 0.07, 0.03)


@dataclass(frozen=True, slots=True)
class Arm:
    requests: float = 200.0  # per 15 s
    error_share: float = 0.01
    latency: tuple[float, ...] = FAST


def write(path: Path, arms: Mapping[str, Arm]) -> None:
    """Write ``arms`` (version label value -> traffic) into a fresh TSDB at ``path``."""
    db = TSDB.open(path, TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
    ts = np.arange(T0 - 3_600_000, T0 + 3_600_001, STEP_MS, dtype=np.int64)
    app = db.appender()
    for version, arm in arms.items():
        steps = np.arange(1, len(ts) + 1, dtype=float)
        errors = np.floor(steps * arm.requests * arm.error_share)
        app.append_many(Labels.of(name__="req_total", version=version, code="500"), ts, errors)
        app.append_many(Labels.of(name__="req_total", version=version, code="200"), ts, steps * arm.requests - errors)
        cumulative = np.cumsum(arm.latency)
        for le, share in zip(BOUNDS, cumulative, strict=True):
            app.append_many(Labels.of(name__="lat_bucket", version=version, le=le), ts, np.floor(steps * arm.requests * share))
    app.commit()
    db.close()


def open_engine(path: Path) -> tuple[TSDB, object]:
    from sloguard.promql.engine import PromQLEngine

    db = TSDB.open(path, TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
    return db, PromQLEngine(db)


EVENTS = 'sum(increase(req_total{code="500",$ARM}[$WINDOW]))'
EXPOSURE = 'sum(increase(req_total{$ARM}[$WINDOW]))'
BUCKETS = 'sum by (le) (increase(lat_bucket{$ARM}[$WINDOW]))'
