"""Rule and alert endpoints in Prometheus' JSON shape: ``GET /api/v1/rules`` (``type=alert|record``),
``GET /api/v1/alerts``, and ``POST|PUT /-/reload`` and ``/-/quit``.

The last two answer 403 "Lifecycle API is not enabled." unless the server runs with
``--web.enable-lifecycle`` (``ctx.settings["enable_lifecycle"]``), as in Prometheus.
``/-/reload`` runs ``ctx.settings["reload"]`` (an async ``() -> bool`` re-reading the
config, when the server provides one) and reloads the rule files; a bad rule file keeps
the running rules and answers 500 ``failed to reload config: ...`` like Prometheus.
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from sloguard.api._http import ApiError, Params, api_endpoint, success
from sloguard.api._query_status import record_reload
from sloguard.gofmt import go_float_e
from sloguard.rules import Alert, AlertingRule, Group, RecordingRule, RuleStatus, expr_string

_ZERO_TIME = "0001-01-01T00:00:00Z"
LIFECYCLE_DISABLED = "Lifecycle API is not enabled."


def rfc3339(seconds: float | None) -> str:
    """Go's ``time.Time`` JSON (RFC 3339, nanoseconds, zeros trimmed); ``None`` is zero time."""
    if seconds is None:
        return _ZERO_TIME
    ns = round(seconds * 1e9)
    whole, frac = divmod(ns, 1_000_000_000)
    s = datetime.fromtimestamp(whole, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        s += "." + f"{frac:09d}".rstrip("0")
    return s + "Z"


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def alert_json(a: Alert) -> dict[str, Any]:
    return {
        "labels": dict(a.labels),
        "annotations": dict(a.annotations),
        "state": str(a.state),
        "activeAt": rfc3339(a.active_at / 1000),
        "value": go_float_e(a.value),
    }


def _alerts(rule: AlertingRule) -> list[dict[str, Any]]:
    return [alert_json(a) for a in sorted(rule.active_alerts(), key=lambda a: a.labels)]


def _status(st: RuleStatus) -> dict[str, Any]:
    out: dict[str, Any] = {"health": st.health.value}
    if st.last_error:
        out["lastError"] = st.last_error
    out["evaluationTime"] = _num(st.evaluation_time_s)
    out["lastEvaluation"] = rfc3339(st.last_evaluation_s)
    return out


def rule_json(rule: AlertingRule | RecordingRule) -> dict[str, Any]:
    if isinstance(rule, AlertingRule):
        return {
            "state": str(rule.state), "name": rule.name, "query": expr_string(rule.expr),
            "duration": _num(rule.hold_ms / 1000), "keepFiringFor": _num(rule.keep_firing_for_ms / 1000),
            "labels": dict(rule.rule_labels), "annotations": dict(rule.rule_annotations),
            "alerts": _alerts(rule), **_status(rule.status), "type": "alerting",
        }
    out: dict[str, Any] = {"name": rule.name, "query": expr_string(rule.expr)}
    if rule.rule_labels:
        out["labels"] = dict(rule.rule_labels)
    return {**out, **_status(rule.status), "type": "recording"}


def group_json(g: Group, want: str) -> dict[str, Any]:
    rules = [
        rule_json(r) for r in g.rules
        if want == "" or (want == "alert") == isinstance(r, AlertingRule)
    ]
    return {
        "name": g.name, "file": g.file, "rules": rules,
        "interval": _num(g.interval_ms / 1000), "limit": g.limit,
        "evaluationTime": _num(g.evaluation_time_s), "lastEvaluation": rfc3339(g.last_evaluation_s),
    }


def routes(ctx: Any) -> list[BaseRoute]:
    @api_endpoint
    async def rules(request: Request) -> Response:
        params = await Params.of(request)
        want = params.get("type").lower()
        if want not in ("", "alert", "record"):
            raise ApiError(f'invalid parameter "type": not supported value "{params.get("type")}"')
        # Prometheus 2.42 keeps groups with no rule of the wanted type (empty "rules")
        # and has no rule_name[]/rule_group[]/file[] filters.
        out = [group_json(g, want) for g in _groups(ctx)]
        return success({"groups": out})

    @api_endpoint
    async def alerts(request: Request) -> Response:
        out = [alert_json(a) for g in _groups(ctx) for r in g.alerting_rules()
               for a in sorted(r.active_alerts(), key=lambda a: a.labels)]
        return success({"alerts": out})

    async def reload(request: Request) -> Response:
        if not ctx.settings.get("enable_lifecycle", False):
            return PlainTextResponse(LIFECYCLE_DISABLED, status_code=403)
        problems = await _reload_problems(ctx)
        record_reload(ctx.settings, ok=not problems)
        if problems:
            return PlainTextResponse(f"failed to reload config: {'; '.join(problems)}\n", status_code=500)
        return Response(status_code=200)

    async def quit_(request: Request) -> Response:
        stop = ctx.settings.get("quit")
        if not ctx.settings.get("enable_lifecycle", False) or stop is None:
            return PlainTextResponse(LIFECYCLE_DISABLED, status_code=403)
        stop()
        return PlainTextResponse("Requesting termination... Goodbye!")

    return [
        Route("/api/v1/rules", rules, methods=["GET", "POST"]),
        Route("/api/v1/alerts", alerts, methods=["GET", "POST"]),
        Route("/-/reload", reload, methods=["POST", "PUT"]),
        Route("/-/quit", quit_, methods=["POST", "PUT"]),
    ]


async def _reload_problems(ctx: Any) -> list[str]:
    """Reload the config (through the server's ``settings["reload"]`` hook) and the rule
    files; why each failed. The hook returns the reason (``str``), ``False`` or ``None``/``True``."""
    problems = []
    hook = ctx.settings.get("reload")
    if hook is not None:
        outcome = hook()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if isinstance(outcome, str):
            problems.append(outcome)
        elif outcome is False:
            problems.append("the configuration file could not be loaded")
    if ctx.rule_manager is not None:
        try:
            ctx.rule_manager.reload()
        except Exception as e:  # noqa: BLE001 - reported to the caller, rules keep running
            problems.append(f"error loading rules: {e}")
    return problems


def _groups(ctx: Any) -> list[Group]:
    m = ctx.rule_manager
    return [] if m is None else list(m.groups())
