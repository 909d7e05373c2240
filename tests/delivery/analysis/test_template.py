"""Argo's AnalysisTemplate read unchanged: the documentation's example runs on the embedded
engine; every unsupported or wrong field is reported with its key path."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sloguard.delivery.analysis import AnalysisPhase, run_to_end, start_run
from sloguard.delivery.analysis.providers import (
    PrometheusConfig,
    PromQLConfig,
    ProviderEnv,
    WebConfig,
    engine_query,
)
from sloguard.delivery.analysis.template import (
    TemplateError,
    instantiate,
    load_template_file,
    load_templates,
)
from sloguard.labels import Labels
from sloguard.promql.engine import PromQLEngine
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions
from tests.delivery.analysis._fake import JumpClock, M

DATA = Path(__file__).parent / "data"
T0 = 1_700_000_000_000 // M * M
SVC = "guestbook-svc.default.svc.cluster.local"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[TSDB]:
    d = TSDB.open(tmp_path / "data", TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
    try:
        yield d
    finally:
        d.close()


def _istio(db: TSDB, error_share: float, rps: float = 20.0) -> None:
    """Istio's request counters for the service from T0 - 10m to T0 + 40m, every 15 s."""
    ts = np.arange(T0 - 10 * M, T0 + 40 * M + 1, 15_000, dtype=np.int64)
    per = rps * 15
    app = db.appender()
    for code, share in (("200", 1 - error_share), ("503", error_share)):
        labels = Labels.of(name__="istio_requests_total", reporter="source", destination_service=SVC, response_code=code)
        app.append_many(labels, ts, np.cumsum(np.full(len(ts), per * share)))
    other = Labels.of(name__="istio_requests_total", reporter="source", destination_service="other", response_code="503")
    app.append_many(other, ts, np.cumsum(np.full(len(ts), 1000.0)))  # another service's errors do not count
    app.commit()


def _doc_run(db: TSDB) -> tuple[AnalysisPhase, str, int]:
    (template,), problems = load_template_file(DATA / "argo-success-rate.yaml")
    assert problems == []
    metrics = instantiate(template, {"service-name": SVC}, embedded_prometheus=True)
    clock = JumpClock(T0)
    run = asyncio.run(run_to_end(start_run("guestbook-1", metrics, T0), ProviderEnv(engine_query(PromQLEngine(db))),
                                 clock, until_ms=T0 + 30 * M))
    return run.phase, run.message, clock.now


def test_argo_documentation_template_passes_a_healthy_canary(db: TSDB) -> None:
    _istio(db, error_share=0.01)
    phase, message, now = _doc_run(db)
    assert phase is AnalysisPhase.SUCCESSFUL
    assert "7 successful" in message  # every 5 minutes from 0 to 30 minutes
    assert now == T0 + 30 * M


def test_argo_documentation_template_fails_a_bad_canary(db: TSDB) -> None:
    _istio(db, error_share=0.10)
    phase, message, now = _doc_run(db)
    assert phase is AnalysisPhase.FAILED
    assert "failed (4) > failureLimit (3)" in message and "[0.9" in message
    assert now == T0 + 15 * M  # the fourth failure, at the fourth 5-minute measurement


def test_the_documentation_template_substitutes_its_args() -> None:
    (t,), _ = load_template_file(DATA / "argo-success-rate.yaml")
    (m,) = instantiate(t, {"service-name": "svc-a"})
    assert isinstance(m.provider, PrometheusConfig)
    assert m.provider.address == "http://prometheus.example.com:9090"
    assert m.provider.query.count('destination_service=~"svc-a"') == 2
    assert (m.interval_ms, m.count, m.effective_count, m.failure_limit) == (5 * M, None, None, 3)
    (e,) = instantiate(t, {"service-name": "svc-a"}, embedded_prometheus=True)
    assert isinstance(e.provider, PromQLConfig) and e.provider.query == m.provider.query


