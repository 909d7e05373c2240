"""Setting damaged data aside under ``<data>/quarantine`` instead of deleting it.

Nothing sloguard finds damaged is ever deleted: a damaged WAL file is copied to
``quarantine/wal/<file>.<offset>`` (with a ``.json`` note of the damaged byte ranges)
before the WAL is repaired, and a damaged block directory is moved whole to
``quarantine/<ulid>`` (with ``<ulid>.reason``). An operator can inspect or salvage them,
and delete them when done; sloguard never reads them again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sloguard.tsdb._wal import fsync_dir

QUARANTINE = "quarantine"


def _free_name(parent: Path, name: str) -> Path:
    path, n = parent / name, 1
    while path.exists():
        path, n = parent / f"{name}.{n}", n + 1
    return path


def quarantine_wal_file(data_dir: Path, src: Path, name: str, ranges: list[tuple[int, int]], whole: bool) -> Path:
    """Copy ``src`` (or only its damaged ranges, ``whole=False``) aside; return the copy."""
    parent = data_dir / QUARANTINE / "wal"
    parent.mkdir(parents=True, exist_ok=True)
    dst = _free_name(parent, f"{name}.{ranges[0][0] if ranges else 0}")
    if whole:
        shutil.copyfile(src, dst)
    else:
        with open(src, "rb") as f, open(dst, "wb") as out:
            for a, b in ranges:
                f.seek(a)
                out.write(f.read(b - a))
    note = {"source": str(src), "damagedRanges": [list(r) for r in ranges], "wholeFile": whole}
    dst.with_name(dst.name + ".json").write_text(json.dumps(note, indent=1) + "\n")
    fsync_dir(dst)
    fsync_dir(parent)
    return dst


def quarantine_block(data_dir: Path, block_dir: Path, reason: str) -> Path:
    """Move ``block_dir`` to ``quarantine/<name>`` and note why; return its new path."""
    parent = data_dir / QUARANTINE
    parent.mkdir(parents=True, exist_ok=True)
    dst = _free_name(parent, block_dir.name)
    block_dir.rename(dst)
    dst.with_name(dst.name + ".reason").write_text(reason + "\n")
    fsync_dir(parent)
    fsync_dir(data_dir)
    return dst
