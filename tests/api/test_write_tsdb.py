"""POST /api/v1/write against the real TSDB: acknowledged samples survive a reopen, and
rejections (out of order, duplicate, cardinality limit) name the reason while the valid
samples of the request are stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from sloguard.api._context import ServerContext
from sloguard.api._write import make_handler
from sloguard.ingest.remote_write import encode_write_request
from sloguard.labels import Labels, Matcher, MatchType
from sloguard.tsdb import TSDB, TSDBOptions

NOW_S = 1_700_000_000.0
T = int(NOW_S * 1000)


def _client(db: TSDB) -> TestClient:
    handler = make_handler(ServerContext(storage=db), clock=lambda: NOW_S)
    return TestClient(Starlette(routes=[Route("/api/v1/write", handler, methods=["POST"])]))


def _samples(db: TSDB) -> dict[Labels, list[tuple[int, float]]]:
    batch = db.querier().select([Matcher(MatchType.REGEX, "__name__", ".+")], 0, 2**62)
    out = {}
    for i in range(len(batch)):
        labels, ts, vs = batch.series(i)
        out[labels] = list(zip(ts.tolist(), vs.tolist(), strict=True))
    return out


@pytest.fixture
def db(tmp_path: Path) -> Iterator[TSDB]:
    d = TSDB.open(tmp_path / "data")
    yield d
    d.close()


def test_acknowledged_samples_are_there_after_reopen(tmp_path: Path) -> None:
    up = Labels.of(name__="up", job="node")
    with TSDB.open(tmp_path / "d") as db:
        for k in range(3):
            body = encode_write_request([(up, [T + k * 15_000], [float(k)])])
            assert _client(db).post("/api/v1/write", content=body).status_code == 204
    with TSDB.open(tmp_path / "d") as db:
        assert _samples(db) == {up: [(T, 0.0), (T + 15_000, 1.0), (T + 30_000, 2.0)]}


def test_out_of_order_and_duplicate_are_named_and_the_rest_is_stored(db: TSDB) -> None:
    a, b, c = Labels.of(name__="a"), Labels.of(name__="b"), Labels.of(name__="c")
    client = _client(db)
    assert client.post("/api/v1/write", content=encode_write_request([(a, [T], [1.0]), (b, [T], [1.0])])).status_code == 204
    body = encode_write_request([(a, [T - 1000, T + 1000], [0.5, 2.0]), (b, [T], [9.0]), (c, [T], [3.0])])
    r = client.post("/api/v1/write", content=body)
    assert r.status_code == 400
    assert "out of order sample" in r.text and "duplicate sample for timestamp" in r.text
    assert _samples(db) == {a: [(T, 1.0), (T + 1000, 2.0)], b: [(T, 1.0)], c: [(T, 3.0)]}


def test_series_over_the_cardinality_limit_are_refused_and_others_keep_ingesting(tmp_path: Path) -> None:
    with TSDB.open(tmp_path / "d", TSDBOptions(max_series=2)) as db:
        client = _client(db)
        old = [Labels.of(name__="m", i=str(i)) for i in range(2)]
        assert client.post("/api/v1/write", content=encode_write_request([(s, [T], [1.0]) for s in old])).status_code == 204
        new = Labels.of(name__="m", i="new")
        body = encode_write_request([(new, [T + 1], [1.0]), *[(s, [T + 1], [2.0]) for s in old]])
        r = client.post("/api/v1/write", content=body)
        assert r.status_code == 400 and "limit" in r.text
        got = _samples(db)
        assert new not in got
        assert all(got[s] == [(T, 1.0), (T + 1, 2.0)] for s in old)
