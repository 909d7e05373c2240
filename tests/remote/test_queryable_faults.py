"""``RemoteEngine`` against a fake Prometheus API on 127.0.0.1: every fault gets a clear
error naming the backend and the query, idempotent reads are retried only when that can
help, and answers are shaped as the embedded engine shapes them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sloguard.labels import Labels
from sloguard.promql import ErrorType, PromQLError, Sample, Scalar, ValueType
from sloguard.remote import QueryBackend, RemoteEngine, RemoteQueryError
from tests.remote._fake import FakeBackend, fake_backend, ok, reply

VECTOR = {"resultType": "vector", "result": [{"metric": {"__name__": "up", "job": "a"}, "value": [100.5, "1"]},
                                             {"metric": {"job": "b"}, "value": [100.5, "NaN"]}]}
BOOM = reply(500, b"backend exploded")


def _engine(fake: FakeBackend, waits: list[float], **kw: float) -> RemoteEngine:
    backend = QueryBackend(url=fake.url, timeout_s=kw.pop("timeout_s", 5.0), retries=int(kw.pop("retries", 3)),
                           min_backoff_s=0.25, max_backoff_s=1.0)
    return RemoteEngine(backend, sleep=waits.append)


def test_instant_vector_is_shaped_like_the_embedded_engine() -> None:
    with fake_backend(ok(VECTOR)) as fake:
        res = _engine(fake, []).instant_query("up", 100_500)
    assert res.result_type is ValueType.VECTOR
    assert isinstance(res.value, list)
    assert res.value[0] == Sample(Labels.of(__name__="up", job="a"), 100_500, 1.0)
    assert isinstance(res.value[1], Sample) and math.isnan(res.value[1].v)
    method, path, _, params = fake.requests[0]
    assert (method, path) == ("POST", "/api/v1/query")
    assert ("query", "up") in params and ("time", "100.500") in params


def test_range_matrix_is_sorted_with_arrays() -> None:
    data = {"resultType": "matrix", "result": [
        {"metric": {"job": "b"}, "values": [[10, "1"], [20, "+Inf"]]},
        {"metric": {"job": "a"}, "values": [[10, "0.5"]]}]}
    with fake_backend(ok(data)) as fake:
        res = _engine(fake, []).range_query("x", 10_000, 20_000, 10_000)
    assert [s.labels.get("job") for s in res.value] == ["a", "b"]  # type: ignore[union-attr]
    b = res.value[1]  # type: ignore[index]
    assert b.timestamps.dtype == np.int64 and b.timestamps.tolist() == [10_000, 20_000]  # type: ignore[union-attr]
    assert b.values.tolist() == [1.0, math.inf]  # type: ignore[union-attr]


def test_scalar() -> None:
    with fake_backend(ok({"resultType": "scalar", "result": [5, "2.5"]})) as fake:
        assert _engine(fake, []).instant_query("2.5", 5000).value == Scalar(5000, 2.5)


def test_5xx_then_success_is_retried_with_backoff() -> None:
    waits: list[float] = []
    with fake_backend(BOOM, reply(502, b"bad gateway"), ok(VECTOR)) as fake:
        res = _engine(fake, waits).instant_query("up", 1000)
    assert len(res.value) == 2  # type: ignore[arg-type]
    assert len(fake.requests) == 3
    assert waits == [0.25, 0.5]


def test_5xx_past_the_retries_names_backend_query_and_attempts() -> None:
    waits: list[float] = []
    with fake_backend(BOOM) as fake, pytest.raises(RemoteQueryError) as info:
        _engine(fake, waits, retries=2).instant_query("rate(x[5m])", 1000)
    msg = str(info.value)
    assert fake.url in msg and "rate(x[5m])" in msg and "HTTP 500" in msg and "backend exploded" in msg
    assert "after 3 attempts" in msg
    assert len(fake.requests) == 3 and info.value.error_type is ErrorType.UNAVAILABLE


def test_429_honours_retry_after() -> None:
    waits: list[float] = []
    with fake_backend(reply(429, b"slow down", {"Retry-After": "3"}), ok(VECTOR)) as fake:
        _engine(fake, waits, timeout_s=30).instant_query("up", 1000)
    assert waits == [3.0]
    assert len(fake.requests) == 2


def test_429_retry_after_past_the_deadline_is_not_waited_for() -> None:
    waits: list[float] = []
    with fake_backend(reply(429, b"", {"Retry-After": "120"})) as fake, pytest.raises(RemoteQueryError) as info:
        _engine(fake, waits, timeout_s=5).instant_query("up", 1000)
    assert waits == [] and "HTTP 429" in str(info.value) and "would pass the read's deadline" in str(info.value)


def test_4xx_is_not_retried() -> None:
    waits: list[float] = []
    with fake_backend(reply(404, b"no such path")) as fake, pytest.raises(RemoteQueryError) as info:
        _engine(fake, waits).instant_query("up", 1000)
    assert waits == [] and len(fake.requests) == 1
    assert "HTTP 404" in str(info.value) and info.value.error_type is ErrorType.BAD_DATA


def test_status_error_passes_error_type_and_text_through() -> None:
    body = {"status": "error", "errorType": "bad_data", "error": '1:5: parse error: unexpected ")"'}
    with fake_backend(reply(400, body)) as fake, pytest.raises(PromQLError) as info:
        _engine(fake, []).instant_query("sum(", 1000)
    err = info.value
    assert isinstance(err, RemoteQueryError) and err.error_type is ErrorType.BAD_DATA
    assert err.detail == '1:5: parse error: unexpected ")"' and "sum(" in str(err) and fake.url in str(err)
    assert len(fake.requests) == 1


def test_status_error_5xx_execution_is_retried_but_timeout_is_not() -> None:
    execution = {"status": "error", "errorType": "execution", "error": "storage unavailable"}
    with fake_backend(reply(503, execution), ok(VECTOR)) as fake:
        _engine(fake, []).instant_query("up", 1000)
    assert len(fake.requests) == 2
    timeout = {"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"}
    with fake_backend(reply(503, timeout)) as fake, pytest.raises(RemoteQueryError) as info:
        _engine(fake, []).instant_query("up", 1000)
    assert len(fake.requests) == 1 and info.value.error_type is ErrorType.TIMEOUT


@pytest.mark.parametrize("body", [b"<html>oops</html>", b'{"status": "success"}', b"[1, 2]", b'{"status":"succ'])
def test_malformed_json_is_a_clear_error(body: bytes) -> None:
    with fake_backend(reply(200, body)) as fake, pytest.raises(RemoteQueryError) as info:
        _engine(fake, []).instant_query("up", 1000)
    assert "malformed answer" in str(info.value) and fake.url in str(info.value) and "'up'" in str(info.value)
    assert len(fake.requests) == 1


def test_malformed_data_is_a_clear_error() -> None:
    bad = ok({"resultType": "vector", "result": [{"metric": {}, "value": [1, "x"]}]})
    with fake_backend(bad) as fake, pytest.raises(RemoteQueryError, match="malformed answer data"):
        _engine(fake, []).instant_query("up", 1000)


def test_warnings_are_kept() -> None:
    with fake_backend(ok(VECTOR, ["partial data: store gateway 2 unreachable"])) as fake:
        res = _engine(fake, []).instant_query("up", 1000)
    assert res.warnings == ["partial data: store gateway 2 unreachable"]
    assert len(res.value) == 2  # type: ignore[arg-type]


def test_timeout_is_named_and_not_retried() -> None:
    waits: list[float] = []
    with fake_backend(reply(200, b"{}", delay=1.0)) as fake, pytest.raises(RemoteQueryError) as info:
        _engine(fake, waits, timeout_s=0.2).instant_query("slow_query", 1000)
    assert "timed out after 0.2s" in str(info.value) and "slow_query" in str(info.value)
    assert info.value.error_type is ErrorType.TIMEOUT and waits == []


def test_connection_refused_is_retried_then_named() -> None:
    waits: list[float] = []
    with fake_backend(ok(VECTOR)) as fake:
        url = fake.url
    engine = RemoteEngine(QueryBackend(url=url, retries=2, min_backoff_s=0.1), sleep=waits.append)
    with pytest.raises(RemoteQueryError, match="cannot connect") as info:
        engine.instant_query("up", 1000)
    assert waits == [0.1, 0.2] and url in str(info.value) and info.value.error_type is ErrorType.UNAVAILABLE


def test_series_labels_and_values() -> None:
    with fake_backend(ok([{"__name__": "up", "job": "b"}, {"__name__": "up", "job": "a"}]), ok(["job", "__name__"]),
                      ok(["a", "b"])) as fake:
        engine = _engine(fake, [])
        assert [s.get("job") for s in engine.series(['up{job=~".+"}'], 0, 10_000)] == ["a", "b"]
        assert engine.label_names() == ["job", "__name__"]
        assert engine.label_values("job", ["up"]) == ["a", "b"]
    assert ("match[]", 'up{job=~".+"}') in fake.requests[0][3] and ("end", "10.000") in fake.requests[0][3]
    assert fake.requests[2][:2] == ("GET", "/api/v1/label/job/values")


def test_auth_and_headers_reach_the_backend() -> None:
    from sloguard.remote import parse_query_backend

    with fake_backend(ok(VECTOR)) as fake:
        backend = parse_query_backend({"url": fake.url + "/api/v1/read", "bearer_token": "tok",
                                       "headers": {"X-Scope-OrgID": "team-a"}})
        RemoteEngine(backend).instant_query("up", 1000)
    headers = {k.lower(): v for k, v in fake.requests[0][2].items()}
    assert headers["authorization"] == "Bearer tok" and headers["x-scope-orgid"] == "team-a"
    assert fake.requests[0][1] == "/api/v1/query"


def test_a_broken_http_answer_is_retried() -> None:
    waits: list[float] = []  # two different Content-Length headers: the client refuses the answer
    cut = reply(200, b'{"status": "success", "data": {"resultType": "vec', {"Content-Length": "500"})
    with fake_backend(cut, ok(VECTOR)) as fake:
        res = _engine(fake, waits).instant_query("up", 1000)
    assert len(res.value) == 2 and waits == [0.25]  # type: ignore[arg-type]


def test_a_cancelled_query_is_not_retried() -> None:
    import threading

    waits: list[float] = []
    cancel = threading.Event()
    cancel.set()  # the API's client went away
    with fake_backend(BOOM) as fake, pytest.raises(RemoteQueryError):
        _engine(fake, waits).instant_query("up", 1000, cancel=cancel)
    assert waits == [] and len(fake.requests) == 1


def test_the_timeout_is_passed_on_in_whole_milliseconds() -> None:
    with fake_backend(ok(VECTOR)) as fake:
        _engine(fake, []).instant_query("up", 1000, timeout=2.5)
    assert ("timeout", "2500ms") in fake.requests[0][3]


def test_reads_retries_and_failures_are_counted_for_metrics() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from sloguard.remote._rmetrics import RemoteReadCollector

    with fake_backend(BOOM, ok(VECTOR), reply(404)) as fake:
        engine = _engine(fake, [])
        engine.instant_query("up", 1000)
        with pytest.raises(RemoteQueryError):
            engine.instant_query("up", 1000)
    registry = CollectorRegistry()
    registry.register(RemoteReadCollector(engine))
    text = generate_latest(registry).decode()
    for name, value in (("requests", 2), ("retries", 1), ("failures", 1)):
        assert f'sloguard_remote_read_{name}_total{{url="{fake.url}"}} {value}.0' in text
