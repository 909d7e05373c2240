"""An AnalysisTemplate's prometheus metric may name one of the server's ``query_backends``
(``sloguardQueryBackend``) instead of an ``address``: the name is checked with its key path,
and the query goes through ``sloguard.remote``'s engine (its auth, retries and errors)."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import pytest

from sloguard.api._rollout_setup import provider_env
from sloguard.delivery.analysis.providers import (
    PrometheusConfig,
    PromQLConfig,
    ProviderError,
    QueryBackendConfig,
    new_provider,
)
from sloguard.delivery.analysis.template import TemplateError, instantiate, load_templates
from sloguard.remote import RemoteEngine, parse_query_backend

T = 1_700_000_000_000


def _template(provider: str) -> str:
    return ("apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {name: t}\nspec:\n"
            "  metrics:\n  - name: errors\n    successCondition: result[0] < 0.05\n"
            f"    provider:\n      prometheus: {provider}\n")


def _one(provider: str, **kw: object) -> object:
    (t,), problems = load_templates(_template(provider), "t.yaml")
    assert not problems, problems
    (metric,) = instantiate(t, **kw)  # type: ignore[arg-type]
    return metric.provider


def test_the_extension_key_names_a_backend_checked_with_its_key_path() -> None:
    got = _one("{sloguardQueryBackend: payments-vm, query: 'vector(1)'}", query_backends=frozenset({"payments-vm"}))
    assert got == QueryBackendConfig("payments-vm", "vector(1)", "spec.metrics[0].provider.prometheus.sloguardQueryBackend")
    assert isinstance(_one("{sloguardQueryBackend: payments-vm, query: x}"), QueryBackendConfig)  # names not known here
    assert isinstance(_one("{address: 'http://p:9090', query: x}"), PrometheusConfig)
    assert isinstance(_one("{query: x}", query_backends=frozenset()), PromQLConfig)
    with pytest.raises(TemplateError, match=r"spec.metrics\[0\].provider.prometheus.sloguardQueryBackend: unknown "
                                            r"query backend 'payments-v' \(query_backends defines: payments-vm\)"):
        _one("{sloguardQueryBackend: payments-v, query: x}", query_backends=frozenset({"payments-vm"}))
    # both: refused when the file is read
    _, problems = load_templates(_template("{sloguardQueryBackend: vm, address: 'http://p:9090', query: x}"), "t.yaml")
    assert [(p.path, p.message) for p in problems] == [
        ("spec.metrics[0].provider.prometheus.sloguardQueryBackend",
         "names a query backend and address names a server: give one of them")]


def _engine(answers: list[httpx.Response], seen: list[httpx.Request]) -> RemoteEngine:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    backend = parse_query_backend({"url": "http://vm.payments:8428", "retries": 2, "min_backoff": "1ms",
                                   "basic_auth": {"username": "ana", "password": "pw"}})
    return RemoteEngine(backend, transport=httpx.MockTransport(handler), sleep=lambda _s: None)


def _vector(*values: float) -> httpx.Response:
    data = {"resultType": "vector", "result": [{"metric": {}, "value": [T / 1000, str(v)]} for v in values]}
    return httpx.Response(200, json={"status": "success", "data": data})


def test_the_query_goes_to_the_named_backend_with_its_auth_and_retries() -> None:
    seen: list[httpx.Request] = []
    engine = _engine([httpx.Response(503, text="busy"), _vector(0.02)], seen)
    env = provider_env(None, None, {"payments-vm": engine})
    provider = new_provider(QueryBackendConfig("payments-vm", "errors:ratio5m"), env)
    assert asyncio.run(provider.query(T)) == [0.02]
    assert len(seen) == 2 and seen[-1].url.host == "vm.payments" and seen[-1].url.path == "/api/v1/query"
    assert seen[-1].headers["authorization"] == "Basic " + base64.b64encode(b"ana:pw").decode()
    form = dict(httpx.QueryParams(seen[-1].content.decode()))
    assert form["query"] == "errors:ratio5m" and json.loads(form["time"]) == T / 1000


def test_backend_errors_and_unknown_names_become_provider_errors() -> None:
    seen: list[httpx.Request] = []
    bad = httpx.Response(400, json={"status": "error", "errorType": "bad_data", "error": "parse error at char 3"})
    env = provider_env(None, None, {"payments-vm": _engine([bad], seen)})
    with pytest.raises(ProviderError, match="query backend http://vm.payments:8428: instant query .*parse error") as e:
        asyncio.run(new_provider(QueryBackendConfig("payments-vm", "1 +"), env).query(T))
    assert not e.value.retryable and len(seen) == 1  # a 400 is not retried
    with pytest.raises(ProviderError, match=r"x.sloguardQueryBackend: unknown query backend 'gone' "
                                            r"\(query_backends defines: payments-vm\)"):
        new_provider(QueryBackendConfig("gone", "up", "x.sloguardQueryBackend"), env)


def test_a_rollout_naming_an_unknown_backend_is_refused_with_the_key_path() -> None:
    from sloguard.delivery.plan import PlanBuildError, plan_from_spec
    from sloguard.delivery.spec import load_bundle
    from tests.delivery.test_plan import rollout

    template = _template("{sloguardQueryBackend: payments-v, query: x}")
    text = rollout("    canary:\n      steps:\n      - analysis: {templates: [{templateName: t}]}\n") + "---\n" + template
    bundle = load_bundle(text, "r.yaml")
    assert not bundle.errors, bundle.errors
    (spec,) = bundle.rollouts
    plan_from_spec(spec, bundle.templates)  # the server's backends not known: left to the provider
    with pytest.raises(PlanBuildError, match=r"templates\[0\]\.templateName: the template 't' .*cannot be used: "
                                             r"spec.metrics\[0\].provider.prometheus.sloguardQueryBackend: unknown "
                                             r"query backend 'payments-v' \(query_backends defines: none\)"):
        plan_from_spec(spec, bundle.templates, query_backends=frozenset())
