"""Generated engine expressions against a real Prometheus 2.42 (vector matching,
aggregations, subqueries, ``@``/``offset``, per-step parameters, unary minus).

Complements ``test_differential.py`` (function coverage): here the expression tree is
random and nested. topk/bottomk are left out: on ties Prometheus' own choice depends on
Go map order in range queries. Answers are compared series by series at 1e-9.
"""

from __future__ import annotations

import math
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sloguard.labels import Labels
from sloguard.promql import PromQLEngine, PromQLError, QueryResult, Sample
from sloguard.tsdb.testing import MemoryStorage

from .test_differential import PrometheusPeer
from .test_differential_cases import END_S, START_S, generate_series, to_openmetrics

pytestmark = [pytest.mark.peer, pytest.mark.slow]

SELECTORS = [
    "diff_temperature", 'diff_requests_total{code="500"}', "diff_requests_total", "diff_latency_seconds_count",
    "diff_late_gauge", 'diff_requests_total{job="api"}', '{__name__=~"diff_temperature|diff_late_gauge"}',
]
LABELS = ["job", "instance", "code"]


class _Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def labels(self) -> str:
        return ", ".join(self.r.sample(LABELS, self.r.randint(0, 2)))

    def selector(self) -> str:
        s = self.r.choice(SELECTORS)
        if self.r.random() < 0.2:
            s += " offset " + self.r.choice(["1m", "7m", "-5m", "1h"])
        if self.r.random() < 0.15:
            s += " @ " + self.r.choice(["start()", "end()", str(END_S - 3600)])
        if self.r.random() < 0.35:
            fn = self.r.choice(["rate", "increase", "delta", "max_over_time", "avg_over_time"])
            return f"{fn}({s.split(' ')[0]}[{self.r.choice(['5m', '10m'])}])"
        return s

    def vector(self, depth: int) -> str:
        c = self.r.random()
        if depth <= 0 or c < 0.25:
            return self.selector()
        if c < 0.5:
            return self.aggregation(depth)
        if c < 0.8:
            return self.binary(depth)
        if c < 0.92:
            fn = self.r.choice(["max_over_time", "avg_over_time", "min_over_time", "count_over_time"])
            mod = self.r.choice(["", "", " offset 5m", " @ end()", " offset -2m", " @ start()"])
            return f"{fn}(({self.vector(depth - 1)})[{self.r.choice(['10m', '30m'])}:{self.r.choice(['1m', '', '2m'])}]{mod})"
        return f"-({self.vector(depth - 1)})"

    def aggregation(self, depth: int) -> str:
        op = self.r.choice(["sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "quantile", "count_values"])
        param = {"quantile": f"{self.r.choice(['0', '0.5', '0.9', '1', '2'])}, ", "count_values": '"v", '}.get(op, "")
        inner = self.vector(depth - 1)
        if op == "count_values":
            inner = f"round({inner})"
        mod = "" if self.r.random() < 0.3 else f" {self.r.choice(['by', 'without'])} ({self.labels()})"
        return f"{op}{mod} ({param}{inner})"

    def binary(self, depth: int) -> str:
        op = self.r.choice(["+", "-", "*", "/", ">", "<", ">=", "!=", "> bool", "== bool", "and", "or", "unless", "%"])
        if self.r.random() < 0.25:
            op = "+" if op in ("and", "or", "unless") else op
            n = self.r.choice(["0", "1", "20", "-3"])
            return f"({self.vector(depth - 1)}) {op} {n}"
        m = ""
        x = self.r.random()
        if x < 0.35:
            m = f" on ({self.labels()})"
        elif x < 0.6:
            m = f" ignoring ({self.labels()})"
        if m and op not in ("and", "or", "unless") and self.r.random() < 0.3:
            m += " " + self.r.choice(["group_left", "group_right"])
        return f"({self.vector(depth - 1)}) {op}{m} ({self.vector(depth - 1)})"


@dataclass(frozen=True)
class Case:
    expr: str
    t: int = 0
    start: int = 0
    end: int = 0
    step: int = 0

    @property
    def id(self) -> str:
        return f"{self.expr} @{self.t}" if self.step == 0 else f"{self.expr} [{self.start}..{self.end}/{self.step}]"


def cases(seed: int = 5, n: int = 160) -> list[Case]:
    gen, r = _Gen(seed), random.Random(seed + 1)
    out = []
    for _ in range(n):
        expr = gen.vector(r.randint(1, 3))
        if r.random() < 0.5:
            out.append(Case(expr, t=r.randint(START_S + 600, END_S + 600)))
        else:
            a = r.randint(START_S, END_S - 600)
            out.append(Case(expr, start=a, end=min(END_S + 300, a + r.randint(60, 5400)), step=r.choice([15, 30, 60, 17, 300])))
    return out


CASES = cases()


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PrometheusPeer, PromQLEngine]]:
    missing = [b for b in ("prometheus", "promtool") if shutil.which(b) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not on PATH")
    series = generate_series()
    work = Path(tmp_path_factory.mktemp("engine-diff"))
    om = work / "data.om"
    om.write_text(to_openmetrics(series))
    st = MemoryStorage()
    for s in series:
        st.add(Labels(s.labels.items()), [t for t, _ in s.samples], [v for _, v in s.samples])
    prom = PrometheusPeer(work, om)
    try:
        yield prom, PromQLEngine(st)
    finally:
        prom.close()


def _float(s: str) -> float:
    return float(s.replace("+Inf", "inf").replace("-Inf", "-inf"))


def _close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def _points(res: QueryResult) -> dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]:
    out: dict[tuple[tuple[str, str], ...], list[tuple[int, float]]] = {}
    assert isinstance(res.value, list)
    for s in res.value:
        if isinstance(s, Sample):
            out[tuple(s.labels)] = [(s.t, s.v)]
        else:
            out[tuple(s.labels)] = list(zip(s.timestamps.tolist(), s.values.tolist(), strict=True))
    return out


def _prom_points(data: dict[str, Any]) -> dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]:
    out = {}
    for s in data["result"]:
        pts = s["values"] if "values" in s else [s["value"]]
        out[tuple(sorted(s["metric"].items()))] = [(round(float(t) * 1000), _float(v)) for t, v in pts]
    return out


def _run(engine: PromQLEngine, case: Case) -> QueryResult:
    if case.step == 0:
        return engine.instant_query(case.expr, case.t * 1000)
    return engine.range_query(case.expr, case.start * 1000, case.end * 1000, case.step * 1000)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_engine_answers_like_prometheus(peers: tuple[PrometheusPeer, PromQLEngine], case: Case) -> None:
    prom, engine = peers
    if case.step == 0:
        want = prom.get("query", {"query": case.expr, "time": str(case.t)})
    else:
        params = {"query": case.expr, "start": str(case.start), "end": str(case.end), "step": str(case.step)}
        want = prom.get("query_range", params)
    if want["status"] != "success":
        with pytest.raises(PromQLError):
            _run(engine, case)
        return
    got = _points(_run(engine, case))
    expected = _prom_points(want["data"])
    assert set(got) == set(expected)
    for key, pts in expected.items():
        assert len(got[key]) == len(pts), key
        assert all(ta == tb and _close(va, vb) for (ta, va), (tb, vb) in zip(pts, got[key], strict=True)), key