def test_inline_template_uses_the_default_arg_and_measures_once() -> None:
    (t,), problems = load_template_file(DATA / "argo-success-rate-inline.yaml")
    assert problems == []
    (m,) = instantiate(t, {"service-name": "svc"})
    assert m.provider.address == "http://prometheus.example.com:9090"  # type: ignore[attr-defined]
    (m,) = instantiate(t, {"service-name": "svc", "prometheus-port": "9091"})
    assert m.provider.address == "http://prometheus.example.com:9091"  # type: ignore[attr-defined]
    assert m.effective_count == 1


def test_args_must_be_given_and_declared() -> None:
    (t,), _ = load_template_file(DATA / "argo-success-rate.yaml")
    with pytest.raises(TemplateError) as e:
        instantiate(t, {"service": "x"})
    text = str(e.value)
    assert "'service' is given but the template does not declare it" in text
    assert "'service-name' has no value" in text


BAD = """
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: bad}
spec:
  measurementRetention: [{metricName: .*, limit: 20}]
  args:
  - name: secret
    valueFrom: {secretKeyRef: {name: s, key: k}}
  dryRun: [{metricName: nothing-matches}]
  metrics:
  - name: dd
    provider: {datadog: {query: "avg:x"}}
  - name: prom
    interval: 5 minutes
    count: 3
    consecutiveSuccessLimit: 2
    successCondition: "result[0] >= "
    colour: blue
    provider:
      prometheus:
        address: prometheus:9090
        query: 'up{job="{{args.missing}}"}'
        rangeQuery: {start: "now()", end: "now()"}
        authentication: {sigv4: {region: eu}}
  - name: web
    count: 2
    failureLimit: 3
    provider:
      web: {url: "http://x", method: GET, body: "b", authentication: {oauth2: {tokenUrl: t}}}
  - name: web
    provider: {}
"""


def test_every_problem_is_reported_with_its_key_path() -> None:
    templates, problems = load_templates(BAD, "bad.yaml")
    assert templates == []
    paths = {p.path for p in problems}
    assert {
        "spec.measurementRetention", "spec.args[0].valueFrom", "spec.dryRun[0].metricName",
        "spec.metrics[0].provider.datadog", "spec.metrics[1].interval", "spec.metrics[1].consecutiveSuccessLimit",
        "spec.metrics[1].successCondition", "spec.metrics[1].colour", "spec.metrics[1].provider.prometheus.query",
        "spec.metrics[1].provider.prometheus.rangeQuery.step", "spec.metrics[1].provider.prometheus.authentication.sigv4",
        "spec.metrics[2].interval", "spec.metrics[2].count", "spec.metrics[2].provider.web.authentication",
        "spec.metrics[3].name", "spec.metrics[3].provider",
    } <= paths, sorted(paths)
    text = "\n".join(str(p) for p in problems)
    assert "bad.yaml: spec.metrics[0].provider.datadog: is not supported by sloguard" in text
    assert "'5 minutes' is not a duration" in text
    assert "at column 14: expected a value" in text
    assert "{{args.missing}}" in text and "not declared" in text
    assert "count (2) must be >= failureLimit (3)" in text
    assert "duplicate name 'web'" in text


@pytest.mark.parametrize(("text", "path", "words"), [
    ("apiVersion: v1\nkind: AnalysisTemplate\nmetadata: {name: a}\nspec: {metrics: []}", "apiVersion", "must be argoproj.io"),
    ("apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: a}\nspec: {}", "kind", "must be one of"),
    ("apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nspec: {metrics: []}", "metadata.name", "required"),
    ("a: [", "", "not valid YAML"),
    ("apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {name: a}\nspec: {metrics: [3, {name: x}]}",
     "spec.metrics[0]", "must be a mapping"),
    ("apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {name: a}\nspec: {metrics: [3, {name: x}]}",
     "spec.metrics[1].provider", "is required"),
])
def test_document_level_problems(text: str, path: str, words: str) -> None:
    _, problems = load_templates(text, "t.yaml")
    assert any(p.path == path and words in p.message for p in problems), problems


