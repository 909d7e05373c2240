"""POST /api/v1/write with label sets over the limits and snappy bombs: the series is
named in a 400, the request's valid series are stored, nothing poisons the next write or
a scrape, and a restart replays everything acknowledged."""

from __future__ import annotations

from pathlib import Path

import cramjam
import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from sloguard.api._context import ServerContext
from sloguard.api._write import make_handler
from sloguard.config import Config
from sloguard.config._model import RemoteWriteReceiverSettings
from sloguard.ingest.remote_write import encode_write_request
from sloguard.labels import Labels
from sloguard.tsdb import TSDB
from tests.api.test_write_tsdb import _samples
from tests.api.test_write_tsdb import db as db  # the fixture

NOW_S = 1_700_000_000.0
T = int(NOW_S * 1000)
OK1, OK2 = Labels.of(name__="up", job="a"), Labels.of(name__="up", job="b")


def _client(db: TSDB, **settings: int) -> TestClient:
    config = Config(remote_write_receiver=RemoteWriteReceiverSettings(**settings))
    handler = make_handler(ServerContext(storage=db, config=config), clock=lambda: NOW_S)
    return TestClient(Starlette(routes=[Route("/api/v1/write", handler, methods=["POST"])]))


def _scrape_like_commit(db: TSDB, t: int) -> None:
    """What a scrape does to the storage: one appender, a few series, one commit."""
    app = db.appender()
    app.append(Labels.of(name__="up", job="scraped", instance="x"), t, 1.0)
    app.append(Labels.of(name__="scrape_samples_scraped", job="scraped", instance="x"), t, 1.0)
    assert app.commit().rejected_total == 0


BAD = {
    "long name": (Labels([("__name__", "up"), ("n" * 65_536, "x")]), "label_name_length_limit exceeded",
                  "...(65536 bytes)"),
    "long value": (Labels([("__name__", "up"), ("v", "y" * 70_000)]), "label_value_length_limit exceeded",
                   "...(70000 bytes)"),
    "many labels": (Labels([("__name__", "up"), *((f"l{i:03}", "v") for i in range(199))]),
                    "label_limit exceeded", "number of labels: 200, limit: 128"),
}


@pytest.mark.parametrize("case", BAD)
def test_series_over_a_label_limit_get_400_naming_it_and_the_rest_is_stored(
    case: str, tmp_path: Path
) -> None:
    bad, why, detail = BAD[case]
    with TSDB.open(tmp_path / "d") as db:
        client = _client(db)
        body = encode_write_request([(OK1, [T], [1.0]), (bad, [T], [2.0]), (OK2, [T], [3.0])])
        r = client.post("/api/v1/write", content=body)
        assert r.status_code == 400
        assert why in r.text and detail in r.text and "invalid labels for series up{" in r.text
        assert len(r.text) < 2000
        assert client.post("/api/v1/write", content=body).status_code == 400  # a retry: same answer
        assert client.post("/api/v1/write", content=encode_write_request([(OK1, [T + 1], [4.0])])).status_code == 204
        _scrape_like_commit(db, T + 2)
        before = _samples(db)
    with TSDB.open(tmp_path / "d") as db:
        assert _samples(db) == before
        assert before[OK1] == [(T, 1.0), (T + 1, 4.0)] and before[OK2] == [(T, 3.0)] and bad not in before


def test_with_limits_off_the_storage_bounds_still_refuse_a_65536_byte_name(db: TSDB, tmp_path: Path) -> None:
    client = _client(db, label_limit=0, label_name_length_limit=0, label_value_length_limit=0)
    bad = Labels([("__name__", "up"), ("n" * 65_536, "x")])
    body = encode_write_request([(OK1, [T], [1.0]), (bad, [T], [2.0])])
    r = client.post("/api/v1/write", content=body)
    assert r.status_code == 400 and "65535 bytes per label name" in r.text and "...(65536 bytes)" in r.text
    assert client.post("/api/v1/write", content=encode_write_request([(OK2, [T], [3.0])])).status_code == 204
    _scrape_like_commit(db, T + 1)
    long_value = Labels([("__name__", "up"), ("v", "y" * 70_000)])  # within the storage's bounds
    assert client.post("/api/v1/write", content=encode_write_request([(long_value, [T], [5.0])])).status_code == 204
    got = _samples(db)
    assert got[OK1] == [(T, 1.0)] and got[OK2] == [(T, 3.0)] and got[long_value] == [(T, 5.0)]


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def test_snappy_body_declaring_more_than_the_limit_is_400_naming_both_sizes(db: TSDB) -> None:
    client = _client(db, max_decompressed_bytes=100_000)
    bomb = bytes(cramjam.snappy.compress_raw(np.zeros(3_000_000, np.uint8).tobytes()))
    r = client.post("/api/v1/write", content=bomb)
    assert r.status_code == 400
    assert "decompressed size of 3000000 bytes" in r.text and "limit of 100000 bytes" in r.text
    # refused on the declared size alone: a body that is nothing but the header gets the same answer
    r = client.post("/api/v1/write", content=_varint(3_000_000))
    assert r.status_code == 400 and "decompressed size of 3000000 bytes" in r.text
    assert client.post("/api/v1/write", content=encode_write_request([(OK1, [T], [1.0])])).status_code == 204


@pytest.mark.parametrize("declared", [1000, 20_000])
def test_snappy_body_lying_about_its_size_is_400(db: TSDB, declared: int) -> None:
    client = _client(db, max_decompressed_bytes=100_000)
    real = bytes(cramjam.snappy.compress_raw(bytes(10_000)))
    assert real[:2] == _varint(10_000)
    r = client.post("/api/v1/write", content=_varint(declared) + real[2:])
    assert r.status_code == 400 and "not valid snappy" in r.text
    assert client.post("/api/v1/write", content=encode_write_request([(OK1, [T], [1.0])])).status_code == 204
    assert _samples(db) == {OK1: [(T, 1.0)]}


def test_malformed_snappy_length_header_is_400(db: TSDB) -> None:
    r = _client(db).post("/api/v1/write", content=b"\xff" * 12)
    assert r.status_code == 400 and "length header is malformed" in r.text
