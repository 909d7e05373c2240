"""POST /api/v1/write: status codes and messages as Prometheus' write handler gives them."""

from __future__ import annotations

import os

import cramjam
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from sloguard.api._context import ServerContext
from sloguard.api._write import make_handler, routes
from sloguard.ingest.remote_write import encode_write_request
from sloguard.labels import Labels
from sloguard.tsdb.testing import MemoryStorage

NOW_S = 1_700_000_000.0
HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


def _client(storage: MemoryStorage, **ctx_kw: int) -> TestClient:
    ctx = ServerContext(storage=storage, **ctx_kw)
    app = Starlette(routes=[Route("/api/v1/write", make_handler(ctx, clock=lambda: NOW_S), methods=["POST"])])
    return TestClient(app)


@pytest.fixture
def storage() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def client(storage: MemoryStorage) -> TestClient:
    return _client(storage)


def _stored(storage: MemoryStorage) -> dict[Labels, tuple[list[int], list[float]]]:
    return dict(storage._data)


def test_routes_expose_the_write_endpoint(storage: MemoryStorage) -> None:
    app = Starlette(routes=routes(ServerContext(storage=storage)))
    body = encode_write_request([(Labels.of(name__="up"), [1000], [1.0])])
    assert TestClient(app).post("/api/v1/write", content=body, headers=HEADERS).status_code == 204


def test_valid_request_is_stored_and_answered_204(client: TestClient, storage: MemoryStorage) -> None:
    up = Labels.of(name__="up", job="node")
    body = encode_write_request([(up, [1000, 2000], [1.0, 0.0])])
    r = client.post("/api/v1/write", content=body, headers=HEADERS)
    assert r.status_code == 204 and r.content == b""
    assert _stored(storage) == {up: ([1000, 2000], [1.0, 0.0])}


def test_missing_headers_default_to_snappy_protobuf_v1(client: TestClient) -> None:
    body = encode_write_request([(Labels.of(name__="up"), [1000], [1.0])])
    assert client.post("/api/v1/write", content=body).status_code == 204


def test_malformed_snappy_is_400_with_message(client: TestClient) -> None:
    r = client.post("/api/v1/write", content=b"\x00garbage", headers=HEADERS)
    assert r.status_code == 400 and "snappy" in r.text


def test_malformed_protobuf_is_400_with_message(client: TestClient) -> None:
    body = bytes(cramjam.snappy.compress_raw(b"\x0a\x09\x0a\x07\xff\xff"))
    r = client.post("/api/v1/write", content=body, headers=HEADERS)
    assert r.status_code == 400 and "protobuf" in r.text


def test_bad_labels_are_400_and_the_good_series_are_stored(client: TestClient, storage: MemoryStorage) -> None:
    body = encode_write_request([
        (Labels.of(name__="good"), [1000], [1.0]),
        ([("__name__", "bad"), ("0job", "x")], [1000], [2.0]),
    ])
    r = client.post("/api/v1/write", content=body, headers=HEADERS)
    assert r.status_code == 400 and "'0job'" in r.text
    assert _stored(storage) == {Labels.of(name__="good"): ([1000], [1.0])}


def test_out_of_order_and_duplicate_are_400_and_the_rest_is_stored(
    client: TestClient, storage: MemoryStorage
) -> None:
    a, b = Labels.of(name__="a"), Labels.of(name__="b")
    storage.add(a, [5000], [1.0])
    storage.add(b, [5000], [1.0])
    body = encode_write_request([(a, [4000, 6000], [1.0, 2.0]), (b, [5000], [9.0]), (Labels.of(name__="c"), [1], [3.0])])
    r = client.post("/api/v1/write", content=body, headers=HEADERS)
    assert r.status_code == 400
    assert "out of order sample" in r.text and "duplicate sample for timestamp" in r.text
    assert _stored(storage) == {a: ([5000, 6000], [1.0, 2.0]), b: ([5000], [1.0]), Labels.of(name__="c"): ([1], [3.0])}


def test_sample_more_than_10m_ahead_is_out_of_bounds(client: TestClient, storage: MemoryStorage) -> None:
    now_ms = int(NOW_S * 1000)
    body = encode_write_request([(Labels.of(name__="a"), [now_ms, now_ms + 11 * 60_000], [1.0, 2.0])])
    r = client.post("/api/v1/write", content=body, headers=HEADERS)
    assert r.status_code == 400 and "out of bounds" in r.text
    assert _stored(storage) == {Labels.of(name__="a"): ([now_ms], [1.0])}


def test_oversize_body_is_413(storage: MemoryStorage) -> None:
    client = _client(storage, max_write_body_bytes=100)
    body = encode_write_request([(Labels.of(name__="a", pad=os.urandom(300).hex()), [1], [1.0])])
    r = client.post("/api/v1/write", content=body, headers=HEADERS)
    assert r.status_code == 413 and "100 bytes" in r.text
    assert _stored(storage) == {}


def test_oversize_streamed_body_without_length_is_413(storage: MemoryStorage) -> None:
    client = _client(storage, max_write_body_bytes=100)

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b"x" * 50

    r = client.post("/api/v1/write", content=chunks(), headers=HEADERS)
    assert r.status_code == 413


def test_other_content_encoding_is_415(client: TestClient) -> None:
    body = encode_write_request([(Labels.of(name__="a"), [1], [1.0])])
    r = client.post("/api/v1/write", content=body, headers={**HEADERS, "Content-Encoding": "gzip"})
    assert r.status_code == 415 and "gzip encoding (compression) is not accepted" in r.text


def test_other_content_type_or_v2_message_is_415(client: TestClient) -> None:
    body = encode_write_request([(Labels.of(name__="a"), [1], [1.0])])
    r = client.post("/api/v1/write", content=body, headers={**HEADERS, "Content-Type": "application/json"})
    assert r.status_code == 415
    v2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request"
    r = client.post("/api/v1/write", content=body, headers={**HEADERS, "Content-Type": v2})
    assert r.status_code == 415 and "io.prometheus.write.v2.Request" in r.text


def test_get_is_not_allowed(client: TestClient) -> None:
    assert client.get("/api/v1/write").status_code == 405


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200), compress=st.booleans())
def test_arbitrary_bodies_never_give_a_5xx(client: TestClient, data: bytes, compress: bool) -> None:
    body = bytes(cramjam.snappy.compress_raw(data)) if compress else data
    r = client.post("/api/v1/write", content=body, headers=HEADERS)
    assert r.status_code in (204, 400, 413)  # 413: declared decompressed size over the limit
