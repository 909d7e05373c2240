"""The ruler mode's pieces (Thanos Ruler, the Mimir ruler): rules read the backend and their
outputs go back to it through remote write.

:class:`RulerStorage` is what the rule manager writes to and restores ``for`` state from:
appends go to the local TSDB (whose WAL the remote-write queue sends from), reads go to
the backend. :class:`RuleQuery` is the rules' query function over a :class:`RemoteEngine`
with read-your-writes: before a query that may read a metric whose samples were committed
since the last sync (its name is in the query's text, or the query has a ``__name__``
matcher) it asks the :class:`WriteBack` to deliver what was committed (``sync``), so a rule
that reads an earlier rule's output (a ratio of two recorded rates, an SLO's period counts)
sees it, as it would in the embedded store. A ``sync`` that does not finish in time is logged and the query
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

LAGGING_SYNC_S = 0.2  #: how long a sync may wait while the write-back is behind


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
    """Metric names of rule outputs committed locally and not yet synced to the backend."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.names: set[str] = set()

    def take_if_read_by(self, expr: str) -> bool:
        """Whether ``expr`` may read a pending name (then they count as synced): a name in
        its text, or a ``__name__`` matcher, which may match any of them."""
        with self.lock:
            if not self.names or ("__name__" not in expr and not any(n in expr for n in self.names)):
                return False
            self.names.clear()
            return True


class _CountingAppender:
    """Notes the metric names of what it appends; they become pending at ``commit``."""

    def __init__(self, inner: Appender, commits: _Commits) -> None:
        self._inner, self._commits = inner, commits
        self._names: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def append(self, labels: Labels, t: int, v: float) -> None:
        self._names.add(labels.get("__name__"))
        self._inner.append(labels, t, v)

    def append_many(self, labels: Labels, ts: Any, vs: Any) -> None:
        self._names.add(labels.get("__name__"))
        self._inner.append_many(labels, ts, vs)

    def rollback(self) -> None:
        self._names.clear()
        self._inner.rollback()

    def commit(self) -> Any:
        result = self._inner.commit()
        with self._commits.lock:
            self._commits.names |= self._names
        self._names = set()
        return result


class RulerStorage:
    """Appends to ``local`` (counted for read-your-writes); ``querier()`` reads the backend,
    its ``select`` hiding the ``external_labels`` remote write adds to what it sends.
    Everything else (``stats``, ``close``, compaction) is the local store's."""

    def __init__(self, local: Storage, engine: RemoteEngine, external_labels: Labels | None = None) -> None:
        self.local, self.engine = local, engine
        self.external_labels = external_labels or Labels()
        self.commits = _Commits()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.local, name)

    def appender(self, durable: bool = True) -> Appender:
        return _CountingAppender(self.local.appender(durable=durable), self.commits)

    def querier(self) -> RemoteQuerier:
        return RemoteQuerier(self.engine, self.external_labels)


class RuleQuery:
    """The rules' ``QueryFunc`` (``(expr, t) -> Vector``) over the backend, syncing the
    write-back first when the query may read rule outputs committed since the last sync."""

    def __init__(self, engine: RemoteEngine, storage: RulerStorage, write_back: WriteBack,
                 sync_timeout_s: float = 10.0) -> None:
        self.engine, self.storage, self.write_back = engine, storage, write_back
        self.sync_timeout_s = sync_timeout_s
        self.sync_failures = 0
        self._lagging = False

    def __call__(self, expr: str, t: int) -> list[Sample]:
        self._sync(expr)
        res = self.engine.instant_query(expr, t)
        if res.result_type is ValueType.SCALAR and isinstance(res.value, Scalar):
            return [Sample(Labels(), t, res.value.v)]
        if res.result_type is not ValueType.VECTOR:
            raise PromQLError("rule result is not a vector or scalar")
        return res.value  # type: ignore[return-value]

    def sync_for(self, expr: str) -> None:
        """Before another query function reads ``expr``: the same wait as this one's."""
        self._sync(expr)

    def _sync(self, expr: str) -> None:
        """Wait for the write-back; after a sync that timed out, wait only ``LAGGING_SYNC_S``
        until one succeeds again, so a lagging queue slows the rules by little."""
        if not self.storage.commits.take_if_read_by(expr):
            return
        timeout = LAGGING_SYNC_S if self._lagging else self.sync_timeout_s
        ok = self.write_back.sync(timeout)
        if not ok and not self._lagging:
            log.warning("remote write did not deliver the rule outputs in time; rules read what the backend has "
                        "until it catches up", extra={"backend": self.engine.backend.url, "timeout_s": timeout})
        self.sync_failures += not ok
        self._lagging = not ok
