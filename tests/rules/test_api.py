"""`/api/v1/rules`, `/api/v1/alerts` and `/-/reload` in Prometheus' JSON shape."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sloguard.api._context import ServerContext
from sloguard.api._rules import rfc3339, routes
from sloguard.gofmt import go_float_e
from sloguard.rules import ManagerOptions, RuleManager
from sloguard.tsdb.testing import MemoryStorage
from tests._net import free_port

RULES = """
groups:
  - name: example
    interval: 1s
    rules:
      - record: one
        expr: vector(1)
        labels: {team: a}
      - alert: Always
        expr: vector(1.5)
        for: 1m
        keep_firing_for: 2m
        labels: {severity: page}
        annotations: {summary: "value {{ $value }}"}
      - alert: Now
        expr: vector(2)
      - alert: Bad
        expr: foo + on(a) bar
"""
T = 1_700_000_000_000


def _client(tmp_path: Path, storage: MemoryStorage, opts: ManagerOptions) -> tuple[TestClient, RuleManager, Path]:
    path = tmp_path / "rules.yml"
    path.write_text(RULES)
    m = RuleManager(opts, use_threads=False)
    m.update([str(path)])
    for g in m.groups():
        for r in g.alerting_rules():
            r.restored = True
        g.eval(T)
    ctx = ServerContext(storage=storage, rule_manager=m, settings={"enable_lifecycle": True})
    return TestClient(Starlette(routes=routes(ctx))), m, path


def test_rules_endpoint_shape(tmp_path: Path, storage: MemoryStorage, opts: ManagerOptions) -> None:
    client, _, path = _client(tmp_path, storage, opts)
    body = client.get("/api/v1/rules").json()
    assert body["status"] == "success"
    (g,) = body["data"]["groups"]
    assert list(g) == ["name", "file", "rules", "interval", "limit", "evaluationTime", "lastEvaluation"]
    assert (g["name"], g["file"], g["interval"], g["limit"]) == ("example", str(path), 1, 0)
    rec, always, now, bad = g["rules"]
    assert list(rec) == ["name", "query", "labels", "health", "evaluationTime", "lastEvaluation", "type"]
    assert rec["type"] == "recording" and rec["labels"] == {"team": "a"} and rec["health"] == "ok"
    assert list(always) == ["state", "name", "query", "duration", "keepFiringFor", "labels", "annotations",
                            "alerts", "health", "evaluationTime", "lastEvaluation", "type"]
    assert (always["state"], always["duration"], always["keepFiringFor"]) == ("pending", 60, 120)
    assert always["annotations"] == {"summary": "value {{ $value }}"}
    (a,) = always["alerts"]
    assert a == {"labels": {"alertname": "Always", "severity": "page"}, "annotations": {"summary": "value 1.5"},
                 "state": "pending", "activeAt": "2023-11-14T22:13:20Z", "value": "1.5e+00"}
    assert now["state"] == "firing" and bad["state"] == "inactive" and bad["alerts"] == []


def test_rules_type_filter_and_bad_type(tmp_path: Path, storage: MemoryStorage, opts: ManagerOptions) -> None:
    client, _, _ = _client(tmp_path, storage, opts)
    alerts_only = client.get("/api/v1/rules", params={"type": "alert"}).json()["data"]["groups"][0]["rules"]
    assert [r["type"] for r in alerts_only] == ["alerting"] * 3
    rec_only = client.get("/api/v1/rules", params={"type": "record"}).json()["data"]["groups"][0]["rules"]
    assert [r["name"] for r in rec_only] == ["one"]
    r = client.get("/api/v1/rules", params={"type": "foo"})
    assert r.status_code == 400
    assert r.json() == {"status": "error", "errorType": "bad_data",
                        "error": 'invalid parameter "type": not supported value "foo"'}


def test_type_filter_keeps_groups_without_matching_rules(tmp_path: Path, storage: MemoryStorage, opts: ManagerOptions) -> None:
    path = tmp_path / "r.yml"
    path.write_text("groups:\n- name: rec\n  rules:\n  - record: one\n    expr: vector(1)\n"
                    "- name: al\n  rules:\n  - alert: A\n    expr: vector(1)\n")
    m = RuleManager(opts, use_threads=False)
    m.update([str(path)])
    client = TestClient(Starlette(routes=routes(ServerContext(storage=storage, rule_manager=m))))
    groups = client.get("/api/v1/rules", params={"type": "alert"}).json()["data"]["groups"]
    assert [(g["name"], len(g["rules"])) for g in groups] == [("al", 1), ("rec", 0)]
    (never,) = groups[0]["rules"]
    assert (never["health"], never["lastEvaluation"], never["evaluationTime"]) == ("unknown", "0001-01-01T00:00:00Z", 0)


def test_alerts_endpoint_lists_pending_and_firing(tmp_path: Path, storage: MemoryStorage, opts: ManagerOptions) -> None:
    client, _, _ = _client(tmp_path, storage, opts)
    alerts = client.get("/api/v1/alerts").json()["data"]["alerts"]
    assert [(a["labels"]["alertname"], a["state"], a["value"]) for a in alerts] == [
        ("Always", "pending", "1.5e+00"), ("Now", "firing", "2e+00")]


def test_failed_rule_shows_err_health_and_last_error(tmp_path: Path, storage: MemoryStorage, opts: ManagerOptions) -> None:
    from sloguard.labels import Labels

    storage.add(Labels.of(name__="foo", a="1"), [T], [1.0])
    storage.add(Labels.of(name__="bar", a="1", b="1"), [T], [1.0])
    storage.add(Labels.of(name__="bar", a="1", b="2"), [T], [1.0])
    client, m, _ = _client(tmp_path, storage, opts)
    bad = client.get("/api/v1/rules").json()["data"]["groups"][0]["rules"][3]
    assert bad["health"] == "err" and "many-to-many matching not allowed" in bad["lastError"]


def test_reload_keeps_rules_on_bad_file_and_reports_500(tmp_path: Path, storage: MemoryStorage, opts: ManagerOptions) -> None:
    client, m, path = _client(tmp_path, storage, opts)
    path.write_text("groups:\n  - name: x\n    rules:\n      - record: y\n        expr: 'up +'\n")
    r = client.post("/-/reload")
    assert r.status_code == 500 and r.text.startswith("failed to reload config: ")
    assert "could not parse expression" in r.text
    assert [g.name for g in m.groups()] == ["example"]
    path.write_text("groups:\n  - name: x\n    rules:\n      - record: y\n        expr: up\n")
    assert client.post("/-/reload").status_code == 200
    assert [g.name for g in m.groups()] == ["x"]


def test_value_and_time_formatting() -> None:
    assert [go_float_e(v) for v in (1.5, 2.0, 0.001, float("nan"), float("inf"))] == [
        "1.5e+00", "2e+00", "1e-03", "NaN", "+Inf"]
    assert rfc3339(None) == "0001-01-01T00:00:00Z"
    assert rfc3339(1.25) == "1970-01-01T00:00:01.25Z"


def _keys(x: Any) -> Any:
    """The JSON's structure: keys and value types, recursively (values differ by time)."""
    if isinstance(x, dict):
        return {k: _keys(v) for k, v in x.items() if k not in ("lastError",)}
    if isinstance(x, list):
        return [_keys(v) for v in x]
    return type(x).__name__ if not isinstance(x, int | float) or isinstance(x, bool) else "number"


