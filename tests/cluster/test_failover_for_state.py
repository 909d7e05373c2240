"""An alert's ``for`` state survives the death of the replica evaluating it: three replicas
in ruler mode share one real PostgreSQL and one real backend (Prometheus with its
remote-write receiver, or VictoriaMetrics); the owner of an alerting group (``for: 14s``, 1 s interval) is
SIGKILLed while the alert is pending; the replica that takes the group over restores
``activeAt`` from the ``ALERTS_FOR_STATE`` the first one wrote to the backend (Prometheus'
restore: moved on by the time nobody evaluated the group), so the alert fires about when it
would have without the failover, not a full ``for`` after the take-over, and it is notified
once. The replicas carry external labels, which remote write adds to what they write."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from sloguard.ingest.remote_write import encode_write_request
from sloguard.labels import Labels
from tests.cluster._capture import Capture
from tests.cluster._replicas import Replica, wait_for
from tests.remote._peers import Peer, prometheus, victoria_metrics
from tests.state._pg import PgCluster

pytestmark = [pytest.mark.peer, pytest.mark.slow]

INTERVAL_S = 1
FOR_S = 14
PENDING_S = 9  #: how long the alert is pending at the first owner before it is killed
GRACE = "2s"  #: --rules.alert.for-grace-period: below FOR_S - PENDING_S, so the restore is Prometheus' plain case
KEY = "rules/rules.yml;pending"
RULES = f"""
groups:
  - name: pending
    interval: {INTERVAL_S}s
    rules:
      - alert: HaPending
        expr: ha_probe > 1
        for: {FOR_S}s
        labels: {{severity: page}}
"""


def _config(root: Path, state_url: str, backend: Peer, hook: str) -> Path:
    (root / "rules.yml").write_text(RULES)
    (root / "alertmanager.yml").write_text(
        "route: {receiver: hook, group_by: [alertname], group_wait: 1s, group_interval: 2s, repeat_interval: 1h}\n"
        f"receivers: [{{name: hook, webhook_configs: [{{url: '{hook}', send_resolved: true}}]}}]\n")
    cfg = root / "sloguard.yml"
    cfg.write_text(
        f"global: {{evaluation_interval: {INTERVAL_S}s, external_labels: {{cluster: ha}}}}\n"
        "rule_files: [rules.yml]\nalerting_config_file: alertmanager.yml\n"
        f"query_backend: {{url: '{backend.url}', timeout: 10s}}\n"
        f"remote_write: [{{url: '{backend.write_url}', queue_config: {{batch_send_deadline: 100ms}}}}]\n"
        f"state: {{url: '{state_url}'}}\n"
        "cluster: {enabled: true, heartbeat_interval: 500ms, lease_ttl: 2s}\n")
    return cfg


def _holder(r: Replica) -> str | None:
    c = r.cluster()
    live = {x["name"] for x in c["replicas"]}
    held = [x["holder"] for x in c["leases"] if x["key"] == KEY and x["expiresInSeconds"] > 0]
    return held[0] if held and held[0] in live and len(live) == 3 else None


def _for_state(backend: Peer) -> list[tuple[float, float]]:
    """Every raw ``ALERTS_FOR_STATE`` sample of the alert in the backend: (time, activeAt), seconds."""
    body = httpx.get(backend.url + "/api/v1/query",
                     params={"query": 'ALERTS_FOR_STATE{alertname="HaPending"}[5m]'}, timeout=10).json()
    assert body["status"] == "success", body
    result = body["data"]["result"]
    assert len(result) <= 1, result  # one series, whichever replica wrote it
    if result:
        assert result[0]["metric"] == {"__name__": "ALERTS_FOR_STATE", "alertname": "HaPending",
                                       "job": "a", "severity": "page", "cluster": "ha"}
    return [(float(t), float(v)) for t, v in result[0]["values"]] if result else []


def _stable_holder(rs: list[Replica]) -> str:
    """The group's holder once all three replicas are live and it stayed put for a while."""
    seen: list[str | None] = []

    def stable() -> bool:
        seen.append(_holder(rs[0]))
        return len(seen) >= 8 and seen[-1] is not None and len(set(seen[-8:])) == 1

    wait_for(stable, 40, "the group held by one of three live replicas")
    assert seen[-1] is not None
    return seen[-1]


def _firing(hook: Capture) -> list[dict[str, Any]]:
    return [a for b in hook.bodies for a in b["alerts"] if a["status"] == "firing"]


