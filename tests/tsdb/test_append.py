from __future__ import annotations

import numpy as np

from sloguard.labels import Labels
from sloguard.tsdb import STALE_NAN, RejectReason

from .conftest import OpenDB, as_dict, select_all, up


def test_commit_stores_samples_and_counts_new_series(open_db: OpenDB) -> None:
    db = open_db()
    app = db.appender()
    app.append(up(job="a"), 1000, 1.0)
    app.append(up(job="b"), 1000, 2.0)
    app.append(up(job="a"), 2000, 3.0)
    res = app.commit()
    assert (res.appended, res.series_added, res.rejected_total) == (3, 2, 0)
    assert as_dict(select_all(db)) == {
        'up{job="a"}': ([1000, 2000], [1.0, 3.0]),
        'up{job="b"}': ([1000], [2.0]),
    }


def test_nothing_is_visible_before_commit_and_rollback_discards(open_db: OpenDB) -> None:
    db = open_db()
    app = db.appender()
    app.append(up(), 1000, 1.0)
    assert len(select_all(db)) == 0
    app.rollback()
    assert app.commit().appended == 0
    assert len(select_all(db)) == 0


def test_out_of_order_sample_is_rejected_with_series_in_message(open_db: OpenDB) -> None:
    db = open_db()
    app = db.appender()
    app.append(up(job="a"), 2000, 1.0)
    app.commit()
    app = db.appender()
    app.append(up(job="a"), 1000, 5.0)
    app.append(up(job="b"), 1000, 5.0)
    res = app.commit()
    assert res.rejected == {RejectReason.OUT_OF_ORDER: 1}
    assert res.appended == 1
    assert "out of order sample" in res.errors[0] and 'up{job="a"}' in res.errors[0]
    assert as_dict(select_all(db))['up{job="b"}'] == ([1000], [5.0])


def test_duplicate_timestamp_with_other_value_is_rejected(open_db: OpenDB) -> None:
    db = open_db()
    app = db.appender()
    app.append(up(), 1000, 1.0)
    app.commit()
    app = db.appender()
    app.append(up(), 1000, 2.0)
    res = app.commit()
    assert res.rejected == {RejectReason.DUPLICATE: 1}
    assert res.errors[0].startswith("duplicate sample for timestamp") and "up" in res.errors[0]
    assert as_dict(select_all(db))["up"] == ([1000], [1.0])


def test_identical_duplicate_is_a_silent_noop_even_for_nan(open_db: OpenDB) -> None:
    db = open_db()
    app = db.appender()
    app.append(up(a="1"), 1000, 1.0)
    app.append(up(a="2"), 1000, STALE_NAN)
    app.commit()
    app = db.appender()
    app.append(up(a="1"), 1000, 1.0)
    app.append(up(a="2"), 1000, STALE_NAN)
    res = app.commit()
    assert (res.appended, res.rejected_total, res.errors) == (0, 0, [])


def test_normal_nan_is_a_different_value_than_stale_nan(open_db: OpenDB) -> None:
    db = open_db()
    app = db.appender()
    app.append(up(), 1000, STALE_NAN)
    app.append(up(), 1000, float("nan"))
    res = app.commit()
    assert res.rejected == {RejectReason.DUPLICATE: 1}


def test_order_within_one_commit_follows_append_order(open_db: OpenDB) -> None:
    db = open_db()
    app = db.appender()
    for t, v in [(1000, 1.0), (3000, 3.0), (2000, 2.0), (3000, 3.0), (3000, 9.0), (4000, 4.0)]:
        app.append(up(), t, v)
    res = app.commit()
    assert res.appended == 3
    assert res.rejected == {RejectReason.OUT_OF_ORDER: 1, RejectReason.DUPLICATE: 1}
    assert as_dict(select_all(db))["up"] == ([1000, 3000, 4000], [1.0, 3.0, 4.0])


def test_append_many_and_single_appends_keep_call_order(open_db: OpenDB) -> None:
    db = open_db()
    app = db.appender()
    app.append(up(), 1000, 1.0)
    app.append_many(up(), np.array([2000, 3000]), np.array([2.0, 3.0]))
    app.append(up(), 4000, 4.0)
    assert app.commit().appended == 4
    assert as_dict(select_all(db))["up"][0] == [1000, 2000, 3000, 4000]


def test_invalid_labels_are_rejected_and_valid_samples_in_the_commit_are_kept(open_db: OpenDB) -> None:
    db = open_db()
    app = db.appender()
    app.append(Labels([("__name__", "up"), ("bad-name", "x")]), 1000, 1.0)
    app.append(Labels([("__name__", "up"), ("__reserved", "x")]), 1000, 1.0)
    app.append(Labels([("job", "nometric")]), 1000, 1.0)
    app.append(up(job="ok"), 1000, 7.0)
    res = app.commit()
    assert res.rejected == {RejectReason.INVALID_LABELS: 3}
    assert "'bad-name'" in res.errors[0]
    assert "'__reserved'" in res.errors[1]
    assert "__name__" in res.errors[2]
    assert res.appended == 1
    assert as_dict(select_all(db)) == {'up{job="ok"}': ([1000], [7.0])}
    assert db.stats().samples_rejected == {RejectReason.INVALID_LABELS: 3}


def test_series_limit_refuses_new_series_but_existing_ones_keep_ingesting(open_db: OpenDB) -> None:
    db = open_db(max_series=2)
    app = db.appender()
    for i in range(3):
        app.append(up(i=str(i)), 1000, 1.0)
    res = app.commit()
    assert res.rejected == {RejectReason.SERIES_LIMIT: 1}
    assert res.errors == ['series limit of 2 exceeded: refusing new series up{i="2"}']
    app = db.appender()
    app.append(up(i="0"), 2000, 2.0)
    app.append(up(i="3"), 2000, 2.0)
    res = app.commit()
    assert res.appended == 1 and res.rejected == {RejectReason.SERIES_LIMIT: 1}
    st = db.stats()
    assert st.head_series == 2 and st.series_rejected_by_limit == 2


def test_per_metric_series_limit_is_counted_per_metric_name(open_db: OpenDB) -> None:
    db = open_db(max_series_per_metric=1)
    app = db.appender()
    app.append(up(i="0"), 1000, 1.0)
    app.append(up(i="1"), 1000, 1.0)
    app.append(up(name__="other"), 1000, 1.0)
    res = app.commit()
    assert res.rejected == {RejectReason.METRIC_SERIES_LIMIT: 1}
    assert "per-metric series limit of 1 exceeded for metric 'up'" in res.errors[0]
    assert res.appended == 2


def test_stats_count_appended_and_rejected_samples(open_db: OpenDB) -> None:
    db = open_db()
    app = db.appender()
    app.append(up(), 2000, 1.0)
    app.append(up(), 1000, 1.0)
    app.commit()
    st = db.stats()
    assert st.samples_appended_total == 1
    assert st.samples_rejected == {RejectReason.OUT_OF_ORDER: 1}
    assert st.wal_fsyncs_total >= 1 and st.wal_bytes > 0
