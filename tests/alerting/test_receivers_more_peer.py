"""Differential: PagerDuty Events API v1 (``service_key``, ``service_key_file``), v2 with
``routing_key_file``, and Slack actions with ``confirm`` dialogs, the real Alertmanager 0.25
against sloguard's notifiers, byte for byte.

Alertmanager posts v1 events to PagerDuty's own URL whatever the config says, so its
requests are taken through ``http_config.proxy_url``: a local proxy answers the CONNECT
and terminates TLS with a certificate for events.pagerduty.com signed by a test CA that
the config's ``tls_config.ca_file`` trusts (nothing leaves 127.0.0.1). v2 goes to a local
capture server. For each of three flushes (all firing; one resolved; all resolved)
sloguard's notifiers send the same group through a mock transport, reading the same key
files; URLs and bodies must be equal.
"""

from __future__ import annotations

import asyncio
import json
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from sloguard.alerting.config import load_config
from sloguard.alerting.model import Alert, label_set_string, sort_alerts
from sloguard.alerting.notify_template import NotificationTemplate
from sloguard.alerting.receivers import (
    PagerdutyConfig,
    PagerdutyNotifier,
    SlackConfig,
    SlackNotifier,
)
from sloguard.alerting.receivers._base import NotifyContext
from sloguard.labels import Labels
from tests._certs import make_pki
from tests._net import free_port
from tests.alerting._capture import CaptureServer
from tests.alerting.test_receivers_peer import AM, EXTERNAL, _alerts, _postable, _wait_ready

pytestmark = [pytest.mark.peer, pytest.mark.slow]

V1 = "https://events.pagerduty.com/generic/2010-04-15/create_event.json"
CONFIG = """
route: {{receiver: pd, group_by: [alertname], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}}
receivers:
  - name: pd
    pagerduty_configs:
      - service_key: sk-inline
        details: {{team: core}}
        http_config: {{proxy_url: '{proxy}', tls_config: {{ca_file: '{ca}'}}}}
      - service_key_file: '{dir}/sk'
        client: 'custom {{{{ .Status }}}}'
        description: '{{{{ .CommonLabels.alertname }}}} – Ü'
        http_config: {{proxy_url: '{proxy}', tls_config: {{ca_file: '{ca}'}}}}
      - routing_key_file: '{dir}/rk'
        url: '{base}/v2'
    slack_configs:
      - api_url: '{base}/slack'
        send_resolved: true
        actions:
          - {{type: button, text: 'Ack {{{{ .Status }}}}', name: ack, value: v, style: primary,
             confirm: {{text: 'Sure about {{{{ .GroupLabels.alertname }}}}?', title: T, ok_text: 'Yes', dismiss_text: 'No'}}}}
          - {{type: button, text: Open, url: 'https://runbook', name: gone, confirm: {{text: gone}}}}
          - {{type: button, text: Min, name: m, confirm: {{text: only}}}}
"""


