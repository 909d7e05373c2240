"""The error-budget policy in `sloguard serve`, over HTTP: the server's own SLO rules,
evaluated every second from its built-in proxy's metrics, page while a failing canary
runs; the page aborts the rollout (the abort reaches a webhook through the server's
alerting pipeline); the budget the canary burnt refuses the next start with 409 and the
sentence; a forced start goes through with the override kept with who and why."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e._slo_alerts import SLOS
from tests.e2e.conftest import SloguardProcess, free_port, requires_tsdb

pytestmark = [pytest.mark.slow, requires_tsdb()]

CONFIG = """
global: {scrape_interval: 15s, evaluation_interval: 1s}
scrape_configs: []
storage: {tsdb: {fsync: per_commit}}
slo_files: ["slos/*.yml"]
alerting_config_file: alertmanager.yml
"""
ALERTING = """
route: {{receiver: team, group_by: [alertname, rollout], group_wait: 0s, group_interval: 1s}}
receivers:
  - name: team
    webhook_configs: [{{url: "{url}"}}]
"""


class Threaded(ThreadingHTTPServer):
    daemon_threads = True


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[Threaded, str]:
    server = Threaded(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"127.0.0.1:{server.server_address[1]}"


def upstream(name: str, fail_every: int) -> tuple[Threaded, str]:
    """A version answering its name; every ``fail_every``-th request (0: none) gets a 500."""
    count = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802  # http.server's naming
            with lock:
                count[0] += 1
                failing = fail_every and count[0] % fail_every == 0
            body = name.encode()
            self.send_response(500 if failing else 200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002  # quiet
            pass

    return _serve(Handler)


def hook() -> tuple[Threaded, str, list[dict[str, Any]]]:
    """A webhook receiver: the alerts of every POST, in arrival order."""
    alerts: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802  # http.server's naming
            alerts.extend(json.loads(self.rfile.read(int(self.headers["content-length"])))["alerts"])
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002  # quiet
            pass

    server, address = _serve(Handler)
    return server, f"http://{address}/hook", alerts


def rollout(name: str, stable: str, canary: str, port: int, policy: str = "") -> str:
    return f"""
apiVersion: sloguard/v1
kind: Rollout
metadata: {{name: {name}}}
spec:
  service: checkout
  versions:
    stable: {{name: v1, upstreams: ["{stable}"]}}
    canary: {{name: v2, upstreams: ["{canary}"]}}
  router: {{type: proxy, proxy: {{port: {port}, flushIntervalS: 0.2}}}}
  {policy}
  strategy:
    canary:
      steps: [{{setWeight: 50}}, {{pause: {{}}}}]
"""


def wait(check: Callable[[], Any], what: str, timeout_s: float = 15) -> Any:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


@pytest.fixture
def peers() -> Iterator[tuple[str, str, str, list[dict[str, Any]]]]:
    (s1, stable), (s2, canary), (s3, url, alerts) = upstream("v1", 0), upstream("v2", 2), hook()
    yield stable, canary, url, alerts
    for s in (s1, s2, s3):
        s.shutdown()
        s.server_close()


def test_a_page_aborts_the_served_rollout_and_the_burnt_budget_refuses_the_next(
    tmp_path: Path, peers: tuple[str, str, str, list[dict[str, Any]]],
) -> None:
    stable, canary, hook_url, alerts = peers
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "checkout.yml").write_text(SLOS)
    (tmp_path / "alertmanager.yml").write_text(ALERTING.format(url=hook_url))
    (tmp_path / "sloguard.yml").write_text(CONFIG)
    server = SloguardProcess(tmp_path / "data", tmp_path / "sloguard.yml", tmp_path / "sloguard.log").start()
    api, port = f"{server.url}/api/v1/rollouts", free_port()
    try:
        r = httpx.post(api, content=rollout("checkout-v2", stable, canary, port), params={"actor": "ana"}, timeout=10)
        assert r.status_code == 201, r.text

        def aborted() -> dict[str, Any] | None:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as c:
                for _ in range(20):  # traffic through the server's proxy: half the canary's answers are 500
                    c.get("/")
            view = httpx.get(f"{api}/checkout-v2", timeout=5).json()["data"]
            return view if view["phase"] == "Degraded" else None

        view = wait(aborted, "the page alert to abort checkout-v2", 20)
        assert view["canaryWeight"] == 0 and "of the service 'checkout' is firing" in view["abortReason"], view
        assert [e["reason"] for e in view["events"] if e["type"] == "RolloutAborted"] == ["PageAlertFiring"]
        sent = wait(lambda: [a for a in alerts if a["labels"]["alertname"] == "RolloutAborted"], "the webhook")
        assert sent[0]["labels"]["rollout"] == "checkout-v2" and sent[0]["annotations"]["reason"] == "PageAlertFiring"

        r = httpx.post(api, content=rollout("checkout-v3", stable, canary, port), params={"actor": "bob"}, timeout=10)
        assert r.status_code == 409, r.text
        body = r.json()
        assert body["errorType"] == "conflict" and body["error"].startswith(
            "The error budget of the service 'checkout' is exhausted ("), body
        assert body["error"].endswith("left); the rollout 'checkout-v3' does not start unless forced with who and why.")

        no_page_abort = "errorBudgetPolicy: {abortOnPage: false}"  # the fix must ship while the page fires
        r = httpx.post(api, content=rollout("checkout-v3", stable, canary, port, no_page_abort),
                       params={"actor": "bob", "force": "true", "reason": "the fix for the outage"}, timeout=10)
        assert r.status_code == 201, r.text
        types = [(e["type"], e["actor"]) for e in httpx.get(f"{api}/checkout-v3/events", timeout=5).json()["data"]]
        assert ("RolloutPolicyOverridden", "bob") in types, types
        v3 = wait(lambda: (v := httpx.get(f"{api}/checkout-v3", timeout=5).json()["data"])["phase"] == "Paused" and v,
                  "checkout-v3 at its pause")
        assert v3["canaryWeight"] == 50
        assert server.stop() == 0
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.kill()
