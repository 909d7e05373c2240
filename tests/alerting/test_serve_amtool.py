"""The real ``amtool`` (Alertmanager 0.25) against a real ``sloguard serve``: alerts added
and queried, the silence life cycle muting and unmuting them in the running pipeline, and
``config show`` hiding secrets."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.alerting._diff.target import running, sloguard_target

AMTOOL = shutil.which("amtool")
pytestmark = [pytest.mark.peer, pytest.mark.skipif(AMTOOL is None, reason="amtool (Alertmanager 0.25) is not installed")]

CONFIG = """\
route:
  receiver: chat
  group_wait: 1h
receivers:
  - name: chat
    slack_configs: [{api_url: 'https://hooks.slack.example/services/T0/B0/very-secret-token', channel: '#x'}]
"""


def amtool(url: str, *args: str) -> str:
    proc = subprocess.run([AMTOOL or "amtool", f"--alertmanager.url={url}", *args],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, f"amtool {' '.join(args)} failed: {proc.stderr}"
    return proc.stdout


def _names(out: str) -> list[str]:
    return sorted(a["labels"]["alertname"] for a in json.loads(out))


def test_amtool_drives_alerts_and_the_silence_life_cycle(tmp_path: Path) -> None:
    with running(sloguard_target(), CONFIG, tmp_path) as server:
        url = server.url
        amtool(url, "alert", "add", "DiskFull", "team=db", "--annotation=summary=disk is full")
        amtool(url, "alert", "add", "Slow", "team=web")
        assert _names(amtool(url, "alert", "query", "-o", "json")) == ["DiskFull", "Slow"]
        assert "disk is full" in amtool(url, "alert", "query", "-o", "extended")

        sid = amtool(url, "silence", "add", "team=db", "--comment=maintenance", "--author=ops").strip()
        assert _names(amtool(url, "alert", "query", "-o", "json")) == ["Slow"]  # silenced: hidden by default
        silenced = json.loads(amtool(url, "alert", "query", "-o", "json", "--silenced"))
        assert [(a["labels"]["alertname"], a["status"]["silencedBy"]) for a in silenced] == [("DiskFull", [sid])]
        assert amtool(url, "silence", "query", "-q").split() == [sid]

        exported = amtool(url, "silence", "query", "-o", "json")
        amtool(url, "silence", "expire", sid)
        assert amtool(url, "silence", "query", "-q").split() == []
        assert _names(amtool(url, "alert", "query", "-o", "json")) == ["DiskFull", "Slow"]
        assert sid in amtool(url, "silence", "query", "--expired", "-q").split()

        imported = subprocess.run([AMTOOL or "amtool", f"--alertmanager.url={url}", "silence", "import"],
                                  input=exported, capture_output=True, text=True, timeout=30)
        assert imported.returncode == 0, imported.stderr
        assert _names(amtool(url, "alert", "query", "-o", "json")) == ["Slow"]

        shown = amtool(url, "config", "show")
        assert "very-secret-token" not in shown and "api_url: <secret>" in shown
