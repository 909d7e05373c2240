"""The ruler's pieces against a fake backend: the Querier over the query API, and the rules'
query function that syncs the write-back only after rule outputs were committed."""

from __future__ import annotations

import pytest

from sloguard.labels import Labels, Matcher, MatchType
from sloguard.promql import PromQLError, Sample
from sloguard.remote import QueryBackend, RemoteEngine
from sloguard.remote._querier import RemoteQuerier
from sloguard.remote._ruler import RuleQuery, RulerStorage
from sloguard.tsdb.testing import MemoryStorage
from tests.remote._fake import fake_backend, ok

MATRIX = {"resultType": "matrix", "result": [
    {"metric": {"__name__": "ALERTS_FOR_STATE", "alertname": "A"}, "values": [[9.999, "5"], [10, "7"], [20, "8"]]}]}
VECTOR = {"resultType": "vector", "result": [{"metric": {"job": "a"}, "value": [30, "2"]}]}


class CountingSync:
    def __init__(self, result: bool = True) -> None:
        self.calls, self.result, self.timeouts = 0, result, list[float]()

    def sync(self, timeout_s: float) -> bool:
        self.calls += 1
        self.timeouts.append(timeout_s)
        return self.result


def test_select_reads_raw_samples_of_the_window() -> None:
    with fake_backend(ok(MATRIX)) as fake:
        q = RemoteQuerier(RemoteEngine(QueryBackend(url=fake.url)))
        batch = q.select([Matcher(MatchType.EQUAL, "alertname", "A")], 10_000, 20_000)
    params = dict(fake.requests[0][3])
    assert params["query"] == '{alertname="A"}[10001ms]' and params["time"] == "20.000"
    _, ts, vs = batch.series(0)
    assert ts.tolist() == [10_000, 20_000] and vs.tolist() == [7.0, 8.0]  # 9.999 is before mint


def test_select_hides_the_external_labels_remote_write_added() -> None:
    written = {"resultType": "matrix", "result": [
        {"metric": {"__name__": "ALERTS_FOR_STATE", "alertname": "A", "cluster": "eu", "replica": "r1"},
         "values": [[10, "7"]]}]}
    with fake_backend(ok(written)) as fake:
        q = RemoteQuerier(RemoteEngine(QueryBackend(url=fake.url)), Labels.of(cluster="eu", replica="r1"))
        batch = q.select([Matcher(MatchType.EQUAL, "alertname", "A"), Matcher(MatchType.EQUAL, "replica", "r1")],
                         0, 20_000)
    query = dict(fake.requests[0][3])["query"]
    assert query == '{alertname="A",replica="r1",cluster="eu"}[20001ms]'  # matched once, added once
    assert batch.labels == [Labels.of(__name__="ALERTS_FOR_STATE", alertname="A", replica="r1")]


def test_a_series_is_stale_when_an_instant_query_misses_it_within_the_lookback() -> None:
    ls = Labels.of(__name__="ALERTS_FOR_STATE", alertname="A")
    found = {"resultType": "vector", "result": [
        {"metric": {"__name__": "ALERTS_FOR_STATE", "alertname": "A", "cluster": "eu"}, "value": [30, "7"]}]}
    with fake_backend(ok(found), ok({"resultType": "vector", "result": []})) as fake:
        q = RemoteQuerier(RemoteEngine(QueryBackend(url=fake.url)), Labels.of(cluster="eu"))
        assert q.ended_stale(ls, 20_000, 30_000) is False  # still found: no marker since
        assert q.ended_stale(ls, 20_000, 30_000) is True  # missed: a marker ended it
        assert q.ended_stale(ls, 20_000, 20_000 + 5 * 60_000) is False  # past the lookback: cannot tell
    assert len(fake.requests) == 2
    assert dict(fake.requests[0][3])["query"] == '{__name__="ALERTS_FOR_STATE",alertname="A",cluster="eu"}'


def test_metadata_without_bounds_sends_none() -> None:
    with fake_backend(ok(["a"])) as fake:
        q = RemoteQuerier(RemoteEngine(QueryBackend(url=fake.url)))
        assert q.label_values("job", [], -(2**62), 2**62) == ["a"]
    assert [k for k, _ in fake.requests[0][3]] == []


def test_rule_query_syncs_only_before_reading_what_was_committed() -> None:
    with fake_backend(ok(VECTOR)) as fake:
        engine = RemoteEngine(QueryBackend(url=fake.url))
        storage, sync = RulerStorage(MemoryStorage(), engine), CountingSync()
        query = RuleQuery(engine, storage, sync)
        assert query("x", 30_000) == [Sample(Labels.of(job="a"), 30_000, 2.0)]
        app = storage.appender()
        app.append(Labels.of(__name__="job:r:sum"), 30_000, 1.0)
        query("x", 30_000)
        assert sync.calls == 0  # appended, not committed
        app.commit()
        query("rate(x[5m])", 30_000)
        assert sync.calls == 0  # does not read job:r:sum
        query("job:r:sum * 2", 30_000)
        query("job:r:sum * 3", 30_000)
        assert sync.calls == 1  # synced once for what was committed
        app = storage.appender()
        app.append(Labels.of(__name__="other"), 31_000, 1.0)
        app.commit()
        query('{__name__=~"oth.*"}', 31_000)
    assert sync.calls == 2  # a __name__ matcher may read anything


def test_after_a_sync_times_out_the_next_waits_briefly_until_one_succeeds() -> None:
    with fake_backend(ok(VECTOR)) as fake:
        engine = RemoteEngine(QueryBackend(url=fake.url))
        storage, sync = RulerStorage(MemoryStorage(), engine), CountingSync(result=False)
        query = RuleQuery(engine, storage, sync, sync_timeout_s=10)

        def commit_then_read() -> None:
            app = storage.appender()
            app.append(Labels.of(__name__="x"), 30_000, 1.0)
            app.commit()
            assert len(query("x", 30_000)) == 1  # the query runs all the same

        commit_then_read()
        commit_then_read()
        sync.result = True
        commit_then_read()
        commit_then_read()
    assert sync.timeouts == [10, 0.2, 0.2, 10] and query.sync_failures == 2


def test_a_matrix_answer_is_refused_as_the_rules_refuse_it() -> None:
    with fake_backend(ok(MATRIX)) as fake:
        engine = RemoteEngine(QueryBackend(url=fake.url))
        query = RuleQuery(engine, RulerStorage(MemoryStorage(), engine), CountingSync())
        with pytest.raises(PromQLError, match="rule result is not a vector or scalar"):
            query("x[5m]", 30_000)
