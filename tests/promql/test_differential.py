"""Differential test: the same data and queries against a real Prometheus 2.42 and sloguard.

The same OpenMetrics file is backfilled into Prometheus (``promtool tsdb create-blocks-from
openmetrics``) and into sloguard (``sloguard import openmetrics``, then the TSDB is opened),
and both are asked over their HTTP APIs (sloguard's in-process). Series with staleness
markers, which OpenMetrics cannot carry, go to Prometheus through its remote-write
receiver and to sloguard through its appender. Answers are compared series by series with a relative tolerance of
1e-9. Known differences are listed with their reason in ``differential_known.txt``
(``<expression><TAB><reason>``); those cases are reported as expected failures. A case
whose function sloguard reports as "not implemented" is skipped with that reason.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cramjam
import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from typer.testing import CliRunner

from sloguard.api._context import ServerContext
from sloguard.api._query import routes
from sloguard.cli import app as cli_app
from sloguard.labels import Labels
from sloguard.tsdb import STALE_NAN, STALE_NAN_BITS, TSDB

from .test_differential_cases import (
    STALE_SPAN_S,
    STALE_START_S,
    Case,
    GenSeries,
    generate_cases,
    generate_series,
    generate_stale_cases,
    generate_stale_series,
    to_openmetrics,
)

pytestmark = [pytest.mark.peer, pytest.mark.slow]

KNOWN_FILE = Path(__file__).with_name("differential_known.txt")
CASES = generate_cases() + generate_stale_cases()
REL_TOL = 1e-9
#: Parse-error positions ("1:6: "); promql-parser does not report them all.
_POSITION = re.compile(r"\b\d+:\d+: (?=parse error)")


def known_differences() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in KNOWN_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            expr, _, reason = line.partition("\t")
            out[expr.strip()] = reason.strip()
    return out


KNOWN = known_differences()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(num: int, payload: bytes) -> bytes:
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def write_request(series: list[tuple[dict[str, str], list[tuple[int, float]]]]) -> bytes:
    """A remote-write ``WriteRequest`` protobuf; NaN values are written as stale markers."""
    out = bytearray()
    for labels, points in series:
        ts = b"".join(_field(1, _field(1, k.encode()) + _field(2, v.encode())) for k, v in sorted(labels.items()))
        for t, v in points:
            bits = STALE_NAN_BITS if math.isnan(v) else struct.unpack("<Q", struct.pack("<d", v))[0]
            ts += _field(2, b"\x09" + struct.pack("<Q", bits) + b"\x10" + _varint(t & (2**64 - 1)))
        out += _field(1, ts)
    return bytes(out)


class PrometheusPeer:
    """A real Prometheus over a backfilled TSDB in ``workdir``."""

    def __init__(self, workdir: Path, om: Path) -> None:
        db, cfg = workdir / "db", workdir / "prometheus.yml"
        cfg.write_text("global: {}\n")
        r = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(om), str(db)],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"promtool backfill failed: {r.stderr[-500:]}")
        self.port = _free_port()
        self.log = (workdir / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={db}",
             "--storage.tsdb.retention.time=100y", f"--web.listen-address=127.0.0.1:{self.port}",
             "--web.enable-remote-write-receiver"],
            stdout=subprocess.DEVNULL, stderr=self.log,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        for _ in range(300):  # bounded poll: up to ~30 s
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1).read()
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise RuntimeError("prometheus did not become ready")

    def get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            body: dict[str, Any] = json.loads(urllib.request.urlopen(url, timeout=60).read())
        except urllib.error.HTTPError as e:
            body = json.loads(e.read() or b'{"status":"error"}')
        return body

    def remote_write(self, series: list[GenSeries], batch: int = 500) -> None:
        """Send the samples in time order (NaN values become stale markers)."""
        flat = sorted((t, i, v) for i, s in enumerate(series) for t, v in s.samples)
        for k in range(0, len(flat), batch):
            chunk: dict[int, list[tuple[int, float]]] = {}
            for t, i, v in flat[k:k + batch]:
                chunk.setdefault(i, []).append((t, v))
            body = cramjam.snappy.compress_raw(write_request([(series[i].labels, pts) for i, pts in chunk.items()]))
            req = urllib.request.Request(
                f"http://127.0.0.1:{self.port}/api/v1/write", data=bytes(body), method="POST",
                headers={"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
                         "X-Prometheus-Remote-Write-Version": "0.1.0"})
            urllib.request.urlopen(req, timeout=30).read()

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def series() -> list[GenSeries]:
    return generate_series()


@pytest.fixture(scope="module")
def om_file(series: list[GenSeries], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "data.om"
    path.write_text(to_openmetrics(series))
    return path


@pytest.fixture(scope="module")
def prometheus(om_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusPeer]:
    missing = [b for b in ("prometheus", "promtool") if shutil.which(b) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not on PATH")
    peer = PrometheusPeer(tmp_path_factory.mktemp("prometheus"), om_file)
    peer.remote_write(generate_stale_series())
    yield peer
    peer.close()


@pytest.fixture(scope="module")
def sloguard(om_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    engine_mod = pytest.importorskip("sloguard.promql.engine", reason="the PromQL engine is not built yet")
    data_dir = tmp_path_factory.mktemp("sloguard")
    r = CliRunner().invoke(cli_app, ["import", "openmetrics", str(om_file), "--data-dir", str(data_dir), "-q"])
    assert r.exit_code == 0, r.output
    db = TSDB.open(data_dir)
    app = db.appender()
    for s in generate_stale_series():
        vs = [STALE_NAN if math.isnan(v) else v for _, v in s.samples]
        app.append_many(Labels.from_dict(s.labels), np.array([t for t, _ in s.samples], np.int64), np.array(vs))
    assert app.commit().rejected_total == 0
    ctx = ServerContext(storage=db, engine=engine_mod.PromQLEngine(db, engine_mod.EngineOptions()))
    yield TestClient(Starlette(routes=routes(ctx)))
    db.close()


def _params(case: Case) -> tuple[str, dict[str, str]]:
    if case.step == 0:
        return "query", {"query": case.expr, "time": f"{case.start / 1000:.3f}"}
    return "query_range", {"query": case.expr, "start": f"{case.start / 1000:.3f}",
                           "end": f"{case.end / 1000:.3f}", "step": f"{case.step / 1000:.3f}"}


_SPECIAL = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}


def _num(s: str) -> float:
    return _SPECIAL[s] if s in _SPECIAL else float(s)


def close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b))


def _points(pts: list[list[Any]]) -> list[tuple[int, float]]:
    return [(round(float(t) * 1000), _num(v)) for t, v in pts]


def _series_map(result: list[dict[str, Any]], key: str) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    for s in result:
        pts = [s[key]] if key == "value" else s[key]
        out[json.dumps(s["metric"], sort_keys=True)] = _points(pts)
    return out


def compare(want: dict[str, Any], got: dict[str, Any], ordered: bool) -> str | None:
    """None when ``got`` (sloguard) answers as ``want`` (Prometheus); else what differs."""
    if want.get("status") != got.get("status"):
        return f"status: prometheus {want.get('status')} {want.get('error', '')!r}, sloguard {got.get('status')} {got.get('error', '')!r}"
    if want["status"] != "success":
        if want.get("errorType") != got.get("errorType"):
            return f"errorType: prometheus {want.get('errorType')}, sloguard {got.get('errorType')}"
        if _POSITION.sub("", want.get("error", "")) != _POSITION.sub("", got.get("error", "")):
            return f"error text: prometheus {want.get('error')!r}, sloguard {got.get('error')!r}"
        return None
    wd, gd = want["data"], got["data"]
    if wd["resultType"] != gd["resultType"]:
        return f"resultType: prometheus {wd['resultType']}, sloguard {gd['resultType']}"
    kind = wd["resultType"]
    if kind in ("scalar", "string"):
        w, g = wd["result"], gd["result"]
        same_v = w[1] == g[1] if kind == "string" else close(_num(w[1]), _num(g[1]))
        return None if (round(float(w[0]) * 1000) == round(float(g[0]) * 1000) and same_v) else f"{kind}: prometheus {w}, sloguard {g}"
    key = "value" if kind == "vector" else "values"
    wm, gm = _series_map(wd["result"], key), _series_map(gd["result"], key)
    if set(wm) != set(gm):
        return f"series: only in prometheus {sorted(set(wm) - set(gm))[:3]}, only in sloguard {sorted(set(gm) - set(wm))[:3]}"
    if ordered and [json.dumps(s["metric"], sort_keys=True) for s in wd["result"]] != [json.dumps(s["metric"], sort_keys=True) for s in gd["result"]]:
        return "order of series differs"
    for k, wp in wm.items():
        gp = gm[k]
        if [t for t, _ in wp] != [t for t, _ in gp]:
            return f"{k}: timestamps differ: prometheus {[t for t, _ in wp][:5]}..., sloguard {[t for t, _ in gp][:5]}..."
        for (t, a), (_, b) in zip(wp, gp, strict=True):
            if not close(a, b):
                return f"{k} at {t}: prometheus {a!r}, sloguard {b!r}"
    return None


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_answer_as_prometheus(case: Case, prometheus: PrometheusPeer, sloguard: TestClient) -> None:
    path, params = _params(case)
    want = prometheus.get(path, params)
    got = sloguard.get(f"/api/v1/{path}", params=params).json()
    ordered = case.step == 0 and case.expr.startswith("sort")
    diff = compare(want, got, ordered)
    if diff is not None and "is not implemented" in str(got.get("error", "")):
        pytest.skip(f"not built yet: {got['error']}")
    if case.expr in KNOWN:
        if diff is not None:
            pytest.xfail(f"known difference: {KNOWN[case.expr]}")
        return
    assert diff is None, diff


def test_staleness_data_arrived_in_both(prometheus: PrometheusPeer, sloguard: TestClient) -> None:
    at = str(STALE_START_S + STALE_SPAN_S)
    params = {"query": "count_over_time(diff_stale_gauge[2h])", "time": at}
    for body in (prometheus.get("query", params), sloguard.get("/api/v1/query", params=params).json()):
        assert len(body["data"]["result"]) == 3
    # a stale marker ends the series at once: no lookback to the sample before it
    [b] = [s for s in generate_stale_series() if s.labels == {"__name__": "diff_stale_gauge", "instance": "b"}]
    marker_ms = next(t for t, v in b.samples if math.isnan(v))
    params = {"query": 'diff_stale_gauge{instance="b"}', "time": f"{(marker_ms + 60_000) / 1000:.3f}"}
    assert prometheus.get("query", params)["data"]["result"] == []
    assert sloguard.get("/api/v1/query", params=params).json()["data"]["result"] == []
    params["time"] = f"{(marker_ms - 1) / 1000:.3f}"
    assert len(prometheus.get("query", params)["data"]["result"]) == 1


def test_format_query_matches_prometheus(prometheus: PrometheusPeer, sloguard: TestClient) -> None:
    """``/api/v1/format_query`` of every expression above, compared whole (known: "format_query <expr>")."""
    differ = []
    for expr in sorted({c.expr for c in CASES}):
        want = prometheus.get("format_query", {"query": expr})
        got = sloguard.get("/api/v1/format_query", params={"query": expr}).json()
        if want != got and f"format_query {expr}" not in KNOWN:
            differ.append(f"{expr!r}: prometheus {want}, sloguard {got}")
    assert not differ, "\n".join(differ[:10])


BYTE_EXACT = [  # raw samples (no arithmetic), so even the number formatting must agree
    ("query_range", {"query": "diff_temperature", "start": "1699990000", "end": "1699993600.5", "step": "61"}),
    ("query_range", {"query": 'diff_requests_total{job="api"}', "start": "1699989000", "end": "1699992000", "step": "30"}),
    ("query", {"query": "diff_temperature", "time": "1699995000.123"}),
    ("query", {"query": "diff_temperature[1m]", "time": "1699995000"}),
    ("query", {"query": "1e-7 * 3", "time": "1699995000"}),
    ("query", {"query": '"a\\"<b>&"', "time": "1699995000.5"}),
    ("query", {"query": "vector(1e21) / 3", "time": "1699995000"}),
    ("query_range", {"query": "1", "start": "x", "end": "2", "step": "1"}),
    ("query_range", {"query": "1", "start": "3", "end": "2", "step": "1"}),
    ("query_range", {"query": "1", "start": "1", "end": "2", "step": "0"}),
    ("query_range", {"query": "1", "start": "1", "end": "200000", "step": "1"}),
    ("query_range", {"query": "sum(", "start": "1", "end": "2", "step": "1"}),
    ("query", {"query": "1", "time": "yesterday", "timeout": "1s"}),
    ("query", {"query": "rate(diff_temperature)"}),
]


@pytest.mark.parametrize(("path", "params"), BYTE_EXACT, ids=[f"{path} {p}" for path, p in BYTE_EXACT])
def test_response_bytes_equal_prometheus(prometheus: PrometheusPeer, sloguard: TestClient, path: str, params: dict[str, str]) -> None:
    url = f"http://127.0.0.1:{prometheus.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    try:
        status, want = 200, urllib.request.urlopen(url, timeout=30).read().decode()
    except urllib.error.HTTPError as e:
        status, want = e.code, e.read().decode()
    r = sloguard.get(f"/api/v1/{path}", params=params)
    assert (r.status_code, r.text) == (status, want)
