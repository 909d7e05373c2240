"""A write-back for tests until the remote-write queue is merged: a storage whose commits
also go, synchronously, to the backend's remote-write endpoint (so ``sync`` only has to make
them searchable). The real ruler sends from the WAL through ``sloguard.remote.write``."""

from __future__ import annotations

from typing import Any

import numpy as np

from sloguard.ingest.remote_write import encode_write_request
from sloguard.labels import Labels
from sloguard.tsdb import Storage
from tests.remote._peers import Peer


class _ForwardingAppender:
    def __init__(self, inner: Any, peer: Peer) -> None:
        self._inner, self._peer = inner, peer
        self._rows: list[tuple[Labels, int, float]] = []

    def append(self, labels: Labels, t: int, v: float) -> Any:
        self._rows.append((labels, t, v))
        return self._inner.append(labels, t, v)

    def append_many(self, labels: Labels, ts: Any, vs: Any) -> Any:
        for t, v in zip(np.asarray(ts).tolist(), np.asarray(vs).tolist(), strict=True):
            self._rows.append((labels, int(t), float(v)))
        return self._inner.append_many(labels, ts, vs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def commit(self) -> Any:
        result = self._inner.commit()
        if self._rows:
            self._peer.write(encode_write_request((ls, [t], [v]) for ls, t, v in self._rows))
        self._rows = []
        return result


class ForwardingStorage:
    """``local`` whose appenders also remote-write each commit to ``peer``."""

    def __init__(self, local: Storage, peer: Peer) -> None:
        self.local, self.peer = local, peer

    def appender(self, durable: bool = True) -> Any:
        return _ForwardingAppender(self.local.appender(durable=durable), self.peer)

    def querier(self) -> Any:
        return self.local.querier()


class PeerSync:
    """``WriteBack.sync``: commits already reached the peer; make them searchable."""

    def __init__(self, peer: Peer) -> None:
        self.peer, self.syncs = peer, 0

    def sync(self, timeout_s: float) -> bool:
        self.syncs += 1
        self.peer.flush()
        return True
