"""Targets (``/targets``), Rules (``/rules``) and Status (``/status``): Prometheus' status
pages over the same JSON as every client (``/api/v1/targets``, ``/api/v1/rules``,
``/api/v1/status/{buildinfo,runtimeinfo,flags,config,tsdb}``). Each section says so when
its API answered an error or had nothing to show; the regions refresh in place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from sloguard.ui._api import api_get
from sloguard.ui._render import render

#: Target health values in the order the filter offers them.
HEALTH = ("up", "down", "unknown")
#: Rule types of ``/api/v1/rules?type=``.
RULE_TYPES = {"alert": "Alerting", "record": "Recording"}


def graph_link(expr: str) -> str:
    """The Explore page's table of ``expr`` (the link Prometheus' rules page gives a query)."""
    return "/graph?" + urlencode({"g0.expr": expr, "g0.tab": "1"})


def _labels(labels: Mapping[str, str]) -> list[str]:
    return [f'{k}="{v}"' for k, v in sorted(labels.items())]


def pools(active: list[Mapping[str, Any]], health: str) -> list[dict[str, Any]]:
    """Targets per scrape pool (sorted by name): ``{name, up, total, targets}``; ``health``
    keeps only targets in that state (the counts stay those of the whole pool)."""
    out: dict[str, dict[str, Any]] = {}
    for t in active:
        pool = out.setdefault(str(t.get("scrapePool", "")), {"name": t.get("scrapePool", ""), "up": 0, "total": 0, "targets": []})
        pool["total"] += 1
        pool["up"] += t.get("health") == "up"
        if not health or t.get("health") == health:
            pool["targets"].append({**t, "labelTexts": _labels(t.get("labels", {}))})
    return [out[k] for k in sorted(out)]


async def targets_page(request: Request) -> Response:
    health = request.query_params.get("health", "")
    if health not in HEALTH:
        health = ""
    got = await api_get(request, "/api/v1/targets")
    data = got.data if got.ok else {}
    active = list(data.get("activeTargets") or [])
    return render(request, "targets.html", nav="/targets", title="Targets", error=got.error, health=health,
                  healths=HEALTH, pools=pools(active, health), total=len(active),
                  dropped=len(data.get("droppedTargets") or []))


def rule_rows(groups: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The groups with each rule's labels as text, its Explore link and its alert counts."""
    out = []
    for g in groups:
        rules = []
        for r in g.get("rules", []):
            alerts = r.get("alerts") or []
            rules.append({**r, "labelTexts": _labels(r.get("labels") or {}), "link": graph_link(str(r.get("query", ""))),
                          "firing": sum(a.get("state") == "firing" for a in alerts),
                          "pending": sum(a.get("state") == "pending" for a in alerts)})
        errors = sum(r.get("health") == "err" for r in rules)
        out.append({**g, "rules": rules, "errors": errors})
    return out


async def rules_page(request: Request) -> Response:
    kind = request.query_params.get("type", "")
    if kind not in RULE_TYPES:
        kind = ""
    got = await api_get(request, "/api/v1/rules", {"type": kind} if kind else None)
    groups = rule_rows(list((got.data or {}).get("groups") or [])) if got.ok else []
    if kind:  # the API keeps groups without a rule of that type; the page leaves them out
        groups = [g for g in groups if g["rules"]]
    return render(request, "rules.html", nav="/rules", title="Rules", error=got.error, groups=groups, kind=kind,
                  kinds=RULE_TYPES, rule_count=sum(len(g["rules"]) for g in groups),
                  error_count=sum(g["errors"] for g in groups))


#: The sections of /status and the API each reads.
STATUS_APIS = {"build": "/api/v1/status/buildinfo", "runtime": "/api/v1/status/runtimeinfo",
               "flags": "/api/v1/status/flags", "config": "/api/v1/status/config", "tsdb": "/api/v1/status/tsdb",
               "cluster": "/api/v1/status/cluster"}
#: TSDB statistics tables: key in the API's answer -> heading.
TSDB_TABLES = {"seriesCountByMetricName": "Top metrics by series",
               "labelValueCountByLabelName": "Top label names by value count",
               "memoryInBytesByLabelName": "Top label names by memory (bytes)",
               "seriesCountByLabelValuePair": "Top label pairs by series"}


async def status_page(request: Request) -> Response:
    sections = {name: await api_get(request, path) for name, path in STATUS_APIS.items()}
    head = (sections["tsdb"].data or {}).get("headStats") if sections["tsdb"].ok else None
    return render(request, "status.html", nav="/status", title="Status", s=sections, head=head,
                  tsdb_tables=TSDB_TABLES, apis=STATUS_APIS)
