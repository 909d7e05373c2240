"""The SLO report: coverage of the period, time to exhaustion within the period, and one
table for ``--url`` and ``--data-dir`` that fits its content when piped."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from starlette.applications import Starlette
from typer.testing import CliRunner

from sloguard.api._context import ServerContext
from sloguard.api._slos import routes
from sloguard.cli import app
from sloguard.labels import Labels
from sloguard.promql.engine import PromQLEngine
from sloguard.slo import budget
from sloguard.slo.loader import load_text
from sloguard.slo.model import SLO
from sloguard.slo.report import COLUMNS, budget_json
from sloguard.tsdb import TSDB
from sloguard.tsdb.testing import MemoryStorage

M, H, D = 60_000, 3_600_000, 86_400_000
NOW = 1_700_000_000_000 // H * H
LONG_ROUTE = "/api/v2/tenants/acme-corporation-international/projects/observability-platform/checkout"

SPEC = """
apiVersion: sloguard/v1
service: shop
slos:
  - name: avail
    objective: 99
    period: 30d
    grouping: [route]
    sli: {ratio: {bad: 'req_total{code="500"}', total: 'req_total'}}
"""


def _slo() -> SLO:
    slos, problems = load_text(SPEC, "t.yml")
    assert problems == []
    return slos[0]


def _add(st: MemoryStorage, route: str, ts: np.ndarray, per_step: float, err: np.ndarray | float) -> None:
    e = np.broadcast_to(np.asarray(err, dtype=float), ts.shape)
    st.add(Labels.of(name__="req_total", route=route, code="500"), ts, np.cumsum(per_step * e))
    st.add(Labels.of(name__="req_total", route=route, code="200"), ts, np.cumsum(per_step * (1 - e)))


def test_a_budget_over_72_minutes_is_over_the_observed_time_with_its_coverage() -> None:
    st = MemoryStorage()
    _add(st, "/new", np.arange(NOW - 72 * M, NOW + 1, M), 100, 0.005)
    _add(st, "/old", np.arange(NOW - 31 * D, NOW + 1, 5 * M), 500, 0.005)
    new, old = budget.compute(PromQLEngine(st), _slo(), NOW)
    assert new.labels == {"route": "/new"} and old.labels == {"route": "/old"}
    assert new.observed_from_ms == NOW - 72 * M
    assert new.coverage == pytest.approx(72 / (30 * 24 * 60))
    assert new.budget_remaining_ratio == pytest.approx(0.5, rel=1e-3)
    # half of the 72 minutes' budget (0.72 minutes at 1%), not of 30 days' (432 minutes)
    assert new.budget_remaining_minutes == pytest.approx(0.5 * 0.01 * 72, rel=1e-3)
    assert new.time_to_exhaustion_s is None and new.exhausts_in_period is False  # burn 0.5 never exhausts
    assert old.coverage == 1.0 and old.observed_from_ms == NOW - 30 * D
    assert old.budget_remaining_minutes == pytest.approx(0.5 * 0.01 * 30 * 24 * 60, rel=1e-3)
    cov = budget_json(new)["coverage"]
    assert cov == {"ratio": new.coverage, "observedFrom": "2023-11-14T20:48:00Z", "observedSeconds": 72 * 60.0,
                   "periodSecondsSoFar": 30 * 86400.0, "complete": False}
    assert budget_json(old)["coverage"]["complete"] is True


def test_time_to_exhaustion_never_exceeds_the_time_left_in_the_window() -> None:
    st = MemoryStorage()
    ts = np.arange(NOW - 31 * D, NOW + 1, 5 * M)
    _add(st, "/slow-burn", ts, 100, 0.001)  # burn 0.1: 90% left would last 270d at that pace
    _add(st, "/hot", ts, 100, np.where(ts > NOW - 6 * H, 0.04, 0.005))  # burn 4 for the last 6 hours
    hot, slow = budget.compute(PromQLEngine(st), _slo(), NOW)
    assert slow.budget_remaining_ratio == pytest.approx(0.9, rel=1e-3)
    assert slow.time_to_exhaustion_s is None and slow.exhausts_in_period is False
    assert slow.period_left_s == 30 * 86400
    burn = next(w.burn_rate for w in hot.burn_rates if w.window == "1h")
    assert burn == pytest.approx(4, rel=1e-3) and hot.exhausts_in_period is True
    assert hot.time_to_exhaustion_s == pytest.approx(hot.budget_remaining_ratio * 30 * 86400 / burn)  # type: ignore[operator]


def test_time_to_exhaustion_while_the_data_still_grows() -> None:
    # 1h observed, half its budget left, burning at 2x: the budget of the observed time
    # grows by one second per second and shrinks by two, so it lasts 1800 s
    assert budget.time_to_exhaustion_s(0.5, 2.0, 3600, 30 * 86400) == pytest.approx(1800)
    assert budget.time_to_exhaustion_s(0.5, 2.0, 30 * 86400, 30 * 86400) == pytest.approx(0.5 * 30 * 86400 / 2)
    assert budget.time_to_exhaustion_s(0.5, 0.0, 3600, 30 * 86400) is None


def _write_tsdb(path: Path) -> None:
    db = TSDB.open(path)
    app_ = db.appender()
    for route, first, err in ((LONG_ROUTE, NOW - 72 * M, 0.002), ("/slow", NOW - 1 * D, 0.001)):
        ts = np.arange(first, NOW + 1, M, dtype=np.int64)  # scraped every minute (a 5m rate needs 2 samples)
        for code, share in (("500", err), ("200", 1 - err)):
            app_.append_many(Labels.of(name__="req_total", route=route, code=code), ts, np.cumsum(np.full(len(ts), 100 * share)))
    assert app_.commit().rejected_total == 0
    db.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """The data written to a TSDB directory, and a server over a copy of it."""
    _write_tsdb(tmp_path / "data")
    _write_tsdb(tmp_path / "served")
    spec = tmp_path / "slos.yml"
    spec.write_text(SPEC)
    db = TSDB.open(tmp_path / "served")
    ctx = ServerContext(storage=db, engine=PromQLEngine(db), slos=[_slo()])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=routes(ctx)), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(250):  # bounded wait for the server to come up
        if server.started:
            break
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", tmp_path / "data", spec
    server.should_exit = True
    thread.join(5)
    db.close()


def test_piped_report_fits_its_content_and_both_modes_show_the_same_table(served: tuple[str, Path, Path]) -> None:
    url, data_dir, spec = served
    at = str(NOW / 1000)
    local = CliRunner().invoke(app, ["slo", "report", str(spec), "--data-dir", str(data_dir), "--time", at])
    remote = CliRunner().invoke(app, ["slo", "report", "--url", url, "--time", at])
    assert local.exit_code == 0, local.output
    assert remote.exit_code == 0, remote.output
    assert local.output == remote.output
    lines = local.output.splitlines()
    header = next(line for line in lines if "labels" in line)
    assert [c for c in COLUMNS if c in header] == list(COLUMNS)
    (row,) = [line for line in lines if LONG_ROUTE in line]  # the whole value, on one line
    assert "0.2% of 30d: 1h 12m observed" in row
    (slow,) = [line for line in lines if "route=/slow" in line]
    assert "not in this window" in slow and "3.3% of 30d: 1d observed" in slow
    assert max(len(line) for line in lines) > 80


def test_history_from_the_cli_in_both_modes(served: tuple[str, Path, Path]) -> None:
    url, data_dir, spec = served
    span = ["--from", str((NOW - 2 * H) / 1000), "--to", str(NOW / 1000), "--step", "30m", "-o", "json"]
    local = CliRunner().invoke(app, ["slo", "report", str(spec), "--data-dir", str(data_dir), *span])
    remote = CliRunner().invoke(app, ["slo", "report", "--url", url, *span])
    assert local.exit_code == 0, local.output
    assert json.loads(local.output) == json.loads(remote.output)
    (h,) = json.loads(local.output)
    assert h["timestamps"] == [(NOW - 2 * H + i * 30 * M) / 1000 for i in range(5)]
    slow = next(s for s in h["series"] if s["labels"] == {"route": "/slow"})
    assert slow["budgetRemaining"] == pytest.approx([0.9] * 5, rel=1e-6)
    assert slow["burnRates"]["1h"] == pytest.approx([0.1] * 5, rel=1e-6)
    table = CliRunner().invoke(app, ["slo", "report", str(spec), "--data-dir", str(data_dir), *span[:-2]])
    assert table.exit_code == 0 and "burn 3d" in table.output and LONG_ROUTE in table.output


@pytest.mark.parametrize(("args", "words"), [
    (["--from", "yesterday"], "--from 'yesterday'"),
    (["--to", "now"], "--to and --step need --from"),
    (["--from", "0", "--to", "86400", "--step", "1s"], "86,401 points"),
])
def test_report_options_are_checked_with_clear_messages(tmp_path: Path, args: list[str], words: str) -> None:
    spec = tmp_path / "slos.yml"
    spec.write_text(SPEC)
    r = CliRunner().invoke(app, ["slo", "report", str(spec), "--data-dir", str(tmp_path / "data"), *args])
    assert r.exit_code == 2 and words in r.output, r.output


def test_data_dir_report_shows_stored_alerts_on_their_own_row(tmp_path: Path) -> None:
    _write_tsdb(tmp_path / "data")
    db = TSDB.open(tmp_path / "data")
    app_ = db.appender()
    firing = Labels.of(name__="ALERTS", alertname="AvailBudgetBurn", alertstate="firing", slo="avail",
                       service="shop", sloguard_tier="page", route="/slow")
    app_.append_many(firing, np.array([NOW - M, NOW], np.int64), np.array([1.0, 1.0]))
    assert app_.commit().rejected_total == 0
    db.close()
    spec = tmp_path / "slos.yml"
    spec.write_text(SPEC)
    r = CliRunner().invoke(app, ["slo", "report", str(spec), "--data-dir", str(tmp_path / "data"), "--time", str(NOW / 1000)])
    assert r.exit_code == 0, r.output
    (slow,) = [line for line in r.output.splitlines() if "route=/slow" in line]
    (other,) = [line for line in r.output.splitlines() if LONG_ROUTE in line]
    assert "page:firing" in slow and "page:firing" not in other


def test_coverage_of_a_sloth_query_with_offset_is_unknown_not_an_error() -> None:
    slos, problems = load_text("""
version: prometheus/v1
service: shop
slos:
  - name: shifted
    objective: 99
    sli:
      events:
        error_query: sum(rate(req_total{code="500"}[{{.window}}] offset 1m))
        total_query: sum(rate(req_total[{{.window}}] offset 1m))
    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}
""", "sloth.yml")
    assert problems == []
    st = MemoryStorage()
    _add(st, "/a", np.arange(NOW - 2 * H, NOW + 1, M), 100, 0.005)
    (b,) = budget.compute(PromQLEngine(st), slos[0], NOW)
    assert b.sli == pytest.approx(0.995, rel=1e-6) and b.coverage is None
