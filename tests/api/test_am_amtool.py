"""The real ``amtool`` (Alertmanager 0.25) against sloguard's Alertmanager v2 API, served by
uvicorn on 127.0.0.1 over the in-memory AlertingService: alert query, the silence life
cycle (add, query, expire, import from ``query -o json``) and config show."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sloguard.alerting.model import Alert
from sloguard.alerting.testing import FakeAlerting
from tests.api._am_served import serve_fake

AMTOOL = shutil.which("amtool")
pytestmark = pytest.mark.skipif(AMTOOL is None, reason="amtool (Alertmanager 0.25) is not installed")

CONFIG = """route:
  receiver: team-db
  routes:
    - matchers: [team="web"]
      receiver: team-web
receivers:
  - name: team-db
  - name: team-web
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, FakeAlerting]]:
    with serve_fake(CONFIG, tmp_path) as pair:
        yield pair


def amtool(url: str, *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run([AMTOOL or "amtool", f"--alertmanager.url={url}", *args], input=stdin,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, f"amtool {' '.join(args)} failed: {proc.stderr}"
    return proc.stdout


def test_alert_query_shows_the_alerts_and_filters(served: tuple[str, FakeAlerting]) -> None:
    url, fake = served
    fake.receive([Alert.of({"alertname": "DiskFull", "team": "db"}, {"summary": "disk is full"}),
                  Alert.of({"alertname": "Slow", "team": "web"})])
    for a in fake.received:
        fake.marker.set_active(a.fingerprint)
    out = amtool(url, "alert", "query")
    assert "DiskFull" in out and "disk is full" in out and "Slow" in out
    only = amtool(url, "alert", "query", "-o", "json", "team=web")
    assert [a["labels"]["alertname"] for a in json.loads(only)] == ["Slow"]
    by_receiver = amtool(url, "alert", "query", "-o", "json", "--receiver=team-db")
    assert [a["labels"]["alertname"] for a in json.loads(by_receiver)] == ["DiskFull"]
    fake.marker.set_silenced(fake.received[0].fingerprint, ["x"])
    assert [a["labels"]["alertname"] for a in json.loads(amtool(url, "alert", "query", "-o", "json"))] == ["Slow"]
    assert "DiskFull" in amtool(url, "alert", "query", "--silenced")


def test_silence_add_query_expire_import(served: tuple[str, FakeAlerting], tmp_path: Path) -> None:
    url, fake = served
    sid = amtool(url, "silence", "add", "alertname=DiskFull", "team=~db|ops", "--comment=disk swap",
                 "--author=alice", "--duration=2h").strip()
    stored = fake.silences.get(sid)
    assert (stored.created_by, stored.comment) == ("alice", "disk swap")
    assert {(m.name, m.value, m.is_regex) for m in stored.matchers} == {("alertname", "DiskFull", False), ("team", "db|ops", True)}
    table = amtool(url, "silence", "query")
    assert sid in table and "alice" in table and "disk swap" in table
    assert amtool(url, "silence", "query", "-q").split() == [sid]
    exported = amtool(url, "silence", "query", "-o", "json")
    assert [s["id"] for s in json.loads(exported)] == [sid]
    amtool(url, "silence", "expire", sid)
    assert amtool(url, "silence", "query", "-q").split() == []
    assert sid in amtool(url, "silence", "query", "--expired", "-q").split()
    (tmp_path / "silences.json").write_text(exported)
    imported = amtool(url, "silence", "import", "--force", str(tmp_path / "silences.json")).split()
    assert len(imported) == 1 and imported[0] != sid
    again = fake.silences.get(imported[0])
    assert (again.comment, again.matchers) == (stored.comment, stored.matchers)
    assert amtool(url, "silence", "query", "-q").split() == imported


def test_config_show_prints_the_config_in_force(served: tuple[str, FakeAlerting]) -> None:
    url, _ = served
    out = amtool(url, "config", "show")
    assert "receiver: team-db" in out and "name: team-web" in out
