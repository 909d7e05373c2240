"""The metadata endpoints answer in Prometheus' shapes, with its error texts and codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient

from sloguard.api import ServerContext, create_app
from sloguard.api._http import MAX_TIME_FORMATTED, MAX_TIME_MS, MIN_TIME_MS, parse_time
from sloguard.labels import Labels
from sloguard.tsdb import TSDB, Storage
from sloguard.tsdb.testing import MemoryStorage


def _add(st: Storage, labels: Labels, ts: list[int], vs: list[float]) -> None:
    app = st.appender()
    app.append_many(labels, np.asarray(ts, np.int64), np.asarray(vs, np.float64))
    assert app.commit().rejected_total == 0


@pytest.fixture(params=["memory", "tsdb"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    st: Storage = MemoryStorage() if request.param == "memory" else TSDB.open(tmp_path / "data")
    _add(st, Labels.of(__name__="up", job="api", instance="a:1"), [1000, 2000], [1, 1])
    _add(st, Labels.of(__name__="up", job="db", instance="b:1"), [5000], [0])
    _add(st, Labels.of(__name__="http_requests_total", job="api", code="500"), [3000], [7])
    yield TestClient(create_app(ServerContext(storage=st, serve_demo=False)))
    close = getattr(st, "close", None)
    if close is not None:
        close()


def test_series_lists_matching_label_sets_sorted(client: TestClient) -> None:
    r = client.get("/api/v1/series", params={"match[]": "up"})
    assert r.status_code == 200
    assert r.json() == {
        "status": "success",
        "data": [
            {"__name__": "up", "instance": "a:1", "job": "api"},
            {"__name__": "up", "instance": "b:1", "job": "db"},
        ],
    }


def test_series_unions_several_match_params_without_duplicates(client: TestClient) -> None:
    r = client.get("/api/v1/series", params=[("match[]", "up"), ("match[]", '{job="api"}')])
    names = [(s["__name__"], s["job"]) for s in r.json()["data"]]
    assert names == [("http_requests_total", "api"), ("up", "api"), ("up", "db")]


def test_series_respects_start_and_end_in_seconds_and_rfc3339(client: TestClient) -> None:
    r = client.get("/api/v1/series", params={"match[]": "up", "start": "3"})
    assert [s["job"] for s in r.json()["data"]] == ["db"]
    r = client.get(
        "/api/v1/series", params={"match[]": "up", "end": "1970-01-01T00:00:02.5Z"}
    )
    assert [s["job"] for s in r.json()["data"]] == ["api"]


def test_series_accepts_urlencoded_post(client: TestClient) -> None:
    r = client.post("/api/v1/series", data={"match[]": ['up{job="db"}']})
    assert r.json()["data"] == [{"__name__": "up", "instance": "b:1", "job": "db"}]


def test_series_without_match_is_bad_data(client: TestClient) -> None:
    r = client.get("/api/v1/series")
    assert r.status_code == 400
    assert r.json() == {"status": "error", "errorType": "bad_data", "error": "no match[] parameter provided"}


def test_bad_start_gives_prometheus_error_text(client: TestClient) -> None:
    r = client.get("/api/v1/series", params={"match[]": "up", "start": "abc"})
    assert r.status_code == 400
    assert r.json()["error"] == (
        "invalid parameter \"start\": Invalid time value for 'start': "
        'cannot parse "abc" to a valid timestamp'
    )


def test_bad_end_on_labels_names_end(client: TestClient) -> None:
    r = client.get("/api/v1/labels", params={"end": "2020-01-01"})
    assert r.status_code == 400
    assert r.json()["error"].startswith('invalid parameter "end": ')


def test_bad_selector_is_bad_data_with_match_prefix_on_series(client: TestClient) -> None:
    r = client.get("/api/v1/series", params={"match[]": "up{"})
    assert r.status_code == 400
    assert r.json()["errorType"] == "bad_data"
    assert r.json()["error"].startswith('invalid parameter "match[]": ')


def test_selector_matching_everything_is_refused(client: TestClient) -> None:
    r = client.get("/api/v1/series", params={"match[]": '{job=""}'})
    assert r.status_code == 400
    assert "match[] must contain at least one non-empty matcher" in r.json()["error"]


def test_labels_lists_names_and_filters_by_match(client: TestClient) -> None:
    assert client.get("/api/v1/labels").json()["data"] == ["__name__", "code", "instance", "job"]
    r = client.get("/api/v1/labels", params={"match[]": "up"})
    assert r.json() == {"status": "success", "data": ["__name__", "instance", "job"]}


def test_label_values_lists_values_and_filters_by_time(client: TestClient) -> None:
    assert client.get("/api/v1/label/job/values").json()["data"] == ["api", "db"]
    # Like Prometheus, the TSDB filters label values by block time ranges, so only a
    # range outside all data is certain to be empty for every storage.
    r = client.get("/api/v1/label/__name__/values", params={"start": "10", "end": "20"})
    assert r.json()["data"] == []


def test_label_values_of_unknown_label_is_empty_list(client: TestClient) -> None:
    assert client.get("/api/v1/label/nope/values").json() == {"status": "success", "data": []}


def test_label_values_with_invalid_name_is_bad_data(client: TestClient) -> None:
    r = client.get("/api/v1/label/1bad/values")
    assert r.status_code == 400
    assert r.json() == {"status": "error", "errorType": "bad_data", "error": 'invalid label name: "1bad"'}


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1.5", 1500),
        ("1700000000", 1_700_000_000_000),
        ("-1.25", -1250),
        ("1e3", 1_000_000),
        ("2020-01-01T00:00:00Z", 1_577_836_800_000),
        ("2020-01-01T01:00:00.123456789+01:00", 1_577_836_800_123),
        (MAX_TIME_FORMATTED, MAX_TIME_MS),
        ("1e300", MAX_TIME_MS),
        ("-1e300", MIN_TIME_MS),
    ],
)
def test_parse_time_accepts_prometheus_formats(text: str, ms: int) -> None:
    assert parse_time(text) == ms


@pytest.mark.parametrize("text", ["", "abc", "2020-01-01", "1_000", " 1", "2020-13-01T00:00:00Z"])
def test_parse_time_refuses_other_text(text: str) -> None:
    with pytest.raises(ValueError, match="to a valid timestamp"):
        parse_time(text)


def test_status_tsdb_reports_head_cardinality_like_prometheus(client: TestClient) -> None:
    body = client.get("/api/v1/status/tsdb").json()
    assert body["status"] == "success"
    data = body["data"]
    assert data["headStats"]["numSeries"] == 3
    assert data["headStats"]["numLabelPairs"] == 7  # 2 names, 2 jobs, 2 instances, 1 code
    assert data["seriesCountByMetricName"] == [
        {"name": "up", "value": 2}, {"name": "http_requests_total", "value": 1},
    ]
    assert data["seriesCountByLabelValuePair"][:2] == [
        {"name": "__name__=up", "value": 2}, {"name": "job=api", "value": 2},
    ]
    assert {"name": "job", "value": 2} in data["labelValueCountByLabelName"]
    by_bytes = {d["name"]: d["value"] for d in data["memoryInBytesByLabelName"]}
    assert by_bytes["job"] == 3 + 2  # the distinct values "api" and "db", as Prometheus counts
