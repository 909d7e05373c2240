"""`sloguard slo backtest` from the command line: a data directory, a real Prometheus
(``--url``), several policies side by side, and bad options."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sloguard.cli import app as cli_app
from sloguard.labels import Labels
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions
from tests._net import free_port
from tests.slo.test_backtest import SPEC, T0, D, H, M, _between

SLOTH_30D = """
apiVersion: sloth.slok.dev/v1
kind: AlertWindows
spec:
  sloPeriod: 30d
  page:
    quick: {errorBudgetPercent: 2, shortWindow: 5m, longWindow: 1h}
    slow: {errorBudgetPercent: 5, shortWindow: 30m, longWindow: 6h}
  ticket:
    quick: {errorBudgetPercent: 10, shortWindow: 2h, longWindow: 1d}
    slow: {errorBudgetPercent: 10, shortWindow: 6h, longWindow: 3d}
"""

def _outage_counters() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per-minute counters over 3.5 days, 600 requests a minute, 10 minutes of outage at T0."""
    t = np.arange(T0 - 3 * D, T0 + 12 * H + 1, M, dtype=np.int64)
    bad = np.cumsum(_between(0, 10 * M, 600.0)(t))
    return t, {"500": bad, "200": np.cumsum(np.full(len(t), 600.0)) - bad}


def _write_outage(path: Path) -> None:
    t, counters = _outage_counters()
    db = TSDB.open(path, TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
    try:
        app = db.appender()
        for code, values in counters.items():
            app.append_many(Labels.of(name__="requests_total", job="api", code=code), t, values)
        assert app.commit().rejected_total == 0
    finally:
        db.close()


def test_cli_replays_several_policies_from_a_data_directory(tmp_path: Path) -> None:
    _write_outage(tmp_path / "data")
    spec = tmp_path / "spec.yml"
    spec.write_text(SPEC)
    windows = tmp_path / "google-30d.yaml"
    windows.write_text(SLOTH_30D)
    args = ["slo", "backtest", str(spec), "--data-dir", str(tmp_path / "data"), "--from", str((T0 - 2 * H) // 1000),
            "--to", str((T0 + 12 * H) // 1000), "--policy", "workbook", "--policy", "pyrra", "--policy", str(windows), "--format", "json"]
    r = CliRunner().invoke(cli_app, args)
    assert r.exit_code == 0, r.output
    [out] = json.loads(r.stdout)
    rows = {(x["policy"], x["tier"]): x for x in out["results"]}
    assert set(rows) == {(p, t) for p in ("workbook", "pyrra", "google-30d") for t in ("page", "ticket")}
    assert rows["workbook", "page"]["detectionSeconds"]["max"] == 60
    assert rows["pyrra", "page"]["detectionSeconds"]["max"] == 180  # its 2m `for`
    # Sloth's 30d windows are the workbook's
    strip = ("policy", "alertList", "eventList")
    for tier in ("page", "ticket"):
        assert {k: v for k, v in rows["google-30d", tier].items() if k not in strip} == \
            {k: v for k, v in rows["workbook", tier].items() if k not in strip}
    table = CliRunner().invoke(cli_app, args[:-2])
    assert table.exit_code == 0 and "pyrra" in table.stdout and "precision" in table.stdout


def test_cli_refuses_a_bad_event_definition(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yml"
    spec.write_text(SPEC)
    r = CliRunner().invoke(cli_app, ["slo", "backtest", str(spec), "--data-dir", str(tmp_path), "--from", "now-1d",
                                     "--page-event", "2/1h"])
    assert r.exit_code == 1
    assert "--page-event '2/1h': expected SHARE%/WINDOW" in r.stderr
    r = CliRunner().invoke(cli_app, ["slo", "backtest", str(spec), "--data-dir", str(tmp_path), "--from", "now-1d",
                                     "--slo", "nope"])
    assert r.exit_code == 1 and f"No SLO named 'nope' in {spec}" in r.stderr
    r = CliRunner().invoke(cli_app, ["slo", "backtest", str(spec), "--data-dir", str(tmp_path), "--from", "yesterday"])
    assert r.exit_code == 1 and "--from 'yesterday'" in r.stderr


@pytest.mark.peer
def test_a_prometheus_url_gives_the_same_backtest_as_the_data_directory(tmp_path: Path) -> None:
    missing = [b for b in ("prometheus", "promtool") if shutil.which(b) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not on PATH (scripts/install-peers installs them)")
    t, counters = _outage_counters()
    om = tmp_path / "data.om"
    lines = ["# TYPE requests counter\n"]
    for code, values in counters.items():
        lines += [f'requests_total{{job="api",code="{code}"}} {v:g} {ts // 1000}\n' for ts, v in zip(t, values, strict=True)]
    om.write_text("".join(lines) + "# EOF\n")
    _write_outage(tmp_path / "sloguard")
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(om), str(tmp_path / "prom")],
                   check=True, capture_output=True, timeout=120)
    (tmp_path / "prometheus.yml").write_text("global: {}\n")
    port = free_port()
    with (tmp_path / "prometheus.log").open("w") as log:
        proc = subprocess.Popen(["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={tmp_path / 'prom'}", "--storage.tsdb.retention.time=100y",
                                 f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=log)
    try:
        _wait_ready(f"http://127.0.0.1:{port}/-/ready")
        spec = tmp_path / "spec.yml"
        spec.write_text(SPEC)
        args = ["slo", "backtest", str(spec), "--from", str((T0 - 2 * H) // 1000), "--to", str((T0 + 12 * H) // 1000),
                "--policy", "workbook", "--policy", "pyrra", "--format", "json"]
        via_url = CliRunner().invoke(cli_app, [*args, "--url", f"http://127.0.0.1:{port}"])
        via_dir = CliRunner().invoke(cli_app, [*args, "--data-dir", str(tmp_path / "sloguard")])
    finally:
        proc.terminate()
        proc.wait(10)
    assert via_url.exit_code == 0, via_url.output
    got, want = json.loads(via_url.stdout), json.loads(via_dir.stdout)
    assert sum(r["alerts"] for r in want[0]["results"]) >= 4
    assert got == want


def _wait_ready(url: str) -> None:
    for _ in range(300):  # bounded poll: up to ~30 s
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready")
