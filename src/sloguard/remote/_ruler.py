"""The ruler mode's pieces (Thanos Ruler, the Mimir ruler): rules read the backend and their
outputs go back to it through remote write.

:class:`RulerStorage` is what the rule manager writes to and restores ``for`` state from:
appends go to the local TSDB (whose WAL the remote-write queue sends from), reads go to
the backend. :class:`RuleQuery` is the rules' query function over a :class:`RemoteEngine`
with read-your-writes: before a query that follows a commit of rule outputs it asks the
:class:`WriteBack` to deliver what was committed (``sync``), so a rule that reads an earlier
rule's output (a ratio of two recorded rates, an SLO's period counts) sees it, as it would
in the embedded store. A ``sync`` that does not finish in time is logged and the query
reads what the backend has (the backend's own lag, as a Thanos ruler would).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from sloguard.labels import Labels
from sloguard.promql import PromQLError, Sample, Scalar, ValueType
from sloguard.remote._querier import RemoteQuerier
from sloguard.remote.queryable import RemoteEngine
from sloguard.tsdb import Appender, Storage

log = logging.getLogger("sloguard.remote")


class WriteBack(Protocol):
    """Delivers committed local samples to the backend (the remote-write queue)."""

    def sync(self, timeout_s: float) -> bool:
        """Block until everything committed before the call has reached the backend
        (``True``), or ``timeout_s`` passed (``False``)."""
        ...


class NoWriteBack:
    """No remote write configured: outputs stay local (reads never wait)."""

    def sync(self, timeout_s: float) -> bool:
        return True


class _Commits:
    """Counts commits of rule outputs not yet synced to the backend."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending = 0


class _CountingAppender:
    def __init__(self, inner: Appender, commits: _Commits) -> None:
        self._inner, self._commits = inner, commits

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def commit(self) -> Any:
        result = self._inner.commit()
        with self._commits.lock:
            self._commits.pending += 1
        return result


class RulerStorage:
    """Appends to ``local`` (counted for read-your-writes); ``querier()`` reads the backend.
    Everything else (``stats``, ``close``, compaction) is the local store's."""

    def __init__(self, local: Storage, engine: RemoteEngine) -> None:
        self.local, self.engine = local, engine
        self.commits = _Commits()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.local, name)

    def appender(self, durable: bool = True) -> Appender:
        return _CountingAppender(self.local.appender(durable=durable), self.commits)

    def querier(self) -> RemoteQuerier:
        return RemoteQuerier(self.engine)


class RuleQuery:
    """The rules' ``QueryFunc`` (``(expr, t) -> Vector``) over the backend, syncing the
    write-back first when rule outputs were committed since the last sync."""

    def __init__(self, engine: RemoteEngine, storage: RulerStorage, write_back: WriteBack,
                 sync_timeout_s: float = 10.0) -> None:
        self.engine, self.storage, self.write_back = engine, storage, write_back
        self.sync_timeout_s = sync_timeout_s
        self.sync_failures = 0

    def __call__(self, expr: str, t: int) -> list[Sample]:
        self._sync()
        res = self.engine.instant_query(expr, t)
        if res.result_type is ValueType.SCALAR and isinstance(res.value, Scalar):
            return [Sample(Labels(), t, res.value.v)]
        if res.result_type is not ValueType.VECTOR:
            raise PromQLError("rule result is not a vector or scalar")
        return res.value  # type: ignore[return-value]

    def _sync(self) -> None:
        commits = self.storage.commits
        with commits.lock:
            pending, commits.pending = commits.pending, 0
        if pending and not self.write_back.sync(self.sync_timeout_s):
            self.sync_failures += 1
            log.warning("remote write did not deliver the rule outputs in time; this query reads what the "
                        "backend has", extra={"backend": self.engine.backend.url, "timeout_s": self.sync_timeout_s})
