"""One metric of an Argo template (``spec.metrics[i]``) to a ``Metric``, with Argo's checks
(``ValidateMetric``) and a problem for every field sloguard does not support."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sloguard.delivery.analysis._judged_template import read_judge, with_planned_looks
from sloguard.delivery.analysis._metric import (
    DEFAULT_CONSECUTIVE_ERROR_LIMIT,
    DEFAULT_NO_DATA_LIMIT,
    Metric,
)
from sloguard.delivery.analysis._template_fields import DEFERRED, Reader
from sloguard.delivery.analysis._template_range import read_range
from sloguard.delivery.analysis.condition import Condition
from sloguard.delivery.analysis.providers import (
    PrometheusConfig,
    PromQLConfig,
    QueryBackendConfig,
    WebConfig,
)
from sloguard.delivery.analysis.providers._base import ProviderError
from sloguard.delivery.analysis.providers.web import METHODS, compile_json_path

METRIC_KEYS = {
    "name", "interval", "initialDelay", "count", "successCondition", "failureCondition",
    "failureLimit", "inconclusiveLimit", "consecutiveErrorLimit", "provider", "noDataLimit",
}
METRIC_UNSUPPORTED = {
    "consecutiveSuccessLimit": "a metric ends on its count and limits (failureLimit, inconclusiveLimit)",
}
_OTHER_PROVIDERS = (
    "kayenta", "datadog", "wavefront", "newRelic", "job", "cloudWatch", "graphite", "influxdb",
    "skywalking", "plugin",
)
PROVIDER_UNSUPPORTED = {p: "sloguard's providers are prometheus (embedded or remote) and web" for p in _OTHER_PROVIDERS}
PROMETHEUS_KEYS = {
    "address", "query", "timeout", "insecure", "headers", "authentication", "sloguardQueryBackend", "rangeQuery",
}
PROMETHEUS_UNSUPPORTED: dict[str, str] = {}
AUTH_UNSUPPORTED = {"sigv4": "use headers", "oauth2": "use headers with a bearer token"}
WEB_KEYS = {"url", "method", "headers", "body", "jsonBody", "timeoutSeconds", "jsonPath", "insecure"}
WEB_UNSUPPORTED = {"authentication": "use headers (Authorization) instead"}


def read_metric(r: Reader, raw: Mapping[str, Any], path: str, embedded: bool, dry_run: bool) -> Metric | None:
    """The metric at ``path``, or None when it has problems (added to ``r``) or depends on
    arguments given at use."""
    before = len(r.problems)
    r.keys(raw, path, METRIC_KEYS, METRIC_UNSUPPORTED)
    name = r.text(raw, "name", f"{path}.name", required=True)
    fields = {
        "interval_ms": r.duration_ms(raw, "interval", f"{path}.interval"),
        "initial_delay_ms": r.duration_ms(raw, "initialDelay", f"{path}.initialDelay"),
        "count": r.integer(raw, "count", f"{path}.count", 0),
        "failure_limit": r.integer(raw, "failureLimit", f"{path}.failureLimit", -1),
        "inconclusive_limit": r.integer(raw, "inconclusiveLimit", f"{path}.inconclusiveLimit", 0),
        "consecutive_error_limit": r.integer(raw, "consecutiveErrorLimit", f"{path}.consecutiveErrorLimit", 0),
        "no_data_limit": r.integer(raw, "noDataLimit", f"{path}.noDataLimit", 0),
        "success_condition": _condition(r, raw, "successCondition", path),
        "failure_condition": _condition(r, raw, "failureCondition", path),
    }
    provider = _provider(r, raw.get("provider"), f"{path}.provider", embedded)
    if isinstance(raw.get("provider"), Mapping) and "judge" in raw["provider"]:
        for key in ("successCondition", "failureCondition"):
            if raw.get(key):
                r.problem(f"{path}.{key}", "is not used by a judge metric, whose judge decides; remove it")
    known = {k: (None if v is DEFERRED else v) for k, v in fields.items()}
    _check_counts(r, {**known, "interval_written": raw.get("interval") is not None}, path)
    if len(r.problems) > before or DEFERRED in (name, provider, *fields.values()):
        return None
    return _build(str(name), with_planned_looks(provider, raw, fields["count"]), fields, dry_run)


def _build(name: str, provider: Any, f: dict[str, Any], dry_run: bool) -> Metric:
    def get(key: str, default: Any) -> Any:
        return default if f[key] is None else f[key]

    return Metric(
        name, provider, f["success_condition"], f["failure_condition"], f["interval_ms"],
        f["count"] or None, get("initial_delay_ms", 0), get("failure_limit", 0),
        get("inconclusive_limit", 0), get("consecutive_error_limit", DEFAULT_CONSECUTIVE_ERROR_LIMIT),
        get("no_data_limit", DEFAULT_NO_DATA_LIMIT), dry_run,
    )


def _check_counts(r: Reader, f: dict[str, Any], path: str) -> None:
    """Argo's ``ValidateMetric`` rules on count, interval and the limits (on the fields
    that could be read; ``raw`` holds whether an interval was written at all)."""
    count, failure, inconclusive = f["count"], f["failure_limit"], f["inconclusive_limit"] or 0
    if failure == -1:
        r.problem(f"{path}.failureLimit", "-1 disables the failure limit, which needs consecutiveSuccessLimit "
                  "(not supported by sloguard)")
    if count:
        if failure is not None and failure >= 0 and count < failure:
            r.problem(f"{path}.count", f"count ({count}) must be >= failureLimit ({failure})")
        if count < inconclusive:
            r.problem(f"{path}.count", f"count ({count}) must be >= inconclusiveLimit ({inconclusive})")
        if count > 1 and f["interval_ms"] is None and not f["interval_written"]:
            r.problem(f"{path}.interval", f"is required when count ({count}) is more than 1")
    if f["interval_ms"] == 0:
        r.problem(f"{path}.interval", "must be more than 0")


def _condition(r: Reader, raw: Mapping[str, Any], key: str, path: str) -> Condition | None | object:
    return r.compiled(raw, key, f"{path}.{key}", Condition.compile)


def _provider(r: Reader, node: Any, path: str, embedded: bool) -> Any:
    if not isinstance(node, Mapping) or not node:
        r.problem(path, "is required: one of prometheus, web or judge")
        return None
    r.keys(node, path, {"prometheus", "web", "judge"}, PROVIDER_UNSUPPORTED)
    chosen = [k for k in ("prometheus", "web", "judge") if k in node]
    if len(chosen) != 1:
        if len(chosen) > 1:
            r.problem(path, "names more than one provider; a metric has exactly one")
        return None
    sub = node[chosen[0]]
    if not isinstance(sub, Mapping):
        r.problem(f"{path}.{chosen[0]}", "must be a mapping")
        return None
    if chosen[0] == "prometheus":
        return _prometheus(r, sub, f"{path}.prometheus", embedded)
    if chosen[0] == "judge":
        return read_judge(r, sub, f"{path}.judge")
    return _web(r, sub, f"{path}.web")


def _headers(r: Reader, node: Mapping[str, Any], path: str) -> tuple[tuple[str, str], ...] | object:
    items = node.get("headers") or []
    if not isinstance(items, list):
        r.problem(f"{path}.headers", "must be a list of {key, value}")
        return ()
    out: list[tuple[str, str]] = []
    for i, h in enumerate(items):
        where = f"{path}.headers[{i}]"
        if not isinstance(h, Mapping):
            r.problem(where, "must be a mapping with key and value")
            continue
        r.keys(h, where, {"key", "value"}, {})
        key, value = r.text(h, "key", f"{where}.key", True), r.text(h, "value", f"{where}.value", True)
        if DEFERRED in (key, value):
            return DEFERRED
        if key is not None and value is not None:
            out.append((str(key), str(value)))
    return tuple(out)


def _prometheus(r: Reader, node: Mapping[str, Any], path: str, embedded: bool) -> Any:
    r.keys(node, path, PROMETHEUS_KEYS, PROMETHEUS_UNSUPPORTED)
    address = r.text(node, "address", f"{path}.address")
    query = r.text(node, "query", f"{path}.query", required=True)
    timeout = r.integer(node, "timeout", f"{path}.timeout", 0)
    headers = _headers(r, node, path)
    auth = _basic_auth(r, node.get("authentication"), f"{path}.authentication")
    insecure = r.boolean(node, "insecure", f"{path}.insecure")
    span = read_range(r, node.get("rangeQuery"), f"{path}.rangeQuery")
    if DEFERRED in (address, query, timeout, headers, auth, span) or query is None:
        return DEFERRED if DEFERRED in (address, query, timeout, headers, auth, span) else None
    backend = _backend_name(r, node, path, address)
    if backend is DEFERRED:
        return DEFERRED
    if embedded or (not address and not backend):
        return PromQLConfig(str(query), span)  # type: ignore[arg-type]  # a RangeQuery or None here
    if backend:
        return QueryBackendConfig(str(backend), str(query), f"{path}.sloguardQueryBackend", span)  # type: ignore[arg-type]
    if not str(address).startswith(("http://", "https://")):
        r.problem(f"{path}.address", f"{address!r} is not an http:// or https:// URL")
        return None
    return PrometheusConfig(
        str(address), str(query), float(timeout or 30), headers,  # type: ignore[arg-type]  # checked above
        auth, None, insecure, span,  # type: ignore[arg-type]
    )


def _backend_name(r: Reader, node: Mapping[str, Any], path: str, address: Any) -> Any:
    """sloguard's extension ``sloguardQueryBackend``: a ``query_backends`` name instead of an ``address``."""
    where = f"{path}.sloguardQueryBackend"
    name = r.text(node, "sloguardQueryBackend", where)
    if name is None or name is DEFERRED:
        return name
    if address:
        r.problem(where, "names a query backend and address names a server: give one of them")
        return None
    if r.backends is not None and name not in r.backends:
        known = ", ".join(sorted(r.backends)) or "none"
        r.problem(where, f"unknown query backend {name!r} (query_backends defines: {known})")
        return None
    return name


