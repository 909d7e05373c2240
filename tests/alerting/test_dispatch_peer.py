"""The dispatcher against a real Alertmanager 0.25: the same alerts into the same routing tree
give the same groups (receiver, groupKey, group labels, alerts in notification order) and the
same ``/api/v2/alerts/groups`` order and per-alert receivers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from sloguard.alerting import build_route, parse_config
from sloguard.alerting.dispatch import Dispatcher
from sloguard.alerting.marker import Marker
from sloguard.alerting.model import Alert
from sloguard.alerting.provider import AlertStore
from sloguard.alerting.stages import FlushContext
from sloguard.clock import ManualClock
from tests.alerting._am_peer import alertmanager, needs_alertmanager
from tests.alerting._capture import CaptureServer

pytestmark = [pytest.mark.peer, pytest.mark.slow, needs_alertmanager]

ROUTES = """
route:
  receiver: default
  group_by: [alertname]
  group_wait: 2s
  group_interval: 1h
  routes:
  - matchers: [team=db]
    receiver: db
    continue: true
  - matchers: [team=db]
    receiver: db-all
    group_by: ['...']
  - matchers: ['severity=~"page|ticket"']
    receiver: pager
    group_by: [severity, service]
"""
RECEIVERS = ["default", "db", "db-all", "pager"]

ALERTS = [
    {"alertname": "Lag", "team": "db", "instance": "x", "job": "pg"},
    {"alertname": "Lag", "team": "db", "instance": "w", "job": "pg"},
    {"alertname": "Lag", "team": "db", "job": "mysql"},
    {"alertname": "Down", "instance": "b"},
    {"alertname": "Down", "instance": "a", "job": "node"},
    {"alertname": "Burn", "severity": "page", "service": "api", "slo": "avail"},
    {"alertname": "Burn", "severity": "page", "service": "api", "slo": "latency"},
    {"alertname": "Burn", "severity": "ticket", "service": "api"},
]


def _config(url: str) -> str:
    receivers = "".join(f"- {{name: {r}, webhook_configs: [{{url: '{url}/{r}'}}]}}\n" for r in RECEIVERS)
    return ROUTES + "receivers:\n" + receivers


def _ours() -> tuple[list[tuple[str, str, dict[str, str], list[dict[str, str]]]], list[tuple[str, dict[str, str], list[tuple[dict[str, str], list[str]]]]]]:
    clock, marker = ManualClock(1_700_000_000_000), Marker()
    store = AlertStore(clock, marker)
    sent: list[tuple[str, str, dict[str, str], list[dict[str, str]]]] = []

    async def notify(ctx: FlushContext, alerts: Sequence[Alert]) -> bool:
        sent.append((ctx.receiver, ctx.group_key, ctx.group_labels.to_dict(), [a.labels.to_dict() for a in alerts]))
        return True

    async def go() -> list[tuple[str, dict[str, str], list[tuple[dict[str, str], list[str]]]]]:
        d = Dispatcher(build_route(parse_config(_config("http://x"), "t.yml").route), notify, store, clock, marker)
        await d.start()
        store.receive([Alert.of(ls) for ls in ALERTS], 5 * 60_000)
        views = [(g.receiver, g.labels.to_dict(), [(a.alert.labels.to_dict(), list(a.receivers)) for a in g.alerts])
                 for g in await d.groups()]
        await clock.advance(2000)
        await d.stop()
        return views

    views = asyncio.run(go())
    return sent, views


def test_groups_and_their_order_are_alertmanagers(tmp_path: Path) -> None:
    ours, our_views = _ours()
    capture = CaptureServer()
    url = capture.start()
    try:
        with alertmanager(tmp_path, _config(url)) as am:
            assert am.post("/api/v2/alerts", json=[{"labels": ls} for ls in ALERTS]).status_code == 200
            for receiver in RECEIVERS:
                capture.wait_for(f"/{receiver}", sum(1 for r, *_ in ours if r == receiver))
            # Alertmanager hands posted alerts to its dispatcher asynchronously; once every group
            # has notified, every alert is in its groups (group_interval 1h: nothing changes now).
            views = am.get("/api/v2/alerts/groups").json()
    finally:
        capture.stop()
    bodies = [json.loads(r.body) for r in capture.requests]
    theirs = [(b["receiver"], b["groupKey"], b["groupLabels"], [a["labels"] for a in b["alerts"]]) for b in bodies]
    assert len(ours) == 7 and sorted(map(repr, theirs)) == sorted(map(repr, ours))
    their_views = [(g["receiver"]["name"], g["labels"], [(a["labels"], [r["name"] for r in a["receivers"]]) for a in g["alerts"]])
                   for g in views]
    assert their_views == our_views
