"""``for`` state restore in ruler mode: a rule group started afresh reads
``ALERTS_FOR_STATE`` from the backend (a real Prometheus) and restores the same ``activeAt``
as the embedded store restores from the same samples."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from sloguard.ingest.remote_write import encode_write_request
from sloguard.labels import Labels
from sloguard.promql.engine import PromQLEngine
from sloguard.remote import QueryBackend, RemoteEngine
from sloguard.remote._ruler import NoWriteBack, RuleQuery, RulerStorage
from sloguard.rules import AlertingRule, ManagerOptions, RuleManager, engine_query_func
from sloguard.tsdb import STALE_NAN, TSDB, FsyncPolicy, TSDBOptions
from tests.remote._peers import prometheus

RULES = """
groups:
  - name: probes
    rules:
      - alert: ProbeHigh
        expr: probe_value > 1
        for: 30m
"""


def _history(now: int, resolved: bool = False) -> list[tuple[Labels, np.ndarray, np.ndarray]]:
    """The probe, and a ruler that kept the alert active since 5 minutes before it went down
    40 s ago; ``resolved``: the alert had resolved 30 s ago instead (a staleness marker)."""
    t = np.arange(now - 120_000, now - 40_000 + 1, 10_000, dtype=np.int64)
    v = np.full(len(t), (now - 300_000) // 1000, np.float64)
    if resolved:
        t, v = np.append(t, now - 30_000), np.append(v, STALE_NAN)
    state = Labels.of(__name__="ALERTS_FOR_STATE", alertname="ProbeHigh", job="a")
    probe_t = np.array([now - 1000], np.int64)
    return [(state, t, v), (Labels.of(__name__="probe_value", job="a"), probe_t, np.array([3.0]))]


def _restored(rules: Path, opts: ManagerOptions, now: int) -> int:
    group = next(iter(RuleManager(opts, use_threads=False).load_groups([str(rules)]).values()))
    group.eval(now)
    group.restore_for_state(now)
    rule = group.rules[0]
    assert isinstance(rule, AlertingRule) and len(rule.active) == 1
    return next(iter(rule.active.values())).active_at


@pytest.mark.parametrize("resolved", [False, True], ids=["went-down", "resolved"])
def test_restore_reads_the_backend_like_the_embedded_store(tmp_path: Path, resolved: bool) -> None:
    """The API hides staleness markers; an instant query's miss shows the resolved one."""
    now = (int(time.time() * 1000) // 1000) * 1000
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    db = TSDB.open(tmp_path / "embedded", TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
    app = db.appender()
    for ls, ts, vs in _history(now, resolved):
        app.append_many(ls, ts, vs)
    app.commit()
    embedded = _restored(rules, ManagerOptions(query=engine_query_func(PromQLEngine(db)), storage=db), now)
    db.close()
    with prometheus(tmp_path / "prom") as peer:
        peer.write(encode_write_request(_history(now, resolved)))
        engine = RemoteEngine(QueryBackend(url=peer.url))
        local = TSDB.open(tmp_path / "ruler", TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
        storage = RulerStorage(local, engine)
        remote = _restored(rules, ManagerOptions(query=RuleQuery(engine, storage, NoWriteBack()), storage=storage),
                           now)
        local.close()
    assert embedded == remote
    if resolved:
        assert remote == now  # not restored: pending since this evaluation
    else:
        assert remote == now - 300_000 + 40_000  # the old activeAt moved on by the 40 s the ruler was down