def _basic_auth(r: Reader, node: Any, path: str) -> tuple[str, str] | None | object:
    if node is None:
        return None
    if not isinstance(node, Mapping):
        r.problem(path, "must be a mapping")
        return None
    r.keys(node, path, {"basicAuth"}, AUTH_UNSUPPORTED)
    basic = node.get("basicAuth")
    if not isinstance(basic, Mapping):
        return None
    user = r.text(basic, "username", f"{path}.basicAuth.username", True)
    password = r.text(basic, "password", f"{path}.basicAuth.password", True)
    if DEFERRED in (user, password):
        return DEFERRED
    return (str(user), str(password)) if user is not None and password is not None else None


def _web(r: Reader, node: Mapping[str, Any], path: str) -> Any:
    r.keys(node, path, WEB_KEYS, WEB_UNSUPPORTED)
    url = r.text(node, "url", f"{path}.url", required=True)
    method = r.text(node, "method", f"{path}.method") or "GET"
    body = r.text(node, "body", f"{path}.body") or ""
    json_body = None if node.get("jsonBody") is None else r.substitute(f"{path}.jsonBody", json.dumps(node["jsonBody"]))
    timeout = r.integer(node, "timeoutSeconds", f"{path}.timeoutSeconds", 0)
    json_path = r.text(node, "jsonPath", f"{path}.jsonPath") or "{$}"
    headers = _headers(r, node, path)
    values = (url, method, body, json_body, timeout, json_path, headers)
    if DEFERRED in values:
        return DEFERRED
    if url is None:
        return None
    config = WebConfig(
        str(url), str(method).upper(), headers, str(body), json_body,  # type: ignore[arg-type]
        float(timeout or 10), str(json_path), r.boolean(node, "insecure", f"{path}.insecure"),  # type: ignore[arg-type]
    )
    problem = _web_problem(config)
    if problem is not None:
        r.problem(f"{path}.{problem[0]}", problem[1])
        return None
    return config


def _web_problem(c: WebConfig) -> tuple[str, str] | None:
    """The key and the sentence of what is wrong with a web metric, if anything."""
    if c.method not in METHODS:
        return "method", f"{c.method!r} is not one of {', '.join(METHODS)}"
    if (c.body or c.json_body is not None) and c.method == "GET":
        return "method", "must be POST or PUT to send body or jsonBody"
    if c.body and c.json_body is not None:
        return "body", "and jsonBody cannot both be given"
    try:
        compile_json_path(c.json_path)
    except ProviderError as e:
        return "jsonPath", str(e)
    return None
