"""Finding, verifying and quarantining the block directories of a data directory.

A block directory is one named like a ULID or holding a ``meta.json`` (``*.tmp``
directories are blocks still being written and are never read). Every new block is
verified in full before it is used (``Block``); one that fails is moved to
``<data>/quarantine/<ulid>`` with a loud error naming the file and the problem, so it is
never served and never deleted. A block directory without ``meta.json`` is incomplete:
quarantined on open, and on a live reload only waited for (a copy may be under way).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from sloguard.tsdb._block import Block
from sloguard.tsdb._cache import FrameCache
from sloguard.tsdb._integrity import BlockCorruptError
from sloguard.tsdb._merge import finish_interrupted
from sloguard.tsdb._options import QuarantinedBlock
from sloguard.tsdb._quarantine import QUARANTINE, quarantine_block

log = logging.getLogger("sloguard.tsdb")
_NOT_BLOCKS = frozenset({"wal", QUARANTINE})
_B32 = frozenset("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def block_dirs(data_dir: Path) -> list[Path]:
    """Directories of ``data_dir`` that are (or were meant to be) blocks."""
    return [
        p for p in sorted(data_dir.iterdir())
        if p.is_dir() and not p.name.endswith(".tmp") and p.name not in _NOT_BLOCKS
        and ((p / "meta.json").exists() or (len(p.name) == 26 and set(p.name) <= _B32))
    ]


@dataclass(slots=True)
class BlockSet:
    """Loads the blocks of ``data_dir``, keeping those already open, and records every
    block it had to quarantine."""

    data_dir: Path
    cache: FrameCache
    quarantined: list[QuarantinedBlock] = field(default_factory=list)
    _waiting: set[str] = field(default_factory=set)
    _refused: set[str] = field(default_factory=set)  # damaged, but could not be moved

    def load(self, current: list[Block], live: bool) -> list[Block]:
        """The verified blocks now on disk (``current`` ones reused unless damaged)."""
        for b in current:
            if b.damaged:
                b.release()
                self.quarantine(b.path, b.damaged)
        known = {b.path.name: b for b in current if not b.damaged}
        opened: dict[str, Block] = {}
        for p in block_dirs(self.data_dir):
            if p.name in self._refused:
                continue
            block = known.get(p.name) or self._open(p, live)
            if block is not None:
                opened[p.name] = block
        keep = finish_interrupted([b.path for b in opened.values()], {n: b.meta for n, b in opened.items()})
        for b in opened.values():
            if b.path not in keep:
                b.release()
        return sorted((opened[p.name] for p in keep), key=lambda b: (b.mint, b.maxt, b.ulid))

    def _open(self, path: Path, live: bool) -> Block | None:
        if live and not (path / "meta.json").exists():
            if path.name not in self._waiting:
                self._waiting.add(path.name)
                log.warning("block directory %s has no meta.json yet; it is loaded once complete "
                            "(or quarantined on the next start if it stays incomplete)", path)
            return None
        try:
            block = Block(path, self.cache)
        except BlockCorruptError as e:
            self.quarantine(path, e.reason)
            return None
        if not block.checksummed:
            log.info("block %s has no checksums (written before sloguard recorded them): "
                     "only its structure was verified", path)
        self._waiting.discard(path.name)
        return block

    def quarantine(self, path: Path, reason: str) -> None:
        try:
            dst = quarantine_block(self.data_dir, path, reason)
        except OSError as e:
            log.error("block %s is damaged (%s) and could not be moved to quarantine: %s; it is not served",
                      path, reason, e)
            dst = path
            self._refused.add(path.name)
        self.quarantined.append(QuarantinedBlock(path.name, str(dst), reason))
        log.error("block %s is damaged and was quarantined to %s, its data is not served: %s", path, dst, reason)

