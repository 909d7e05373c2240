"""Backfill: turn an OpenMetrics file into TSDB blocks (``sloguard import openmetrics``).

Like ``promtool tsdb create-blocks-from openmetrics``: every sample needs a timestamp,
the file must end with ``# EOF``, and the blocks (aligned to the block duration, 2h by
default) are written directly, without going through the WAL. The file is read in
chunks (progress is reported in bytes read), lines are scanned by ``backfill_scan``
with the exact exposition parser behind it, and samples go to ``tsdb.BlockWriter``.
Any parse error stops the import before anything is written and names the line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from sloguard.ingest._errors import IngestError
from sloguard.ingest.backfill_scan import ChunkSamples, ChunkScanner
from sloguard.ingest.exposition import ExpositionError
from sloguard.tsdb import BlockWriter, TSDBError

__all__ = ["BackfillError", "BackfillReport", "import_openmetrics"]

DEFAULT_CHUNK_BYTES = 8 << 20
HOUR_MS = 3_600_000


class BackfillError(IngestError):
    """The import was refused; the message names the file and, for bad input, the line."""


@dataclass(frozen=True, slots=True)
class BackfillReport:
    """What an import wrote: sample and series counts, time range (ms), block dirs."""

    samples: int
    series: int
    mint: int
    maxt: int
    blocks: tuple[Path, ...]
    bytes_read: int


def iter_line_chunks(f: BinaryIO, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[tuple[bytes, int]]:
    """Yield (whole-lines chunk ending in ``\\n``, bytes consumed) from a binary file."""
    rest = b""
    while True:
        data = f.read(chunk_bytes)
        if not data:
            break
        buf = rest + data if rest else data
        cut = buf.rfind(b"\n") + 1
        if cut == 0:
            rest = buf
            continue
        rest = buf[cut:]
        yield buf[:cut], len(data)
    if rest:
        yield rest + b"\n", 0


class _Collector:
    """Feeds each chunk's samples to the block writer; tracks counts and time range."""

    def __init__(self, writer: BlockWriter, scanner: ChunkScanner) -> None:
        self.writer = writer
        self.scanner = scanner
        self.samples = 0
        self.mint = np.iinfo(np.int64).max
        self.maxt = np.iinfo(np.int64).min

    def add(self, cs: ChunkSamples) -> None:
        if not len(cs.ids):
            return
        ids, ts = cs.ids, cs.timestamps
        self.writer.add_batch(self.scanner.labels, ids, ts, cs.values)
        self.samples += len(ids)
        self.mint = min(self.mint, int(ts.min()))
        self.maxt = max(self.maxt, int(ts.max()))


def import_openmetrics(
    source: str | Path,
    data_dir: str | Path,
    *,
    block_duration_ms: int = 2 * HOUR_MS,
    on_progress: Callable[[int], None] | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> BackfillReport:
    """Import the OpenMetrics file ``source`` as blocks under ``data_dir``.

    ``on_progress`` is called with the number of bytes read since its last call.
    """
    scanner = ChunkScanner()
    writer = BlockWriter(data_dir, block_duration_ms=block_duration_ms)
    coll = _Collector(writer, scanner)
    read = 0
    line = 1
    try:
        with open(source, "rb") as f:
            for chunk, n in iter_line_chunks(f, chunk_bytes):
                coll.add(scanner.scan(chunk, line))
                line += chunk.count(b"\n")
                read += n
                if on_progress is not None:
                    on_progress(n)
            scanner.finish(line - 1)
    except ExpositionError as e:
        raise BackfillError(f"{source}: {e}") from None
    except OSError as e:
        raise BackfillError(f"cannot read {source}: {e.strerror or e}") from None
    try:
        blocks = tuple(writer.close())
    except (TSDBError, OSError) as e:
        raise BackfillError(f"cannot write blocks to {data_dir}: {e}") from None
    if not coll.samples:
        return BackfillReport(0, 0, 0, 0, blocks, read)
    return BackfillReport(coll.samples, len(scanner.labels), coll.mint, coll.maxt, blocks, read)
