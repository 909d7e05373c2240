"""``sloguard serve`` with its built-in alerting pipeline, as a user runs it: rule alerts
reach a webhook in-process, reloads swap the Alertmanager config (a bad one is kept out and
shown on /metrics), and without a config alerts go to the log route and the API."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.alerting._capture import CaptureServer
from tests.alerting._served import CONFIG, firing, notifications, post_alerts, wait_until
from tests.e2e.conftest import SloguardProcess, requires_tsdb
from tests.httpclient._procs import sender_children

pytestmark = [pytest.mark.slow, requires_tsdb()]

RULES = """\
groups:
  - name: g
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels: {severity: page}
        annotations: {summary: 'it fires'}
"""


def _server(make: Callable[..., SloguardProcess], tmp_path: Path, alerting: str | None,
            *args: str) -> SloguardProcess:
    (tmp_path / "rules.yml").write_text(RULES)
    extra = ""
    if alerting is not None:
        (tmp_path / "am.yml").write_text(alerting)
        extra = "alerting_config_file: am.yml\n"
    server = make("global: {evaluation_interval: 1s}\nscrape_configs: []\nrule_files: [rules.yml]\n" + extra)
    server.extra_args = ["--web.enable-lifecycle", *args]
    return server.start()


def _metric(url: str, name: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5.0).text
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    assert m is not None, f"{name} not on /metrics"
    return float(m.group(1))


def test_rule_alerts_reach_a_webhook_in_process(sloguard_factory: Callable[..., SloguardProcess],
                                                tmp_path: Path) -> None:
    capture = CaptureServer()
    try:
        server = _server(sloguard_factory, tmp_path, CONFIG.format(capture=capture.start()))
        wait_until("the rule's notification", lambda: len(notifications(capture)) >= 1, 20)
        n = notifications(capture)[0]
        assert firing(n, "severity") == ("AlwaysFiring", ("page",))
        alert = n["alerts"][0]
        assert alert["annotations"] == {"summary": "it fires"}
        assert alert["generatorURL"] == f"{server.url}/graph?g0.expr=vector%281%29&g0.tab=1"
        assert n["externalURL"] == server.url
        ams = httpx.get(f"{server.url}/api/v1/alertmanagers", timeout=5.0).json()["data"]
        assert ams["activeAlertmanagers"] == [{"url": f"{server.url}/api/v2/alerts"}]
        assert server.proc is not None and len(sender_children(server.proc.pid)) == 1  # the POST left from the worker
        flags = httpx.get(f"{server.url}/api/v1/status/flags", timeout=5.0).json()["data"]
        assert flags["alerting.http-sender"] == "process"
        assert server.stop() == 0
    finally:
        capture.stop()


def test_the_http_sender_can_be_inline(sloguard_factory: Callable[..., SloguardProcess], tmp_path: Path) -> None:
    capture = CaptureServer()
    try:
        server = _server(sloguard_factory, tmp_path, CONFIG.format(capture=capture.start()),
                         "--alerting.http-sender", "inline")
        wait_until("the rule's notification", lambda: len(notifications(capture)) >= 1, 20)
        assert server.proc is not None and sender_children(server.proc.pid) == []
        assert server.stop() == 0
    finally:
        capture.stop()


def test_a_bad_alerting_config_is_kept_out_and_a_good_one_swapped_in(
    sloguard_factory: Callable[..., SloguardProcess], tmp_path: Path,
) -> None:
    capture = CaptureServer()
    url = capture.start()
    try:
        server = _server(sloguard_factory, tmp_path, CONFIG.format(capture=url))
        assert _metric(server.url, "sloguard_alerting_config_last_reload_successful") == 1
        (tmp_path / "am.yml").write_text("route: {receiver: nobody}\nreceivers: [{name: hook}]\n")
        r = httpx.post(f"{server.url}/-/reload", timeout=10.0)
        assert r.status_code == 500 and 'undefined receiver "nobody"' in r.text
        assert _metric(server.url, "sloguard_alerting_config_last_reload_successful") == 0
        post_alerts(server.url, {"alertname": "Posted", "instance": "x"})  # the running config still routes
        wait_until("the posted alert's notification", lambda: any(
            firing(n)[0] == "Posted" for n in notifications(capture)), 15)

        good = CONFIG.format(capture=url).replace("receiver: hook", "receiver: other")
        (tmp_path / "am.yml").write_text(good.replace("name: hook", "name: other"))
        assert httpx.post(f"{server.url}/-/reload", timeout=10.0).status_code == 200
        assert _metric(server.url, "sloguard_alerting_config_last_reload_successful") == 1
        receivers = httpx.get(f"{server.url}/api/v2/receivers", timeout=5.0).json()
        assert receivers == [{"name": "other"}]
    finally:
        capture.stop()


def test_without_a_config_alerts_go_to_the_log_route(sloguard_factory: Callable[..., SloguardProcess],
                                                     tmp_path: Path) -> None:
    server = _server(sloguard_factory, tmp_path, None)

    def held() -> list[dict[str, object]]:
        return list(httpx.get(f"{server.url}/api/v2/alerts", timeout=5.0).json())

    wait_until("the rule's alert in the API", lambda: len(held()) == 1, 20)
    assert held()[0]["receivers"] == [{"name": "sloguard-log"}]
    # An alert that started before the default route's group_wait (30 s) ago is notified at
    # once, as Alertmanager does (so the test does not wait out the rule alert's 30 s).
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    httpx.post(f"{server.url}/api/v2/alerts", json=[{"labels": {"alertname": "PostedEarlier"}, "startsAt": started}],
               timeout=5.0).raise_for_status()
    wait_until("the log receiver's line",
               lambda: any("notification" in line and "PostedEarlier" in line for line in server.logs().splitlines()),
               20)
