"""Commits are atomic towards the head: a series enters the head only once its WAL
record is written, and a refused or failed commit never poisons the next one."""

from __future__ import annotations

import errno
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sloguard.labels import Labels, Matcher, MatchType
from sloguard.tsdb import TSDB, RejectReason, _newseries
from sloguard.tsdb._records import MAX_LABELS, MAX_NAME_BYTES, RecordError, encode_series_entry

from .conftest import OpenDB, up


def dump(db: TSDB) -> dict[Labels, tuple[list[int], list[float]]]:
    """Every series of the database with its samples."""
    batch = db.querier().select([Matcher(MatchType.REGEX, "__name__", ".+")], -(2**62), 2**62)
    out = {}
    for i in range(len(batch)):
        ls, t, v = batch.series(i)
        out[ls] = (t.tolist(), v.tolist())
    return out


def _commit(db: TSDB, *series: tuple[Labels, int, float]) -> Any:
    app = db.appender()
    for labels, t, v in series:
        app.append(labels, t, v)
    return app.commit()


def test_label_name_longer_than_the_wal_can_hold_is_refused_per_series(open_db: OpenDB) -> None:
    db = open_db()
    huge = Labels([("__name__", "up"), ("a" * (MAX_NAME_BYTES + 1), "x")])
    res = _commit(db, (up(job="ok"), 1000, 1.0), (huge, 1000, 2.0), (up(job="ok2"), 1000, 3.0))
    assert res.appended == 2 and res.rejected == {RejectReason.INVALID_LABELS: 1}
    msg = res.errors[0]
    assert f"...({MAX_NAME_BYTES + 1} bytes)" in msg and "65535 bytes per label name" in msg
    assert len(msg) < 1000
    assert db.head.num_series == 2 and huge not in db.head.refs
    # the next commits (new series and old ones) are fine, and so is a restart
    assert _commit(db, (up(job="later"), 2000, 4.0), (up(job="ok"), 2000, 5.0)).rejected_total == 0
    before = dump(db)
    db.close()
    assert dump(open_db()) == before == {
        up(job="ok"): ([1000, 2000], [1.0, 5.0]), up(job="ok2"): ([1000], [3.0]), up(job="later"): ([2000], [4.0]),
    }


def test_long_values_and_names_within_the_format_are_stored_and_replayed(open_db: OpenDB) -> None:
    db = open_db()
    big = Labels([("__name__", "up"), ("b" * MAX_NAME_BYTES, "v" * 70_000)])
    assert _commit(db, (big, 1000, 1.0)).rejected_total == 0
    db.close()
    assert dump(open_db()) == {big: ([1000], [1.0])}


def test_more_labels_than_the_wal_can_hold_are_refused(open_db: OpenDB) -> None:
    db = open_db()
    many = Labels([("__name__", "up"), *((f"l{i}", "v") for i in range(MAX_LABELS))])
    res = _commit(db, (many, 1000, 1.0), (up(), 1000, 2.0))
    assert res.appended == 1 and res.rejected == {RejectReason.INVALID_LABELS: 1}
    assert f"has {MAX_LABELS + 1} labels" in res.errors[0] and "...and" in res.errors[0]
    db.close()
    assert dump(open_db()) == {up(): ([1000], [2.0])}


def test_an_encoding_error_refuses_that_series_only(open_db: OpenDB, monkeypatch: pytest.MonkeyPatch) -> None:
    real = encode_series_entry

    def failing(ref: int, labels: Labels) -> bytes:
        if labels.get("job") == "bad":
            raise RecordError("injected encoding failure")
        return real(ref, labels)

    monkeypatch.setattr(_newseries, "encode_series_entry", failing)
    db = open_db()
    res = _commit(db, (up(job="a"), 1000, 1.0), (up(job="bad"), 1000, 2.0), (up(job="b"), 1000, 3.0))
    assert (res.appended, res.series_added, res.errors) == (2, 2, ["injected encoding failure"])
    assert _commit(db, (up(job="a"), 2000, 4.0), (up(job="c"), 2000, 5.0)).rejected_total == 0
    monkeypatch.setattr(_newseries, "encode_series_entry", real)
    before = dump(db)
    db.close()
    after = open_db()
    assert dump(after) == before and set(before) == {up(job="a"), up(job="b"), up(job="c")}
    # refs in the head match the refs in the WAL: a new series after replay gets a fresh one
    assert _commit(after, (up(job="bad"), 3000, 6.0)).rejected_total == 0
    assert dump(after)[up(job="bad")] == ([3000], [6.0])