@dataclass
class InterceptProxy:
    """A CONNECT proxy that terminates TLS itself and records each request's path and body."""

    tls: ssl.SSLContext
    seen: list[tuple[str, bytes]] = field(default_factory=list)

    def start(self) -> str:
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                if not self.rfile.readline().startswith(b"CONNECT "):
                    return
                while self.rfile.readline() not in (b"\r\n", b""):
                    pass
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                with owner.tls.wrap_socket(self.connection, server_side=True) as conn:
                    owner.serve(conn)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve(self, conn: socket.socket) -> None:
        rfile = conn.makefile("rb")
        while line := rfile.readline():
            path = line.split()[1].decode()
            length = 0
            while (header := rfile.readline()) not in (b"\r\n", b""):
                name, _, value = header.decode().partition(":")
                length = int(value) if name.lower() == "content-length" else length
            self.seen.append((path, rfile.read(length)))
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class Peer:
    url: str
    capture_url: str
    proxy: InterceptProxy
    capture: CaptureServer
    configs: list[PagerdutyConfig | SlackConfig]


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[Peer]:
    if AM is None:
        pytest.skip("prometheus-alertmanager is not installed")
    pki = make_pki(tmp_path / "pki", dns_names=("events.pagerduty.com",))
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(pki.server_cert, pki.server_key)
    server_tls.set_alpn_protocols(["http/1.1"])
    proxy, capture = InterceptProxy(server_tls), CaptureServer()
    (tmp_path / "sk").write_text("  sk-from-file\n")
    (tmp_path / "rk").write_text("rk-from-file\n")
    base = capture.start()
    (tmp_path / "am.yml").write_text(CONFIG.format(proxy=proxy.start(), ca=pki.ca, dir=tmp_path, base=base))
    port = free_port()
    proc = subprocess.Popen(
        [AM, f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", f"--web.external-url={EXTERNAL}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(f"http://127.0.0.1:{port}")
        rcv = load_config(tmp_path / "am.yml").receivers[0]
        configs: list[PagerdutyConfig | SlackConfig] = [*rcv.pagerduty_configs, *rcv.slack_configs]
        yield Peer(f"http://127.0.0.1:{port}", base, proxy, capture, configs)
    finally:
        proc.terminate()
        proc.wait(10)
        proxy.stop()
        capture.stop()


def _ours(configs: list[PagerdutyConfig | SlackConfig], alerts: list[Alert]) -> list[tuple[str, bytes]]:
    """What sloguard's notifiers post for the same group, through a mock transport."""
    sent: list[tuple[str, bytes]] = []

    def handle(req: httpx.Request) -> httpx.Response:
        sent.append((str(req.url), req.content))
        return httpx.Response(200)

    ctx = NotifyContext("{}:" + label_set_string([("alertname", "DiskFull")]), "pd",
                        Labels.of(alertname="DiskFull"), int(time.time() * 1000), EXTERNAL)
    client = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    for c in configs:
        notifier = (PagerdutyNotifier(c, NotificationTemplate(), client) if isinstance(c, PagerdutyConfig)
                    else SlackNotifier(c, NotificationTemplate(), client))
        result = asyncio.run(notifier.notify(ctx, sort_alerts(alerts)))
        assert result.ok, result.error
    return sent


def _wait(what: list[tuple[str, bytes]], count: int) -> list[tuple[str, bytes]]:
    deadline = time.monotonic() + 15
    while len(what) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(what) >= count, f"{count} requests expected, got {len(what)}"
    return what[:count]


def test_pagerduty_v1_key_file_and_slack_confirm_payloads_equal_alertmanagers(peer: Peer) -> None:
    url, proxy, capture, configs = peer.url, peer.proxy, peer.capture, peer.configs
    # Alerts start now: Alertmanager flushes a new group at once, without its group_wait,
    # when the first alert's start is older than group_wait, racing the rest of the post.
    t0 = int(time.time() * 1000)
    steps = [_alerts(0, t0, 300), _alerts(1, t0, 300), _alerts(3, t0, 300)[1:]]
    for n, alerts in enumerate(steps, 1):
        assert httpx.post(f"{url}/api/v2/alerts", json=[_postable(a) for a in alerts], timeout=5).status_code == 200
        v1 = sorted(_wait(proxy.seen, 2 * n)[2 * n - 2:], key=lambda r: json.loads(r[1])["service_key"])
        theirs = [(V1 if path == "/generic/2010-04-15/create_event.json" else path, body) for path, body in v1]
        for path in ("/v2", "/slack"):
            theirs.append((peer.capture_url + path, capture.wait_for(path, n)[n - 1].body))
        ours = _ours(configs, alerts)
        for a, b in zip(sorted(ours), sorted(theirs), strict=True):
            assert a == b, f"flush {n}"
    kinds = [json.loads(body)["event_type"] for _, body in proxy.seen]
    assert kinds == ["trigger"] * 4 + ["resolve"] * 2
