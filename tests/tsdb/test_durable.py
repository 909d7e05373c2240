"""Derived data (rule outputs) may skip the per-commit fsync; acknowledged data never does."""

from pathlib import Path

import numpy as np

from sloguard.labels import Labels, Matcher, MatchType
from sloguard.tsdb import TSDB, TSDBOptions


def test_non_durable_commits_skip_fsync_but_reach_the_wal(tmp_path: Path) -> None:
    db = TSDB.open(tmp_path, TSDBOptions())
    before = db.stats().wal_fsyncs_total
    app = db.appender(durable=False)
    app.append(Labels.of(name__="slo:sli_error:rate5m", slo="x"), 1_000, 0.5)
    assert app.commit().appended == 1
    assert db.stats().wal_fsyncs_total == before
    app = db.appender()
    app.append(Labels.of(name__="up", job="a"), 1_000, 1.0)
    app.commit()
    assert db.stats().wal_fsyncs_total == before + 1
    db.close()
    db = TSDB.open(tmp_path, TSDBOptions())  # both survive a restart via the WAL
    batch = db.querier().select([Matcher(MatchType.REGEX, "__name__", ".+")], 0, 10_000)
    assert sorted(ls.metric_name for ls in batch.labels) == ["slo:sli_error:rate5m", "up"]
    assert np.array_equal(batch.values, [0.5, 1.0]) or np.array_equal(batch.values, [1.0, 0.5])
    db.close()
