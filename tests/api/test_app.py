"""The assembled app: health/readiness, /metrics from the storage's stats, status endpoints, demo."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from sloguard.api import ServerContext, create_app
from sloguard.config import parse_config
from sloguard.tsdb import RejectReason
from sloguard.tsdb.testing import MemoryStorage


class _StatsStorage(MemoryStorage):
    def stats(self) -> Any:
        return SimpleNamespace(
            head_series=42, head_samples=1000, samples_appended_total=1234,
            samples_rejected={RejectReason.OUT_OF_ORDER: 3, RejectReason.SERIES_LIMIT: 1},
            series_created_total=50, series_rejected_by_limit=1, wal_bytes=4096, wal_segments=1,
            wal_fsyncs_total=10, wal_fsync_seconds_total=0.5, compactions_total=2,
            compaction_seconds_total=1.5, blocks=3, block_bytes=999, bytes_on_disk=5095,
            bytes_per_sample=1.3, retention_deleted_blocks_total=0,
        )


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_ready_is_503_until_context_is_ready() -> None:
    ctx = ServerContext(storage=MemoryStorage())
    client = TestClient(create_app(ctx))
    assert client.get("/-/healthy").status_code == 200
    assert client.get("/-/ready").status_code == 503
    ctx.ready = True
    assert client.get("/-/ready").status_code == 200


def test_metrics_exposes_tsdb_stats_with_prometheus_names() -> None:
    client = TestClient(create_app(ServerContext(storage=_StatsStorage())))
    s = _samples(client.get("/metrics").text)
    assert s[("sloguard_tsdb_head_series", ())] == 42
    assert s[("sloguard_tsdb_samples_appended_total", ())] == 1234
    assert s[("sloguard_tsdb_samples_rejected_total", (("reason", "out of order sample"),))] == 3
    assert s[("sloguard_tsdb_samples_rejected_total", (("reason", "duplicate sample for timestamp"),))] == 0
    assert s[("sloguard_tsdb_wal_bytes", ())] == 4096
    assert s[("sloguard_tsdb_wal_fsync_duration_seconds_count", ())] == 10
    assert s[("sloguard_tsdb_compaction_duration_seconds_sum", ())] == 1.5
    assert ("process_cpu_seconds_total", ()) in s or ("python_info", ()) in {(k[0], ()) for k in s}


def test_metrics_counts_http_requests_by_handler_and_code() -> None:
    client = TestClient(create_app(ServerContext(storage=MemoryStorage())))
    client.get("/api/v1/series")  # 400
    s = _samples(client.get("/metrics").text)
    assert s[("sloguard_http_requests_total", (("code", "400"), ("handler", "/api/v1/series")))] == 1


def test_status_config_shows_yaml_with_secrets_masked() -> None:
    config = parse_config(
        "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password: hunter2}\n"
        "    static_configs: [{targets: ['x:1']}]\n"
    )
    client = TestClient(create_app(ServerContext(storage=MemoryStorage(), config=config)))
    body = client.get("/api/v1/status/config").json()
    assert body["status"] == "success"
    assert "job_name: a" in body["data"]["yaml"]
    assert "hunter2" not in body["data"]["yaml"]


def test_status_flags_returns_the_flags() -> None:
    ctx = ServerContext(storage=MemoryStorage(), flags={"log.level": "info"})
    body = TestClient(create_app(ctx)).get("/api/v1/status/flags").json()
    assert body == {"status": "success", "data": {"log.level": "info"}}


def test_targets_without_scrape_manager_is_empty() -> None:
    body = TestClient(create_app(ServerContext(storage=MemoryStorage()))).get("/api/v1/targets").json()
    assert body == {"status": "success", "data": {"activeTargets": [], "droppedTargets": []}}


def test_demo_target_serves_parseable_exposition() -> None:
    client = TestClient(create_app(ServerContext(storage=MemoryStorage())))
    r = client.get("/demo/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    names = {f.name for f in text_string_to_metric_families(r.text)}
    assert {"http_requests", "http_request_duration_seconds"} <= names


def test_server_gate_answers_503_until_ready_except_health_and_metrics() -> None:
    ctx = ServerContext(storage=MemoryStorage(), gate_until_ready=True)
    client = TestClient(create_app(ctx))
    assert client.get("/api/v1/labels").status_code == 503
    assert client.post("/api/v1/write", content=b"").status_code == 503
    assert client.get("/-/healthy").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/-/ready").status_code == 503
    ctx.ready = True
    assert client.get("/api/v1/labels").status_code == 200
    assert client.get("/-/ready").status_code == 200
