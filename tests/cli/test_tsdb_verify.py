"""`sloguard tsdb verify DATA_DIR`: a table of damage and exit 1, or exit 0 when clean."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from sloguard.api._storage import DataDirLock
from sloguard.cli import app
from sloguard.labels import Labels
from sloguard.tsdb import TSDB, BlockWriter, TSDBOptions

BD = 10_000


def _data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    with BlockWriter(data, block_duration_ms=BD) as bw:
        bw.add(Labels.of(name__="up"), np.arange(0, 2 * BD, 1000, dtype=np.int64), np.ones(20))
    with TSDB.open(data, TSDBOptions(block_duration_ms=BD)) as db:
        for i in range(5):
            app_ = db.appender()
            app_.append(Labels.of(name__="up", i="head"), 100_000 + i, 1.0)
            app_.commit()
    return data


def _verify(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["tsdb", "verify", *args])
    return result.exit_code, result.output


def test_a_clean_directory_passes(tmp_path: Path) -> None:
    code, out = _verify(str(_data(tmp_path)))
    assert code == 0, out
    assert "checked 1 WAL file(s) and 2 block(s)" in out and "no damage found" in out


def test_damage_in_a_block_and_the_wal_is_listed_by_file_and_exits_1(tmp_path: Path) -> None:
    data = _data(tmp_path)
    block = sorted(p for p in data.iterdir() if (p / "meta.json").exists())[0]
    chunks = block / "chunks"
    raw = bytearray(chunks.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    chunks.write_bytes(bytes(raw))
    seg = max((p for p in (data / "wal").iterdir() if p.name.isdigit() and p.stat().st_size), key=lambda p: p.name)
    wal = bytearray(seg.read_bytes())
    wal[-3] ^= 0xFF
    seg.write_bytes(bytes(wal))
    code, out = _verify(str(data))
    assert code == 1, out
    flat = " ".join(out.split())
    assert "chunks does not match the CRC32 recorded in meta.json" in flat
    assert "are unreadable" in flat and "2 problem(s)" in flat
    assert block.is_dir() and chunks.read_bytes() == bytes(raw)  # verify changes nothing


def test_a_directory_held_by_a_server_is_refused_unless_forced(tmp_path: Path) -> None:
    data = _data(tmp_path)
    lock = DataDirLock(data)
    lock.acquire()
    try:
        code, out = _verify(str(data))
        assert code == 2 and "is in use by sloguard pid" in out
        code, out = _verify(str(data), "--force")
        assert code == 0 and "checking anyway" in out
    finally:
        lock.release()
