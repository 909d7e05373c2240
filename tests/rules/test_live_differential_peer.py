"""Live differential: a real Prometheus evaluates a rule group (chained recording rules and
an alert with `for` and `keep_firing_for` on a time-driven condition) on its own clock;
sloguard's Group evaluated at exactly the same timestamps records the same values and
the same ALERTS / ALERTS_FOR_STATE samples."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from sloguard.labels import Matcher, MatchType
from sloguard.promql.engine import PromQLEngine
from sloguard.rules import ManagerOptions, RuleManager, engine_query_func
from sloguard.tsdb import stale_mask
from sloguard.tsdb.testing import MemoryStorage

RULES = """
groups:
  - name: live
    interval: 1s
    rules:
      - record: t_mod
        expr: time() % 6
      - record: t_chain
        expr: t_mod * 2 + 1
      - alert: Cycle
        expr: t_chain > 6
        for: 2s
        keep_firing_for: 1s
        labels: {severity: '{{ if gt $value 9.0 }}high{{ else }}low{{ end }}'}
        annotations: {v: '{{ $value }}'}
"""
NAMES = ("t_mod", "t_chain", "ALERTS", "ALERTS_FOR_STATE")


def _raw(base: str, name: str) -> dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]:
    r = httpx.get(f"{base}/api/v1/query", params={"query": f"{name}[5m]"}, timeout=5).json()
    return {
        tuple(sorted(s["metric"].items())): [(round(float(t) * 1000), float(v)) for t, v in s["values"]]
        for s in r["data"]["result"]
    }


@pytest.mark.peer
@pytest.mark.slow
def test_same_recorded_values_and_alert_series_as_prometheus(tmp_path: Path) -> None:
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus not on PATH")
    (tmp_path / "rules.yml").write_text(RULES)
    (tmp_path / "prom.yml").write_text("global: {evaluation_interval: 1s}\nrule_files: [rules.yml]\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={tmp_path / 'prom.yml'}", f"--web.listen-address=127.0.0.1:{port}",
         f"--storage.tsdb.path={tmp_path / 'data'}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        theirs: dict[str, dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                theirs = {n: _raw(base, n) for n in NAMES}
                if sum(len(v) for v in theirs["t_mod"].values()) >= 14 and len(theirs["ALERTS"]) >= 2:
                    break
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            time.sleep(0.5)
        theirs = {n: _raw(base, n) for n in NAMES}
    finally:
        proc.terminate()
        proc.wait(timeout=20)

    stamps = sorted(t for series in theirs["t_mod"].values() for t, _ in series)
    st = MemoryStorage()
    m = RuleManager(ManagerOptions(query=engine_query_func(PromQLEngine(st)), storage=st), use_threads=False)
    m.update([str(tmp_path / "rules.yml")])
    (g,) = m.groups()
    for i, t in enumerate(stamps):
        g.eval(t)
        if i == 1:  # Prometheus restores `for` state (and starts writing ALERTS) after its 2nd evaluation
            g.restore_for_state(t)
    ours = {}
    for n in NAMES:
        b = st.querier().select([Matcher(MatchType.EQUAL, "__name__", n)], stamps[0], stamps[-1])
        ours[n] = {}
        for j in range(len(b)):
            ls, ts, vs = b.series(j)
            keep = ~stale_mask(vs)
            ours[n][tuple(sorted(ls))] = list(zip(ts[keep].tolist(), vs[keep].tolist(), strict=True))
    assert len(stamps) >= 14
    for n in NAMES:
        mine = {k: [p for p in v if p[0] <= stamps[-1]] for k, v in ours[n].items()}
        real = {k: [p for p in v if stamps[0] <= p[0] <= stamps[-1]] for k, v in theirs[n].items()}
        assert {k: v for k, v in mine.items() if v} == {k: v for k, v in real.items() if v}, n
