"""Marks as of now, against the real Alertmanager 0.25: its v2 API judges every alert's
silences and inhibition when it answers, so a silence created after the alerts (before
any flush or other read) already shows in ``GET /api/v2/alerts/groups`` and in its
``silenced``/``inhibited``/``active`` filters. ``sloguard serve`` must answer the same."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.alerting._am_peer import needs_alertmanager
from tests.alerting._diff.target import alertmanager_target, running, sloguard_target

pytestmark = [pytest.mark.peer, needs_alertmanager]

CONFIG = """route:
  receiver: default
  group_by: [alertname]
  group_wait: 1h
  group_interval: 1h
  routes:
  - matchers: [team=db]
    receiver: db
receivers:
- name: default
- name: db
inhibit_rules:
- source_matchers: [severity=page]
  target_matchers: [severity=ticket]
  equal: [service]
"""
ALERTS = [
    {"labels": {"alertname": "Burn", "severity": "page", "service": "api"}},
    {"labels": {"alertname": "Burn", "severity": "ticket", "service": "api"}},  # inhibited by the page
    {"labels": {"alertname": "Burn", "severity": "ticket", "service": "web"}},  # no page for web
    {"labels": {"alertname": "Lag", "team": "db", "instance": "a"}},  # silenced below
    {"labels": {"alertname": "Lag", "team": "db", "instance": "b"}},
    {"labels": {"alertname": "Old"}, "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2020-01-01T01:00:00Z"},
]
SILENCE = {"matchers": [{"name": "instance", "value": "a", "isRegex": False}], "startsAt": "2020-01-01T00:00:00Z",
           "endsAt": "2090-01-01T00:00:00Z", "createdBy": "me", "comment": "after the alerts"}
QUERIES = ["", "silenced=false", "inhibited=false", "active=false", "silenced=false&inhibited=false&active=false",
           "receiver=db", "filter=alertname=Burn&inhibited=false"]
_TIMES = {"startsAt", "endsAt", "updatedAt"}


def _normal(x: Any) -> Any:
    """Times dropped and silence IDs (random per server) replaced by a placeholder."""
    if isinstance(x, dict):
        return {k: (["<silence>"] * len(v) if k == "silencedBy" else _normal(v)) for k, v in x.items() if k not in _TIMES}
    if isinstance(x, list):
        return [_normal(v) for v in x]
    return x


def _held(client: httpx.Client, query: str, shown: int) -> None:
    """Wait until the groups that ``query`` selects hold ``shown`` alerts: the dispatcher
    and Alertmanager's inhibitor take posted alerts asynchronously. Reads groups only,
    never ``GET /api/v2/alerts``."""
    for _ in range(200):
        if sum(len(g["alerts"]) for g in client.get(f"/api/v2/alerts/groups?{query}").json()) == shown:
            return
        time.sleep(0.05)
    raise AssertionError(f"{client.base_url}: the groups of {query!r} never held {shown} alerts")


def test_a_new_silence_and_inhibition_show_in_groups_and_alerts_at_once(tmp_path: Path) -> None:
    with ExitStack() as stack:
        servers = {t.name: httpx.Client(base_url=stack.enter_context(running(t, CONFIG, tmp_path / t.name)).url, timeout=10)
                   for t in (alertmanager_target(), sloguard_target())}
        for client in servers.values():
            assert client.post("/api/v2/alerts", json=ALERTS).status_code == 200
            _held(client, "", shown=5)  # the Old one has ended: never shown
            _held(client, "inhibited=false", shown=4)
        for client in servers.values():
            assert client.post("/api/v2/silences", json=SILENCE).status_code == 200
        for query in QUERIES:
            for path in ("/api/v2/alerts/groups", "/api/v2/alerts"):
                answers = {name: c.get(f"{path}?{query}") for name, c in servers.items()}
                am, ours = answers["alertmanager"], answers["sloguard"]
                assert ours.status_code == am.status_code == 200, (path, query)
                assert _normal(ours.json()) == _normal(am.json()), (path, query, json.dumps(am.json())[:2000])
        groups = {g["labels"]["alertname"]: g["alerts"] for g in servers["sloguard"].get("/api/v2/alerts/groups").json()}
        states = sorted((a["labels"].get("instance", a["labels"].get("severity")), a["status"]["state"])
                        for alerts in groups.values() for a in alerts)
        assert states == [("a", "suppressed"), ("b", "active"), ("page", "active"), ("ticket", "active"),
                          ("ticket", "suppressed")]
