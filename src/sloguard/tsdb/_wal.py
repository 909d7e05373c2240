"""Write-ahead log: numbered segment files of CRC-framed records, plus checkpoints.

Frame: ``u32 payload length | u32 crc32(payload) | payload``. A segment is cut when
it would exceed the segment size. ``checkpoint.N`` (a directory holding one segment)
replaces every segment numbered ``<= N``; replay reads the newest checkpoint, then the
segments after it. Reading a segment, and what replay does with damage, is in
``_walscan`` and ``_replay``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

_FRAME = struct.Struct("<II")


def frame(payload: bytes) -> bytes:
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def segment_numbers(wal_dir: Path) -> list[int]:
    return sorted(int(p.name) for p in wal_dir.iterdir() if p.name.isdigit())


def checkpoints(wal_dir: Path) -> list[tuple[int, Path]]:
    out = []
    for p in wal_dir.iterdir():
        head, _, num = p.name.partition(".")
        if head == "checkpoint" and num.isdigit() and p.is_dir():
            out.append((int(num), p))
    return sorted(out)


def seg_path(wal_dir: Path, n: int) -> Path:
    return wal_dir / f"{n:08d}"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WALWriter:
    """Appends framed records to the newest segment; fsync is the caller's call.

    ``log`` runs under the TSDB's commit lock; ``sync_to`` may run outside it, so
    concurrent commits share fsyncs (group commit): one caller fsyncs everything
    written so far, and the others find their bytes already synced.
    """

    def __init__(self, wal_dir: Path, segment_bytes: int, clock: Callable[[], float]) -> None:
        self.dir = wal_dir
        self.segment_bytes = segment_bytes
        self._clock = clock
        self._sync_lock = threading.Lock()
        nums = segment_numbers(wal_dir)
        self.segment = nums[-1] if nums else 0
        self._f = open(seg_path(wal_dir, self.segment), "ab")  # noqa: SIM115 (kept open)
        self.size = self._f.tell()
        self.written_total = 0
        self.synced_total = 0
        self.fsyncs = 0
        self.fsync_seconds = 0.0
        self.fsync_last = 0.0

    def log(self, payloads: list[bytes]) -> int:
        """Write records; return the running byte count to pass to ``sync_to``."""
        buf = b"".join(frame(p) for p in payloads)
        if self.size and self.size + len(buf) > self.segment_bytes:
            self.cut()
        try:
            self._f.write(buf)
            self._f.flush()
        except OSError:
            self._undo_partial_write()
            raise
        self.size += len(buf)
        self.written_total += len(buf)
        return self.written_total

    def _undo_partial_write(self) -> None:
        """After a failed write (e.g. disk full): cut the segment back to its last whole
        record, so the next commit's records are not written after torn bytes (which
        replay would stop at, losing them). The buffered rest is discarded with the file
        object (closing it closes the file even when the final flush fails again)."""
        path = seg_path(self.dir, self.segment)
        with self._sync_lock:  # a concurrent sync_to may be fsyncing this file
            with contextlib.suppress(OSError):
                self._f.close()
            try:
                os.truncate(path, self.size)
            finally:
                self._f = open(path, "ab")  # noqa: SIM115 (kept open)

    def sync_to(self, written: int) -> None:
        """Return once the first ``written`` bytes ever logged are on stable storage."""
        if self.synced_total >= written:
            return
        with self._sync_lock:
            if self.synced_total < written:
                self._fsync()

    def _fsync(self) -> None:  # caller holds _sync_lock
        target = self.written_total  # everything counted here is flushed to this file
        start = self._clock()
        os.fsync(self._f.fileno())
        took = self._clock() - start
        self.fsyncs += 1
        self.fsync_seconds += took
        self.fsync_last = took
        self.synced_total = max(self.synced_total, target)

    def cut(self) -> int:
        """Close the current segment (fsynced) and start the next; return its number."""
        with self._sync_lock:
            if self.synced_total < self.written_total:
                self._fsync()
            self._f.close()
            self.segment += 1
            self._f = open(seg_path(self.dir, self.segment), "ab")  # noqa: SIM115
            self.size = 0
            fsync_dir(self.dir)
            return self.segment

    def close(self) -> None:
        with self._sync_lock:
            if not self._f.closed:
                if self.synced_total < self.written_total:
                    self._fsync()
                self._f.close()


def reader_floor(wal_dir: Path, upto: int, keep: int | None) -> int:
    """What may be deleted when ``checkpoint.<upto>`` is written while a WAL reader still
    needs segment ``keep``: the reader's series are defined by the newest checkpoint
    before ``keep`` and the segments after that checkpoint, so segments and checkpoints
    up to that checkpoint's number (not after) may go. ``-1``: nothing may go."""
    if keep is None or keep > upto:
        return upto
    older = [n for n, _ in checkpoints(wal_dir) if n < keep]
    return min(upto, older[-1]) if older else -1


def write_checkpoint(wal_dir: Path, upto: int, payloads: Iterator[bytes], keep: int | None = None) -> Path:
    """Atomically write ``checkpoint.<upto>`` and drop what it replaces (except what a
    WAL reader still needs at segment ``keep``, see ``reader_floor``)."""
    final = wal_dir / f"checkpoint.{upto:08d}"
    tmp = wal_dir / f"checkpoint.{upto:08d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    with open(seg_path(tmp, 0), "wb") as f:
        for p in payloads:
            f.write(frame(p))
        f.flush()
        os.fsync(f.fileno())
    fsync_dir(tmp)
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    fsync_dir(wal_dir)
    remove_before(wal_dir, reader_floor(wal_dir, upto, keep))
    return final


def remove_before(wal_dir: Path, upto: int) -> None:
    """Delete segments ``<= upto`` and checkpoints older than ``checkpoint.<upto>``."""
    if upto < 0:
        return
    for n in segment_numbers(wal_dir):
        if n <= upto:
            seg_path(wal_dir, n).unlink(missing_ok=True)
    for n, p in checkpoints(wal_dir):
        if n < upto:
            shutil.rmtree(p, ignore_errors=True)
    for p in wal_dir.glob("checkpoint.*.tmp"):
        shutil.rmtree(p, ignore_errors=True)


def wal_bytes(wal_dir: Path) -> int:
    return sum(p.stat().st_size for p in wal_dir.rglob("*") if p.is_file())