@contextmanager
def _probe(backend: Peer) -> Iterator[None]:
    """``ha_probe{job="a"} 3`` written to the backend every 0.5 s (the alert's condition)."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(0.5):
            now_ms = int(time.time() * 1000)
            backend.write(encode_write_request([(Labels.of(__name__="ha_probe", job="a"), [now_ms], [3.0])]))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("peer", [prometheus, victoria_metrics], ids=["prometheus", "victoria-metrics"])
def test_a_pending_alert_fires_on_time_and_once_after_its_replica_is_killed(
        pg_cluster: PgCluster, tmp_path: Path, peer: Callable[[Path], AbstractContextManager[Peer]]) -> None:
    hook = Capture()
    with peer(tmp_path / "backend") as backend:
        cfg = _config(tmp_path, pg_cluster.empty_database(), backend, hook.url)
        args = ["--mode", "ruler", "--rules.alert.for-grace-period", GRACE]
        rs = [Replica(f"r{i}", cfg, tmp_path / f"data{i}", args=args) for i in range(3)]
        probing = ExitStack()
        try:
            for r in rs:
                r.start()
            for r in rs:
                r.wait_ready()
            owner = next(r for r in rs if r.name == _stable_holder(rs))
            probing.enter_context(_probe(backend))
            # Set-up, not a bound under test: three replicas and the backend share two loaded cores in CI.
            wait_for(lambda: bool(_for_state(backend)), 45, "the alert pending, its ALERTS_FOR_STATE in the backend")
            active_at = _for_state(backend)[0][1]
            wait_for(lambda: _for_state(backend)[-1][0] - active_at >= PENDING_S, 30, f"{PENDING_S} s of pending")
            assert _holder(rs[0]) == owner.name, "the group moved before the kill"
            assert [a["state"] for a in owner.api("/api/v1/alerts")["alerts"]] == ["pending"]
            killed_at = time.time()
            owner.kill()
            wait_for(lambda: bool(_firing(hook)), FOR_S + 30, "the alert firing")
            time.sleep(3)  # the other pipeline's group_wait and more: a duplicate would have come by now
            live = [r for r in rs if r is not owner]
            heir = _holder_among(live)
            samples = _for_state(backend)
        finally:
            probing.close()
            for r in rs:  # all at once: each takes a while
                if r.alive:
                    r.proc.terminate()  # type: ignore[union-attr]
            for r in rs:
                r.stop()
            hook.close()
    before = [(t, v) for t, v in samples if t <= killed_at]
    after = [(t, v) for t, v in samples if t > killed_at]
    assert {v for _, v in before} == {active_at}, before
    down_at = max(t for t, _ in before)  # the first owner's last evaluation that reached the backend
    assert len({v for _, v in after}) == 1, after  # restored once, then kept
    restored, first_after = after[0][1], after[0][0]
    # Prometheus' restore: activeAt + (restore time - down_at). The heir restores after its
    # second evaluation, before the evaluation that first writes ALERTS_FOR_STATE (first_after,
    # or within an interval after it when it ran late); +1 s for activeAt's whole seconds.
    # Without a restore, activeAt would be the heir's first evaluation, PENDING_S - 3 intervals past that bound.
    assert active_at < restored <= active_at + (first_after + INTERVAL_S - down_at) + 1, (
        active_at, restored, down_at, first_after)
    fired = _firing(hook)
    assert [(a["labels"]["alertname"], a["labels"]["cluster"]) for a in fired] == [("HaPending", "ha")], hook.bodies
    fired_at = datetime.fromisoformat(fired[0]["startsAt"].replace("Z", "+00:00")).timestamp()
    # It fires at the first evaluation at or after the restored activeAt + for (activeAt is
    # whole seconds, so up to 1 s later), within a few intervals when the heir runs late.
    assert restored + FOR_S <= fired_at <= restored + 1 + FOR_S + 3 * INTERVAL_S, (restored, fired_at)
    # That is, the original deadline moved on by the time no replica evaluated the group.
    assert fired_at - (active_at + FOR_S) <= (first_after - down_at) + 4 * INTERVAL_S + 2
    assert heir != owner.name
    for r in rs:
        text = r.log.read_text(errors="replace")
        assert "Traceback" not in text, r.tail()


def _holder_among(live: list[Replica]) -> str:
    c = live[0].cluster()
    held = [x["holder"] for x in c["leases"] if x["key"] == KEY and x["expiresInSeconds"] > 0]
    assert held, c
    return str(held[0])
