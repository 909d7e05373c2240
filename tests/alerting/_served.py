"""Helpers for tests of ``sloguard serve`` with its built-in pipeline: posting alerts and
silences over the v2 API, and reading what a webhook capture server received."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.alerting._capture import CaptureServer

CONFIG = """\
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs: [{{url: '{capture}/hook', send_resolved: true}}]
"""


def post_alerts(url: str, *alerts: dict[str, str]) -> None:
    """POST firing alerts (label sets) to a server's ``/api/v2/alerts``; a dead server is skipped."""
    try:
        r = httpx.post(f"{url}/api/v2/alerts", json=[{"labels": a} for a in alerts], timeout=5.0)
    except httpx.TransportError:
        return
    r.raise_for_status()


def silence(url: str, name: str, value: str) -> str:
    body = {"matchers": [{"name": name, "value": value, "isRegex": False, "isEqual": True}],
            "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z",
            "createdBy": "test", "comment": "maintenance"}
    r = httpx.post(f"{url}/api/v2/silences", json=body, timeout=5.0)
    r.raise_for_status()
    return str(r.json()["silenceID"])


def notifications(capture: CaptureServer) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in capture.requests if r.path == "/hook"]


def firing(n: dict[str, Any], label: str = "instance") -> tuple[str, tuple[str, ...]]:
    """(alertname of the group, sorted ``label`` values of its firing alerts)."""
    values = sorted(a["labels"].get(label, "") for a in n["alerts"] if a["status"] == "firing")
    return n["groupLabels"].get("alertname", ""), tuple(values)


def wait_until(what: str, ok: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not ok():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.05)
