"""Issue 8, item 5: corruption never silently loses or falsifies data.

WAL: 16 flipped bytes in the middle of segment 1 of 3 (written with small segments, server
stopped): every record outside the damaged bytes comes back, the loss is reported in
``/api/v1/status/tsdb`` and ``/metrics``, and the damaged bytes stay on disk. Blocks: a flipped
``tminmax.npy``, ``chunks`` or ``labels.json.zst``, or a deleted ``meta.json``: the server starts,
never answers wrongly (all the block's data, or none of it with the file named in the log),
and ``/-/ready`` reports the degraded state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from sloguard.ingest.backfill import import_openmetrics
from sloguard.labels import Labels
from sloguard.tsdb import TSDB
from sloguard.tsdb._options import TSDBOptions
from tests.adversarial.conftest import (
    DEGRADED_WORDS,
    Acked,
    Server,
    assert_healthy,
    metric_values,
    numbers_under,
)

pytestmark = [pytest.mark.adversarial, pytest.mark.timeout(90)]

SEGMENT_BYTES = 32 * 1024
SERIES_PER_BATCH, SAMPLES_PER_SERIES = 4, 25
LOSS_KEYS = r"lost|dropped|corrupt"
WAL_LOSS_METRIC = r"\w*wal\w*(corrupt|lost|dropped)\w*"


def _flip(path: Path, offset: int, n: int = 16) -> bytes:
    """XOR ``n`` bytes at ``offset`` with 0xFF; returns the damaged bytes (as now on disk)."""
    data = bytearray(path.read_bytes())
    for i in range(offset, offset + n):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    return bytes(data[offset:offset + n])


def _kept_on_disk(root: Path, needle: bytes) -> bool:
    return any(p.is_file() and needle in p.read_bytes() for p in root.rglob("*"))


class WalFixture:
    """A WAL of >= 3 segments; each batch (its own series) is one commit at a known byte range."""

    def __init__(self, data: Path) -> None:
        self.acked = Acked("walt")
        self.where: dict[str, tuple[int, int, int]] = {}  # batch -> (segment, start, end)
        db = TSDB.open(data, TSDBOptions(wal_segment_bytes=SEGMENT_BYTES))
        wal = data / "wal"
        now = int(time.time() * 1000) - 600_000
        k = 0
        while len(self._segments(wal)) < 3 or self._batches_in_third() < 5:
            self._batch(db, wal, k, now + k * 100)
            k += 1
        db.close()

    @staticmethod
    def _segments(wal: Path) -> list[Path]:
        return sorted(p for p in wal.iterdir() if p.name.isdigit())

    def _batches_in_third(self) -> int:
        return sum(1 for seg, _, _ in self.where.values() if seg >= 2)

    def _batch(self, db: TSDB, wal: Path, k: int, t0: int) -> None:
        app = db.appender()
        series = []
        for s in range(SERIES_PER_BATCH):
            labels = (("__name__", "walt"), ("batch", str(k)), ("s", str(s)))
            ts = [t0 + j for j in range(SAMPLES_PER_SERIES)]
            vs = [k * 1000.0 + s * 100 + j for j in range(SAMPLES_PER_SERIES)]
            for t, v in zip(ts, vs, strict=True):
                app.append(Labels.of(**dict(labels)), t, v)
            series.append((labels, ts, vs))
        segs_before = self._segments(wal)
        start = segs_before[-1].stat().st_size if segs_before else 0
        app.commit()
        segs = self._segments(wal)
        if len(segs) > len(segs_before):
            start = 0
        self.where[str(k)] = (len(segs) - 1, start, segs[-1].stat().st_size)
        for labels, ts, vs in series:
            self.acked.samples[labels] = dict(zip(ts, vs, strict=True))


def test_wal_damage_in_segment_1_of_3_keeps_every_intact_record(tmp_path: Path) -> None:
    server = Server(tmp_path, "global: {scrape_interval: 15s}\nscrape_configs: []\n", [])
    wal = WalFixture(server.data_dir)
    first = WalFixture._segments(server.data_dir / "wal")[0]
    offset = first.stat().st_size // 2
    damaged = _flip(first, offset)
    hit = {b for b, (seg, a, z) in wal.where.items() if seg == 0 and a < offset + 16 and offset < z}
    server.start()
    try:
        assert_healthy(server)
        got = wal.acked.fetch(server)
        lost, wrong = [], []
        for labels, want in wal.acked.samples.items():
            batch = dict(labels)["batch"]
            have = got.get(tuple(sorted(labels)), {})
            wrong += [(batch, t) for t, v in have.items() if want.get(t) != v]
            if batch not in hit and have != want:
                lost.append(batch)
        assert not wrong, f"WAL replay returned values never written: {wrong[:5]}"
        assert not lost, f"intact records lost (damage hit batches {sorted(hit)}): batches {sorted(set(lost))[:10]}"
        _, status = server.get_json("/api/v1/status/tsdb")
        assert any(v > 0 for v in numbers_under(status, LOSS_KEYS).values()), f"no loss in status/tsdb: {status}"
        metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
        assert any(v > 0 for v in metric_values(metrics, WAL_LOSS_METRIC).values()), "no WAL loss on /metrics"
        assert _kept_on_disk(server.data_dir, damaged), "the damaged WAL bytes were deleted, not moved aside"
    finally:
        server.stop(timeout_s=5.0)


BLOCK_SERIES, BLOCK_SAMPLES = 20, 100


def _import_block(data: Path) -> tuple[Path, int, float]:
    """One imported block of ``blk``; (its directory, its sample count, a time after it)."""
    two_h = 7_200_000
    start = (int(time.time() * 1000) - 3 * two_h) // two_h * two_h
    lines = [
        f'blk{{s="{s}"}} {s + j} {(start + 60_000 * (j + 1)) / 1000:.3f}'
        for s in range(BLOCK_SERIES) for j in range(BLOCK_SAMPLES)
    ]
    src = data.parent / "blk.om"
    src.write_text("# TYPE blk gauge\n" + "\n".join(lines) + "\n# EOF\n")
    report = import_openmetrics(src, data)
    assert len(report.blocks) == 1, report
    block = next(p for p in data.iterdir() if (p / "meta.json").exists())
    return block, report.samples, (start + two_h) / 1000


def _damage(block: Path, what: str) -> tuple[str, bytes | None]:
    if what == "meta.json":
        (block / "meta.json").unlink()
        return "meta.json", None
    path = block / what
    size = path.stat().st_size
    offset = max(size // 2, min(size - 16, 128))  # tminmax.npy: past the .npy header
    return what, _flip(path, offset, min(16, size - offset))


@pytest.mark.parametrize("what", ["tminmax.npy", "chunks", "labels.json.zst", "meta.json"])
def test_a_damaged_block_is_quarantined_never_served_wrong(
    make_server: Callable[..., Server], what: str
) -> None:
    server = make_server(start=False)
    server.data_dir.mkdir(parents=True, exist_ok=True)
    block, samples, after = _import_block(server.data_dir)
    name, damaged = _damage(block, what)
    server.start()
    assert_healthy(server)
    status, body = server.query("sum(count_over_time(blk[6h]))", at=after)
    assert status == 200, f"a query over the damaged block answered {status}: {body}"
    result = body["data"]["result"]
    answer = float(result[0]["value"][1]) if result else 0.0
    assert answer in (samples, 0.0), f"wrong answer: {answer} samples instead of {samples} (or none, declared lost)"
    logs = server.logs()
    named = [line for line in logs.splitlines() if name in line and any(w in line.lower() for w in DEGRADED_WORDS)]
    assert named, f"no log line names {name} as quarantined; log tail:\n{server.log_tail()}"
    r = httpx.get(f"{server.url}/-/ready", timeout=2)
    assert r.status_code != 200 or any(w in r.text.lower() for w in DEGRADED_WORDS), f"/-/ready: {r.text}"
    if damaged is not None:
        assert _kept_on_disk(server.data_dir, damaged), "the damaged block file was deleted"
