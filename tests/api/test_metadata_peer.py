"""The metadata endpoints answer exactly as a real Prometheus does (bodies and status codes)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from sloguard.api import ServerContext, create_app
from sloguard.tsdb.testing import MemoryStorage
from tests._net import free_port

pytestmark = [
    pytest.mark.peer,
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus binary not on PATH"),
]

# Requests whose answers do not depend on the PromQL parser's own error wording.
CASES: list[tuple[str, str, dict[str, str | list[str]]]] = [
    ("GET", "/api/v1/series", {}),
    ("GET", "/api/v1/series", {"match[]": "up", "start": "abc"}),
    ("GET", "/api/v1/series", {"match[]": "up", "end": "2020-01-01"}),
    ("GET", "/api/v1/series", {"match[]": "up", "start": "2020-01-01T00:00:00Z", "end": "1e10"}),
    ("GET", "/api/v1/series", {"match[]": '{x=""}'}),
    ("GET", "/api/v1/series", {"match[]": ["up", 'nothing{job="x"}']}),
    ("POST", "/api/v1/series", {"match[]": "up", "start": "nope"}),
    ("POST", "/api/v1/series", {}),
    ("GET", "/api/v1/labels", {}),
    ("GET", "/api/v1/labels", {"start": "xyz"}),
    ("GET", "/api/v1/labels", {"match[]": "up", "end": "-1.5"}),
    ("POST", "/api/v1/labels", {"end": "bad"}),
    ("GET", "/api/v1/label/1bad/values", {}),
    ("GET", "/api/v1/label/job/values", {"end": "abc"}),
    ("GET", "/api/v1/label/__name__/values", {"match[]": "up"}),
]


def _start_prometheus(d: Path) -> tuple[subprocess.Popen[bytes], str]:
    (d / "p.yml").write_text("global: {scrape_interval: 15s}\n")
    port = free_port()
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={d / 'p.yml'}", f"--storage.tsdb.path={d / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=error",
         "--web.enable-remote-write-receiver"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("prometheus did not become ready within 30s")
    return proc, url


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, url = _start_prometheus(tmp_path_factory.mktemp("prom"))
    yield url
    proc.terminate()
    proc.wait(timeout=15)


@pytest.mark.parametrize(("method", "path", "params"), CASES)
def test_same_answer_as_prometheus(
    prometheus: str, method: str, path: str, params: dict[str, str | list[str]]
) -> None:
    ours = TestClient(create_app(ServerContext(storage=MemoryStorage())))
    if method == "GET":
        theirs_r = httpx.get(f"{prometheus}{path}", params=params)
        ours_r = ours.get(path, params=params)
    else:
        theirs_r = httpx.post(f"{prometheus}{path}", data=params)
        ours_r = ours.post(path, data=params)
    assert (ours_r.status_code, ours_r.json()) == (theirs_r.status_code, theirs_r.json())


def test_status_tsdb_cardinality_matches_prometheus(tmp_path: Path) -> None:
    from sloguard.ingest.remote_write import encode_write_request
    from sloguard.labels import Labels

    now = int(time.time() * 1000)
    series = [
        (Labels.of(__name__="http_requests_total", job="api", code=code, route=route), [now], [1.0])
        for code in ("200", "500") for route in ("/a", "/bb", "/ccc")
    ] + [
        (Labels.of(__name__="up", job=job, instance=f"{job}:9100"), [now], [1.0])
        for job in ("api", "db")
    ]
    body = encode_write_request(series)
    headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy"}
    proc, url = _start_prometheus(tmp_path)
    try:
        assert httpx.post(f"{url}/api/v1/write", content=body, headers=headers).status_code == 204
        theirs = httpx.get(f"{url}/api/v1/status/tsdb").json()["data"]
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    ours_client = TestClient(create_app(ServerContext(storage=MemoryStorage())))
    assert ours_client.post("/api/v1/write", content=body, headers=headers).status_code == 204
    ours = ours_client.get("/api/v1/status/tsdb").json()["data"]
    for key in ("headStats",):
        assert ours[key]["numSeries"] == theirs[key]["numSeries"]
        assert ours[key]["numLabelPairs"] == theirs[key]["numLabelPairs"]
    for key in ("seriesCountByMetricName", "labelValueCountByLabelName",
                "memoryInBytesByLabelName", "seriesCountByLabelValuePair"):
        assert len(theirs[key]) <= 10
        as_dict = {d["name"]: d["value"] for d in theirs[key]}
        ours_dict = {d["name"]: d["value"] for d in ours[key]}
        if len(as_dict) < 10:
            assert ours_dict == as_dict, key
        else:  # ties at the cut may differ; the values must agree where both list a name
            assert all(ours_dict[n] == v for n, v in as_dict.items() if n in ours_dict), key
