"""Every endpoint that parses PromQL or selectors answers texts beyond the parse limits
with 400 bad_data naming the limit (each of these texts used to kill the server)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from sloguard.api import ServerContext, create_app
from sloguard.labels import Labels
from sloguard.promql import PromQLEngine
from sloguard.tsdb.testing import MemoryStorage

DEEP = "(" * 9000 + "1" + ")" * 9000
CHAIN = "+".join(["1"] * 5000)
OR_CHAIN = " or ".join(["up"] * 80_000)
DEEP_SELECTOR = "(" * 9000 + "up" + ")" * 9000


@pytest.fixture(scope="module")
def client() -> TestClient:
    st = MemoryStorage()
    st.add(Labels.of(__name__="up", job="a"), [0, 60_000], [1.0, 1.0])
    return TestClient(create_app(ServerContext(storage=st, engine=PromQLEngine(st), serve_demo=False)))


def _bad_data(r: object) -> str:
    assert r.status_code == 400, r.text  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert (body["status"], body["errorType"]) == ("error", "bad_data")
    return str(body["error"])


@pytest.mark.parametrize("text", [DEEP, CHAIN, OR_CHAIN])
def test_query_and_format_query_refuse_with_the_query_parameter_named(client: TestClient, text: str) -> None:
    for path in ("/api/v1/query", "/api/v1/format_query"):
        msg = _bad_data(client.post(path, data={"query": text}))
        assert msg.startswith('invalid parameter "query": 1:'), msg
        assert "parse error: expression" in msg and "(query.max_parse_" in msg


@pytest.mark.parametrize("text", [DEEP, CHAIN])
def test_query_range_and_exemplars_refuse_with_their_existing_wording(client: TestClient, text: str) -> None:
    r = client.post("/api/v1/query_range", data={"query": text, "start": "0", "end": "60", "step": "15"})
    assert "parse error: expression" in _bad_data(r)
    msg = _bad_data(client.post("/api/v1/query_exemplars", data={"query": text}))
    assert msg.startswith("1:") and "(query.max_parse_" in msg


def test_depth_limit_message_names_value_and_setting(client: TestClient) -> None:
    msg = _bad_data(client.get("/api/v1/query", params={"query": DEEP}))
    assert msg == ('invalid parameter "query": 1:201: parse error: expression nests deeper than the '
                   "limit of 200 levels (query.max_parse_depth)")


@pytest.mark.parametrize("path", ["/api/v1/series", "/api/v1/labels", "/api/v1/label/job/values"])
@pytest.mark.parametrize("text", [DEEP_SELECTOR, " or ".join(["up"] * 400)])
def test_match_selectors_are_refused(client: TestClient, path: str, text: str) -> None:
    method = client.get if path.endswith("/values") else client.post
    kw = {"params": {"match[]": text}} if method == client.get else {"data": {"match[]": text}}
    msg = _bad_data(method(path, **kw))  # type: ignore[operator]
    assert "parse error: expression" in msg and "(query.max_parse_" in msg
    assert msg.startswith('invalid parameter "match[]": ') == (path == "/api/v1/series")


def test_queries_at_the_limit_still_answer(client: TestClient) -> None:
    at = "(" * 200 + "up" + ")" * 200
    r = client.get("/api/v1/query", params={"query": at, "time": "60"})
    assert r.status_code == 200 and r.json()["data"]["result"][0]["value"] == [60, "1"]
    r = client.get("/api/v1/format_query", params={"query": " or ".join(["up"] * 301)})
    assert r.status_code == 200 and r.json()["data"].split().count("or") == 300
    r = client.get("/api/v1/query_exemplars", params={"query": "+".join(["rate(up[5m])"] * 301)})
    assert r.status_code == 200 and r.json()["data"] == []
    assert client.get("/api/v1/query_exemplars", params={"query": "-" * 200 + "1"}).status_code == 204
    r = client.get("/api/v1/series", params={"match[]": "(" * 200 + "up" + ")" * 200})
    assert "not a vector selector" in _bad_data(r)
    assert client.get("/-/healthy").status_code == 200
