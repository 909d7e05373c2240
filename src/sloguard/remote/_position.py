"""Each queue's WAL position, persisted after the samples before it were acknowledged.

One small JSON file per queue (``<state dir>/<queue name>.json``), replaced atomically
(write, then rename), so a restart (or SIGKILL) resumes where the last acknowledged
batch ended. ``wal_keep`` turns the files into the TSDB's ``wal_keep`` hook: the oldest
segment any queue still needs, within a bound on the bytes kept for lagging queues.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

from sloguard.remote._walwatch import WALPosition
from sloguard.tsdb._wal import seg_path, segment_numbers

log = logging.getLogger("sloguard.remote")

#: WAL bytes kept at most for queues that lag (about 2 GiB: 16 default segments).
DEFAULT_MAX_KEPT_BYTES = 2 << 30


class PositionError(Exception):
    """A position file that cannot be read or written; the message names it."""


def position_path(state_dir: Path, queue: str) -> Path:
    return state_dir / f"{queue}.json"


def load_position(state_dir: Path, queue: str) -> WALPosition | None:
    """The stored position of ``queue``, ``None`` if it has none yet."""
    path = position_path(state_dir, queue)
    try:
        doc = json.loads(path.read_text())
        return WALPosition(int(doc["segment"]), int(doc["offset"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise PositionError(f"remote write position file {path} is unreadable ({e}); "
                            "delete it to start that queue at the end of the WAL") from None


def store_position(state_dir: Path, queue: str, pos: WALPosition, url: str) -> None:
    """Replace the position file atomically (a crash leaves the old or the new one)."""
    path = position_path(state_dir, queue)
    tmp = path.with_suffix(".tmp")
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp.write_text(json.dumps({"segment": pos.segment, "offset": pos.offset, "url": url}))
    os.replace(tmp, path)


def forget_position(state_dir: Path, queue: str) -> None:
    """Remove the position of a queue no longer configured (the WAL it held is released)."""
    path = position_path(state_dir, queue)
    if path.exists():
        log.info("removing the position of a remote write queue no longer configured", extra={"file": str(path)})
    path.unlink(missing_ok=True)


def wal_keep(state_dir: Path, wal_dir: Path, max_bytes: int = DEFAULT_MAX_KEPT_BYTES) -> Callable[[], int | None]:
    """The TSDB hook: the oldest segment a queue's stored position is in, but not older
    than the segments holding the newest ``max_bytes`` of the WAL."""

    def keep() -> int | None:
        oldest = _oldest_position(state_dir)
        if oldest is None:
            return None
        bound = _bound(wal_dir, max_bytes)
        if bound is not None and oldest < bound:
            log.warning("a remote write queue lags more than %d WAL bytes (it is at segment %d); "
                        "segments before %d may be deleted before it sends them", max_bytes, oldest, bound)
            return bound
        return oldest

    return keep


def _oldest_position(state_dir: Path) -> int | None:
    segs = []
    for p in state_dir.glob("*.json") if state_dir.is_dir() else ():
        try:
            segs.append(int(json.loads(p.read_text())["segment"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return min(segs, default=None)


def _bound(wal_dir: Path, max_bytes: int) -> int | None:
    total = 0
    for n in reversed(segment_numbers(wal_dir)):
        try:
            total += seg_path(wal_dir, n).stat().st_size
        except FileNotFoundError:
            continue
        if total > max_bytes:
            return n
    return None