class _DiskFull:
    """A segment file that writes half of what it is given, then fails like a full disk."""

    def __init__(self, f: Any) -> None:
        self._f = f

    def write(self, buf: bytes) -> int:
        self._f.write(buf[: len(buf) // 2])
        self._f.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


def test_a_failed_wal_write_leaves_nothing_in_the_head_and_later_commits_survive_restart(
    open_db: OpenDB, tmp_path: Path
) -> None:
    db = open_db()
    assert _commit(db, (up(job="a"), 1000, 1.0)).rejected_total == 0
    wal = db._wal
    assert wal is not None
    wal._f = _DiskFull(wal._f)  # type: ignore[assignment]
    with pytest.raises(OSError, match="No space left"):
        _commit(db, (up(job="a"), 2000, 2.0), (up(job="new"), 2000, 3.0))
    assert db.head.num_series == 1 and db.head.num_samples == 1 and up(job="new") not in db.head.refs
    # the disk has room again: the same data (and more) goes in, and all of it replays
    assert _commit(db, (up(job="a"), 2000, 2.0), (up(job="new"), 2000, 3.0)).rejected_total == 0
    assert _commit(db, (up(job="a"), 3000, 4.0)).rejected_total == 0
    before = dump(db)
    other = TSDB.open(tmp_path / "data")  # replays the WAL as written, without a clean close
    try:
        assert dump(other) == before == {up(job="a"): ([1000, 2000, 3000], [1.0, 2.0, 4.0]),
                                         up(job="new"): ([2000], [3.0])}
        assert other.replay_report.dropped_bytes == 0
    finally:
        other.close()


def test_limits_count_series_planned_earlier_in_the_same_commit(open_db: OpenDB) -> None:
    db = open_db(max_series=2)
    res = _commit(db, *((up(i=str(i)), 1000, float(i)) for i in range(4)), (up(i="0"), 2000, 9.0))
    assert res.appended == 3 and res.series_added == 2
    assert res.rejected == {RejectReason.SERIES_LIMIT: 2}
    assert np.array_equal(sorted(db.head.refs.values()), [0, 1])


_NAMES = st.one_of(
    st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True),
    st.sampled_from(["", "__x", "9lead", "bad-name", "ünï", "a" * MAX_NAME_BYTES, "a" * (MAX_NAME_BYTES + 1)]),
)
_VALUES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["\ud800", "x\udfffy", "é" * 40_000, "\x00\n\"\\"]),
)
_LABEL_SETS = st.builds(
    lambda metric, pairs: Labels([("__name__", metric), *pairs]),
    st.sampled_from(["up", "bad metric", "m:x"]),
    st.lists(st.tuples(_NAMES, _VALUES), max_size=4),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batches=st.lists(st.lists(_LABEL_SETS, min_size=1, max_size=5), min_size=1, max_size=4))
def test_random_label_sets_are_stored_or_refused_per_series_and_replay_the_same(batches: list[list[Labels]]) -> None:
    with tempfile.TemporaryDirectory(prefix="sloguard-atomic-") as tmp:
        db = TSDB.open(tmp)
        try:
            for b, batch in enumerate(batches):
                res = _commit(db, *((ls, 1000 * (b + 1), float(i)) for i, ls in enumerate(batch)))
                assert res.appended + res.rejected_total == len(batch)
                assert len(res.errors) >= min(len(res.rejected), 1) and all(len(e) < 3000 for e in res.errors)
            stored = dump(db)
            assert db.head.num_series == len(stored) == len(db.head.refs)
        finally:
            db.close()
        again = TSDB.open(tmp)
        try:
            assert dump(again) == stored
            assert again.replay_report.dropped_bytes == 0
        finally:
            again.close()
