"""Fuzz the query endpoints with generated (and broken) expressions.

Every answer must be Prometheus' success envelope with a well-formed result, or its error
envelope with ``bad_data`` (400), ``execution`` (422) or ``timeout`` (503): never a 500,
never a hang, never an engine crash dressed as an error ("unexpected error").
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sloguard.api._context import ServerContext
from sloguard.api._query import routes
from sloguard.labels import Labels
from sloguard.tsdb.testing import MemoryStorage

engine_mod = pytest.importorskip("sloguard.promql.engine", reason="the PromQL engine is not built yet")

T0 = 1_700_000_000_000
ERRORS = {"bad_data": 400, "execution": 422, "timeout": 503}


def _client() -> TestClient:
    storage = MemoryStorage()
    ts = [T0 + i * 15_000 for i in range(80)]
    for job in ("a", "b"):
        for inst in ("1", "2"):
            storage.add(Labels.of(name__="reqs_total", job=job, instance=inst), ts, [float(i * 3 % 50) for i in range(80)])
            storage.add(Labels.of(name__="temp", job=job, instance=inst), ts, [math.sin(i) * 10 for i in range(80)])
    for le in ("0.1", "1", "+Inf"):
        storage.add(Labels.of(name__="lat_bucket", le=le), ts, [i * float(le.replace("+Inf", "3")) for i in range(80)])
    engine = engine_mod.PromQLEngine(storage, engine_mod.EngineOptions(max_samples=200_000))
    ctx = ServerContext(storage=storage, engine=engine, settings={"query_timeout": 2.0, "query_timeout_grace": 1.0})
    return TestClient(Starlette(routes=routes(ctx)))


CLIENT = _client()

names = st.sampled_from(["reqs_total", "temp", "lat_bucket", "nosuch", "__name__"])
matchers = st.lists(
    st.tuples(st.sampled_from(["job", "instance", "le", "__name__", "x"]), st.sampled_from(["=", "!=", "=~", "!~"]),
              st.sampled_from(["a", "1", ".*", "", "(", "a|b", "+Inf"])),
    max_size=2,
).map(lambda ms: ",".join(f'{n}{op}"{v}"' for n, op, v in ms))
durations = st.sampled_from(["1m", "5m", "30s", "1h", "0s", "1ms", "2d"])
numbers = st.sampled_from(["1", "0", "-1", "0.5", "1e308", "NaN", "Inf", "-Inf", "0x10", "1e-9"])
selector = st.builds(lambda n, m: f"{n}{{{m}}}" if m else n, names, matchers)
range_sel = st.builds(lambda s, d: f"{s}[{d}]", selector, durations)
FUNCS = ["rate", "irate", "increase", "delta", "abs", "sum_over_time", "avg_over_time", "quantile_over_time",
         "histogram_quantile", "label_replace", "label_join", "absent", "absent_over_time", "vector", "scalar",
         "time", "timestamp", "round", "clamp", "sort", "predict_linear", "count_values", "nosuchfn", "topk"]
AGGS = ["sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values"]
BINOPS = ["+", "-", "*", "/", "%", "^", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless", "> bool", "atan2"]
MODS = ["", " on(job)", " ignoring(instance)", " on(job) group_left", " ignoring(le) group_right(job)", " on()"]


def _expr(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda f, a: f"{f}({', '.join(a)})", st.sampled_from(FUNCS), st.lists(st.one_of(children, range_sel, st.just('"x"')), max_size=3)),
        st.builds(lambda a, g, p, e: f"{a} {g} ({p}{e})", st.sampled_from(AGGS), st.sampled_from(["", "by (job)", "without (instance)"]),
                  st.sampled_from(["", "2, ", '"v", ', "0.5, "]), children),
        st.builds(lambda a, o, m, b: f"{a} {o}{m} {b}", children, st.sampled_from(BINOPS), st.sampled_from(MODS), children),
        st.builds(lambda e, d, s: f"({e})[{d}:{s}]", children, durations, st.sampled_from(["", "1m", "10s"])),
        st.builds(lambda e, d: f"{e} offset {d}", selector, st.sampled_from(["5m", "-5m", "1h"])),
        st.builds(lambda e, t: f"{e} @ {t}", selector, st.sampled_from(["start()", "end()", "1700000600", "-1"])),
        st.builds(lambda e: f"-({e})", children),
    )


valid_ish = st.recursive(st.one_of(selector, numbers, st.just('"str"')), _expr, max_leaves=6)
RANGE_FUNCS = ["rate", "irate", "increase", "delta", "idelta", "deriv", "resets", "changes", "avg_over_time",
               "max_over_time", "count_over_time", "stddev_over_time", "last_over_time", "present_over_time"]


def _typed(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Instant-vector expressions that type-check, to exercise the evaluator, not the parser."""
    return st.one_of(
        st.builds(lambda f, r: f"{f}({r})", st.sampled_from(RANGE_FUNCS), range_sel),
        st.builds(lambda f, e, d, s: f"{f}(({e})[{d}:{s}])", st.sampled_from(RANGE_FUNCS), children, durations, st.sampled_from(["", "1m", "10s"])),
        st.builds(lambda a, g, e: f"{a} {g} ({e})", st.sampled_from(["sum", "avg", "min", "max", "count", "group", "stddev"]),
                  st.sampled_from(["", "by (job)", "without (instance)", "by (le)"]), children),
        st.builds(lambda a, e: f"{a}", st.sampled_from(["topk(2, temp)", "bottomk(1, reqs_total)", "quantile(0.3, temp)", 'count_values("v", temp)']), children),
        st.builds(lambda a, o, m, b: f"{a} {o}{m} {b}", children, st.sampled_from(BINOPS), st.sampled_from(["", " on(job, instance)", " ignoring(le)"]), children),
        st.builds(lambda a, o, n: f"{a} {o} {n}", children, st.sampled_from(BINOPS[:12]), numbers),
        st.builds(lambda f, e: f"{f}({e})", st.sampled_from(["abs", "ceil", "sqrt", "ln", "sort", "timestamp", "absent", "sgn", "exp"]), children),
        st.builds(lambda e: f"histogram_quantile(0.9, {e})", children),
        st.builds(lambda e: f'label_replace({e}, "dst", "$1", "job", "(.*)")', children),
        st.builds(lambda e: f"clamp({e}, -1, 5)", children),
    )