GOOD = """
apiVersion: argoproj.io/v1alpha1
kind: ClusterAnalysisTemplate
metadata: {name: web-check}
spec:
  args:
  - {name: host}
  - {name: limit, value: "0.5"}
  - {name: every, value: 1m30s}
  dryRun: [{metricName: .*-shadow}]
  metrics:
  - name: health
    interval: "{{ args.every }}"
    initialDelay: 1.5h
    count: "4"
    failureLimit: 1
    inconclusiveLimit: 2
    consecutiveErrorLimit: 0
    noDataLimit: 3
    successCondition: "result.ok == true && result.rate < {{args.limit}}"
    failureCondition: result.rate >= 0.9
    provider:
      web:
        url: "https://{{args.host}}/status"
        method: POST
        headers: [{key: X-Token, value: "{{args.host}}"}]
        jsonBody: {service: "{{args.host}}", window: 5}
        timeoutSeconds: 3
        jsonPath: "{$.data}"
        insecure: true
  - name: errors-shadow
    failureCondition: result[0] > 0
    provider:
      prometheus:
        query: sum(errors_total)
        timeout: 5
        headers: [{key: X-Scope-OrgID, value: a}]
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: second}
spec:
  metrics:
  - name: up
    provider: {prometheus: {address: "https://prom:9090", query: up, authentication: {basicAuth: {username: u, password: p}}}}
"""


def test_every_supported_field_is_read() -> None:
    (t, second), problems = load_templates(GOOD, "good.yaml")
    assert problems == []
    assert (t.kind, t.name, t.dry_run) == ("ClusterAnalysisTemplate", "web-check", (".*-shadow",))
    health, shadow = instantiate(t, {"host": "svc.example"})
    assert (health.interval_ms, health.initial_delay_ms, health.count) == (90_000, 5_400_000, 4)
    assert (health.failure_limit, health.inconclusive_limit, health.consecutive_error_limit, health.no_data_limit) == (1, 2, 0, 3)
    assert health.success_condition is not None and "< 0.5" in health.success_condition.text
    assert health.provider == WebConfig(
        "https://svc.example/status", "POST", (("X-Token", "svc.example"),), "",
        '{"service": "svc.example", "window": 5}', 3.0, "{$.data}", True,
    )
    assert (health.dry_run, shadow.dry_run) == (False, True)
    assert shadow.provider == PromQLConfig("sum(errors_total)")  # no address: the embedded engine
    (up,) = instantiate(second)
    assert up.provider == PrometheusConfig("https://prom:9090", "up", 30.0, (), ("u", "p"), None, False)


def test_problems_found_only_once_args_are_known_are_reported_at_instantiate() -> None:
    text = GOOD.split("---")[0].replace("{{ args.every }}", "{{args.every}}")
    (t,), problems = load_templates(text, "t.yaml")
    assert problems == []
    with pytest.raises(TemplateError) as e:
        instantiate(t, {"host": "h", "every": "soon", "limit": "0.5 +"})
    paths = {p.path for p in e.value.problems}
    assert {"spec.metrics[0].interval", "spec.metrics[0].successCondition"} <= paths


@pytest.mark.parametrize(("web", "path", "words"), [
    ("{url: 'http://x', method: DELETE}", "method", "not one of GET, POST, PUT"),
    ("{url: 'http://x', body: b}", "method", "must be POST or PUT"),
    ("{url: 'http://x', method: PUT, body: b, jsonBody: {a: 1}}", "body", "cannot both be given"),
    ("{url: 'http://x', jsonPath: '{$.[}'}", "jsonPath", "does not parse"),
    ("{method: GET}", "url", "is required"),
])
def test_web_metric_problems(web: str, path: str, words: str) -> None:
    text = f"""apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {{name: w}}
spec:
  metrics:
  - name: w
    provider: {{web: {web}}}
"""
    _, problems = load_templates(text, "w.yaml")
    assert [(p.path, words in p.message) for p in problems] == [(f"spec.metrics[0].provider.web.{path}", True)]
