"""Remote-write counters on /metrics: requests by status code, samples by result."""

from __future__ import annotations

import cramjam
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from sloguard.api import ServerContext, create_app
from sloguard.ingest._remote_write_proto import WriteRequest
from sloguard.labels import Labels
from sloguard.tsdb.testing import MemoryStorage

HEADERS = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy"}


def _body() -> bytes:
    """good{} x2 samples, one invalid-label series x1, one histogram and one exemplar."""
    req = WriteRequest()
    good = req.timeseries.add()
    good.labels.add(name="__name__", value="good")
    good.samples.add(value=1.0, timestamp=1000)
    good.samples.add(value=2.0, timestamp=2000)
    good.exemplars.add(value=1.0, timestamp=1000)
    bad = req.timeseries.add()
    bad.labels.add(name="__name__", value="bad")
    bad.labels.add(name="0job", value="x")
    bad.samples.add(value=3.0, timestamp=1000)
    hist = req.timeseries.add()
    hist.labels.add(name="__name__", value="h")
    hist.histograms.add(count_int=3, timestamp=1000)
    return bytes(cramjam.snappy.compress_raw(req.SerializeToString()))


def _remote_write_samples(text: str) -> dict[tuple[str, str], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name.startswith("sloguard_remote_write_"):
                out[(s.name, next(iter(s.labels.values())))] = s.value
    return out


def test_metrics_count_remote_write_requests_by_code_and_samples_by_result() -> None:
    storage = MemoryStorage()
    storage.add(Labels.of(name__="good"), [1500], [9.0])  # makes the sample at 1000 out of order
    client = TestClient(create_app(ServerContext(storage=storage)))
    assert client.post("/api/v1/write", content=_body(), headers=HEADERS).status_code == 400
    assert client.post("/api/v1/write", content=b"\x00junk", headers=HEADERS).status_code == 400
    assert client.post("/api/v1/write", content=b"", headers={**HEADERS, "Content-Encoding": "gzip"}).status_code == 415
    ok = WriteRequest()
    ts = ok.timeseries.add()
    ts.labels.add(name="__name__", value="good")
    ts.samples.add(value=5.0, timestamp=3000)
    body = bytes(cramjam.snappy.compress_raw(ok.SerializeToString()))
    assert client.post("/api/v1/write", content=body, headers=HEADERS).status_code == 204

    got = _remote_write_samples(client.get("/metrics").text)
    assert got == {
        ("sloguard_remote_write_requests_total", "204"): 1,
        ("sloguard_remote_write_requests_total", "400"): 2,
        ("sloguard_remote_write_requests_total", "415"): 1,
        ("sloguard_remote_write_samples_total", "stored"): 2,
        ("sloguard_remote_write_samples_total", "refused"): 1,
        ("sloguard_remote_write_samples_total", "invalid_labels"): 1,
        ("sloguard_remote_write_samples_total", "histogram_dropped"): 1,
        ("sloguard_remote_write_samples_total", "exemplar_dropped"): 1,
    }


def test_remote_write_counters_start_at_zero_for_every_result() -> None:
    client = TestClient(create_app(ServerContext(storage=MemoryStorage())))
    got = _remote_write_samples(client.get("/metrics").text)
    assert {k for k, v in got.items() if v == 0} == {
        ("sloguard_remote_write_samples_total", r)
        for r in ("stored", "refused", "invalid_labels", "histogram_dropped", "exemplar_dropped")
    }