typed = st.recursive(st.one_of(selector, st.just("vector(1)"), st.just("time()")), _typed, max_leaves=5)
TOKENS = ["sum", "(", ")", "{", "}", "[", "]", "5m", ":", ",", "by", "on", "offset", "@", "rate", "temp",
          '"', "=~", "+", "/", "bool", "group_left", "1", " ", "#", "\\", "\u00e9", "\x00", "'", "`"]
broken = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=12).map("".join),
    st.builds(lambda e, k: e[: max(0, len(e) - k)], valid_ish, st.integers(1, 5)),
    st.text(max_size=30),
)


def check_envelope(status: int, body: dict[str, Any], engine_crash_ok: bool = True) -> None:
    if body["status"] == "error":
        assert body["errorType"] in ERRORS, body
        assert status == ERRORS[body["errorType"]], (status, body)
        assert isinstance(body["error"], str) and body["error"]
        if not engine_crash_ok:
            assert not body["error"].startswith("unexpected error"), body["error"]
        return
    assert status == 200 and body["status"] == "success"
    data = body["data"]
    kind, result = data["resultType"], data["result"]
    if kind in ("scalar", "string"):
        assert isinstance(result[0], int | float) and isinstance(result[1], str)
        return
    assert kind in ("vector", "matrix"), kind
    for s in result:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in s["metric"].items())
        points = [s["value"]] if kind == "vector" else s["values"]
        for t, v in points:
            assert isinstance(t, int | float)
            float(v)  # "NaN", "+Inf" and "-Inf" parse too


FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(typed | valid_ish | broken)
def test_instant_queries_answer_well_formed_json(expr: str) -> None:
    r = CLIENT.post("/api/v1/query", data={"query": expr, "time": str((T0 + 600_000) / 1000), "timeout": "2s"})
    check_envelope(r.status_code, r.json())


@FUZZ
@given(typed | valid_ish | broken, st.sampled_from(["15", "60", "1m", "7s"]))
def test_range_queries_answer_well_formed_json(expr: str, step: str) -> None:
    params = {"query": expr, "start": str(T0 / 1000), "end": str((T0 + 1_200_000) / 1000), "step": step, "timeout": "2s"}
    r = CLIENT.post("/api/v1/query_range", data=params)
    check_envelope(r.status_code, r.json())


@FUZZ
@example('vector(1) + reqs_total{job="1"}', False)
@given(typed | valid_ish, st.booleans())
def test_engine_never_crashes(expr: str, ranged: bool) -> None:
    if ranged:
        params = {"query": expr, "start": str(T0 / 1000), "end": str((T0 + 1_200_000) / 1000), "step": "60"}
        r = CLIENT.post("/api/v1/query_range", data=params)
    else:
        r = CLIENT.post("/api/v1/query", data={"query": expr, "time": str((T0 + 600_000) / 1000)})
    check_envelope(r.status_code, r.json(), engine_crash_ok=False)


param_values = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["1", "-1", "0", "1e3", "1e400", "NaN", "Inf", "-Inf", "1.5", "2023-11-14T22:13:20Z",
                     "2023-11-14T22:13:20.5+01:00", "9999999999999", "1m", "0s", "1ms", "0.0001", "5m30s", "1y"]),
)


@FUZZ
@given(param_values, param_values, param_values, param_values)
def test_any_range_parameters_answer_well_formed_json(start: str, end: str, step: str, timeout: str) -> None:
    params = {"query": "sum(temp)", "start": start, "end": end, "step": step, "timeout": timeout}
    r = CLIENT.post("/api/v1/query_range", data=params)
    check_envelope(r.status_code, r.json(), engine_crash_ok=False)


@FUZZ
@given(param_values, param_values)
def test_any_instant_parameters_answer_well_formed_json(time: str, timeout: str) -> None:
    r = CLIENT.post("/api/v1/query", data={"query": "rate(reqs_total[5m])", "time": time, "timeout": timeout})
    check_envelope(r.status_code, r.json(), engine_crash_ok=False)


@FUZZ
@given(typed | valid_ish | broken)
def test_format_query_answers_success_or_bad_data(expr: str) -> None:
    r = CLIENT.post("/api/v1/format_query", data={"query": expr})
    body = r.json()
    if body["status"] == "success":
        assert r.status_code == 200 and isinstance(body["data"], str)
    else:
        assert (r.status_code, body["errorType"]) == (400, "bad_data")
        assert body["error"].startswith('invalid parameter "query": ')
