"""Alerts leave for Alertmanager-compatible receivers with Prometheus' fields and timing."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from sloguard.labels import Labels
from sloguard.promql import Sample
from sloguard.rules import (
    Alert,
    AlertingRule,
    AlertmanagerNotifier,
    AlertState,
    ManagerOptions,
    ManualClock,
    RuleManager,
)
from tests._net import free_port

MIN = 60_000


def _firing(**labels: str) -> Alert:
    a = Alert.new_pending(Labels.of(alertname="A", **labels), (("summary", "s"),), 1.0, 1_000).fire(61_000)
    return a.mark_sent(61_000, 61_000 + 4 * MIN)


def _mock() -> tuple[list[tuple[str, Any]], httpx.AsyncClient]:
    got: list[tuple[str, Any]] = []

    def handler(req: httpx.Request) -> httpx.Response:
        got.append((str(req.url), json.loads(req.content)))
        return httpx.Response(200)

    return got, httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def _send(n: AlertmanagerNotifier, expr: str, alerts: list[Alert]) -> None:
    await n(expr, alerts)
    await n.flush()


def test_queue_overflow_drops_oldest() -> None:
    got, client = _mock()
    n = AlertmanagerNotifier(["http://am"], client=client)
    n.queue_capacity = 3

    async def go() -> None:
        await n("x", [_firing(i=str(i)) for i in range(5)])
        await n.flush()

    asyncio.run(go())
    assert [a["labels"]["i"] for _, b in got for a in b] == ["2", "3", "4"]
    assert n.stats.dropped == 2


def test_firing_alert_body_has_prometheus_fields() -> None:
    got, client = _mock()
    n = AlertmanagerNotifier(["http://am:9093"], {"dc": "eu1", "job": "ext"}, "http://prom:9090", client=client)
    asyncio.run(_send(n, "up == 0", [_firing(job="node")]))
    ((url, body),) = got
    assert url == "http://am:9093/api/v2/alerts"
    assert body == [{
        "labels": {"alertname": "A", "dc": "eu1", "job": "node"},
        "annotations": {"summary": "s"},
        "startsAt": "1970-01-01T00:01:01.000Z",
        "endsAt": "1970-01-01T00:05:01.000Z",
        "generatorURL": "http://prom:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
    }]


def test_resolved_alert_ends_at_its_resolve_time() -> None:
    got, client = _mock()
    n = AlertmanagerNotifier(["http://am"], client=client)
    asyncio.run(_send(n, "x", [_firing().resolve(180_000)]))
    assert got[0][1][0]["endsAt"] == "1970-01-01T00:03:00.000Z"


def test_batches_of_64_and_relabel_can_drop() -> None:
    got, client = _mock()
    n = AlertmanagerNotifier(["http://am"], client=client,
                             relabel=lambda ls: None if ls.get("i") == "0" else ls)
    asyncio.run(_send(n, "x", [_firing(i=str(i)) for i in range(130)]))
    assert sum(len(b) for _, b in got) == 129 and max(len(b) for _, b in got) == 64
    assert n.stats.dropped == 1


def test_unreachable_receiver_is_counted_not_raised() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=req)

    n = AlertmanagerNotifier(["http://down"], client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    asyncio.run(_send(n, "x", [_firing()]))
    assert n.stats.errors == 1 and "refused" in n.stats.last_error


class _Receiver:
    """A fake Alertmanager on 127.0.0.1 recording each POSTed body."""

    def __init__(self) -> None:
        bodies: list[Any] = []
        self.bodies = bodies

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                n = int(self.headers["Content-Length"])
                bodies.append((self.path, json.loads(self.rfile.read(n))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_manager_resends_firing_alerts_every_resend_delay_to_a_local_receiver(tmp_path: Path, opts: ManagerOptions) -> None:
    rec = _Receiver()
    path = tmp_path / "r.yml"
    path.write_text("groups:\n- name: g\n  interval: 15s\n  rules:\n  - alert: Now\n    expr: vector(1)\n")
    clock = ManualClock(1_700_000_000_000)

    async def go() -> AlertmanagerNotifier:
        n = AlertmanagerNotifier([rec.url])
        m = RuleManager(opts, notify=n, clock=clock, use_threads=False)
        m.update([str(path)])
        await m.start()
        for _ in range(16):  # 4 minutes in 15s steps; each send completes before time moves
            await clock.advance(15_000)
            for _ in range(50):
                await asyncio.sleep(0.001)
        await m.stop()
        await n.aclose()
        return n

    try:
        n = asyncio.run(go())
    finally:
        rec.close()
    assert n.stats.errors == 0
    assert all(p == "/api/v2/alerts" for p, _ in rec.bodies)
    starts = {b[0]["startsAt"] for _, b in rec.bodies}
    assert len(starts) == 1  # the same firing alert
    # first send, then a resend once more than 1m passed since the last one (15s slots): every 75s
    assert 3 <= len(rec.bodies) <= 4
    ends = [b[0]["endsAt"] for _, b in rec.bodies]
    assert ends == sorted(ends)


@pytest.mark.peer
def test_real_alertmanager_shows_the_sent_alert(tmp_path: Path) -> None:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        pytest.skip("prometheus-alertmanager not on PATH")
    (tmp_path / "am.yml").write_text("route: {receiver: 'null'}\nreceivers: [{name: 'null'}]\n")
    port = free_port()
    proc = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'am.yml'}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address=", f"--storage.path={tmp_path / 'data'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        now = int(time.time() * 1000)
        rule = AlertingRule("PeerTest", "vector(1)", labels=[("severity", "page")], restored=True)
        rule.eval(now, lambda e, t: [Sample(Labels(), t, 1.0)])
        sent: list[Any] = []
        rule.send_alerts(now, MIN, MIN, lambda e, a: sent.append((e, list(a))))
        (expr, alerts), = sent
        assert alerts[0].state == AlertState.FIRING
        n = AlertmanagerNotifier([base], {"dc": "eu1"}, "http://sloguard:9090")

        async def go() -> None:
            await n(expr, alerts)
            await n.aclose()

        asyncio.run(go())
        assert n.stats.errors == 0
        shown = httpx.get(f"{base}/api/v2/alerts", timeout=5).json()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    (a,) = [x for x in shown if x["labels"].get("alertname") == "PeerTest"]
    assert a["labels"] == {"alertname": "PeerTest", "dc": "eu1", "severity": "page"}
    assert a["status"]["state"] == "active"
    assert a["generatorURL"] == "http://sloguard:9090/graph?g0.expr=vector%281%29&g0.tab=1"


def test_alert_relabel_configs_apply_before_sending(tmp_path: Path, opts: ManagerOptions) -> None:
    from sloguard.ingest.relabel import RelabelConfig
    from sloguard.promql.engine import PromQLEngine
    from sloguard.rules import rule_manager_for

    path = tmp_path / "r.yml"
    path.write_text("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: vector(1)\n    labels: {team: x, drop: me}\n")
    cfgs = [RelabelConfig.model_validate({"action": "labeldrop", "regex": "drop"})]
    m = rule_manager_for(opts.storage, PromQLEngine(opts.storage), [str(path)],
                         alertmanager_urls=["http://am"], alert_relabel_configs=cfgs)
    got, client = _mock()
    assert isinstance(m.notify, AlertmanagerNotifier)
    m.notify.client = client
    (g,) = m.groups()
    out = g.eval(60_000)

    async def go() -> None:
        for o in out:
            await m.notify(o.expr, o.alerts)  # type: ignore[misc]
        await m.notify.flush()  # type: ignore[union-attr]

    asyncio.run(go())
    assert got[0][1][0]["labels"] == {"alertname": "A", "team": "x"}