@pytest.mark.peer
def test_shape_matches_real_prometheus(tmp_path: Path, storage: MemoryStorage, opts: ManagerOptions) -> None:
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus not on PATH")
    (tmp_path / "rules.yml").write_text(RULES)
    (tmp_path / "prom.yml").write_text("global: {evaluation_interval: 1s}\nrule_files: [rules.yml]\n")
    port = free_port()
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={tmp_path / 'prom.yml'}", f"--web.listen-address=127.0.0.1:{port}",
         f"--storage.tsdb.path={tmp_path / 'data'}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        theirs = None
        for _ in range(100):
            try:
                theirs = httpx.get(f"http://127.0.0.1:{port}/api/v1/rules", timeout=2).json()
                if theirs["data"]["groups"] and theirs["data"]["groups"][0]["rules"][2]["alerts"]:
                    break
            except (httpx.HTTPError, json.JSONDecodeError, KeyError, IndexError):
                pass
            time.sleep(0.2)
        their_alerts = httpx.get(f"http://127.0.0.1:{port}/api/v1/alerts", timeout=2).json()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    client, _, _ = _client(tmp_path, storage, opts)
    ours = client.get("/api/v1/rules").json()
    assert theirs is not None
    assert _keys(ours) == _keys(theirs)
    assert _keys(client.get("/api/v1/alerts").json()) == _keys(their_alerts)
    their_rules = theirs["data"]["groups"][0]["rules"]
    for mine, real in zip(ours["data"]["groups"][0]["rules"], their_rules, strict=True):
        assert (mine.get("state"), mine["health"], mine.get("labels"), mine["query"]) == (
            real.get("state"), real["health"], real.get("labels"), real["query"])
        assert [a["value"] for a in mine.get("alerts", [])] == [a["value"] for a in real.get("alerts", [])]
