"""The ruler's real write-back for tests: a local TSDB whose WAL a ``WriteStorage`` queue
sends to the peer, synced with ``QueueSync`` (and the peer flushed, for VictoriaMetrics,
which makes new samples searchable about a second after it took them)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sloguard.remote._sync import QueueSync
from sloguard.remote.write import RemoteWriteConfig, WriteStorage, wal_keep
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions
from tests.remote._peers import Peer


class PeerSync:
    """``WriteBack``: the queues delivered, then the peer made it searchable."""

    def __init__(self, inner: QueueSync, peer: Peer) -> None:
        self.inner, self.peer, self.syncs = inner, peer, 0

    def sync(self, timeout_s: float) -> bool:
        self.syncs += 1
        ok = self.inner.sync(timeout_s)
        self.peer.flush()
        return ok


async def ruler_local(peer: Peer, root: Path, poll_ms: int = 2) -> tuple[TSDB, WriteStorage, PeerSync]:
    """The ruler's local TSDB (WAL only matters) and its started remote-write queue."""
    wal, state = root / "wal", root / "remote_write"
    db = TSDB.open(root, TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0, wal_keep=wal_keep(state, wal)))
    cfg = RemoteWriteConfig(url=peer.write_url, metadata_config={"send": False},  # type: ignore[arg-type]
                            queue_config={"batch_send_deadline": 50})  # type: ignore[arg-type]
    ws = WriteStorage([cfg], wal, state, poll_ms=poll_ms)
    await ws.start()
    return db, ws, PeerSync(QueueSync(ws.queues, wal, asyncio.get_running_loop()), peer)
