"""Data set and queries for the differential test against a real Prometheus.

The data: 3 h of 15 s samples (with millisecond jitter) of counters with resets, gauges
with gaps and NaNs, series that start late or stop early, and a classic histogram. The
queries: hand-picked ones plus ones generated from templates at random (seeded) times
and steps. Everything is deterministic, so a failing case id names the same query every
run. The tests here only check the generator itself.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import promql_parser
import pytest

END_S = 1_700_000_000
SPAN_S = 3 * 3600
START_S = END_S - SPAN_S
SCRAPE_S = 15
LES = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"]

Sample = tuple[int, float]  # (ms, value)


@dataclass(frozen=True, slots=True)
class GenSeries:
    labels: dict[str, str]
    samples: list[Sample]


@dataclass(frozen=True, slots=True)
class Case:
    """An instant query (``step`` 0, ``start == end``) or a range query; times in ms."""

    expr: str
    start: int
    end: int
    step: int

    @property
    def id(self) -> str:
        kind = f"range[{self.start // 1000}..{self.end // 1000}/{self.step}ms]" if self.step else f"at[{self.start}]"
        return f"{self.expr} {kind}"


def _times(rnd: random.Random, gaps: list[tuple[int, int]] = ()) -> list[int]:  # type: ignore[assignment]
    out = []
    for k in range(SPAN_S // SCRAPE_S + 1):
        t = (START_S + k * SCRAPE_S) * 1000 + rnd.randint(0, 400)
        if any(a <= t // 1000 - START_S < b for a, b in gaps):
            continue
        out.append(t)
    return out


def _counter(rnd: random.Random, labels: dict[str, str], rate: float, resets: int, gaps: list[tuple[int, int]]) -> GenSeries:
    ts = _times(rnd, gaps)
    reset_at = set(rnd.sample(range(10, len(ts) - 10), resets))
    v, out = rnd.uniform(0, 100), []
    for i, t in enumerate(ts):
        v = rnd.uniform(0, 5) if i in reset_at else v + rnd.uniform(0, 2 * rate * SCRAPE_S)
        out.append((t, round(v, 3)))
    return GenSeries(labels, out)


def _gauge(rnd: random.Random, labels: dict[str, str], gaps: list[tuple[int, int]], nan_every: int = 0) -> GenSeries:
    ts = _times(rnd, gaps)
    v, out = rnd.uniform(10, 30), []
    for i, t in enumerate(ts):
        v += rnd.gauss(0, 0.5)
        out.append((t, math.nan if nan_every and i % nan_every == nan_every - 1 else round(v, 4)))
    return GenSeries(labels, out)


def _histogram(rnd: random.Random, labels: dict[str, str]) -> list[GenSeries]:
    ts = _times(rnd)
    fr = [0.4, 0.6, 0.8, 0.9, 0.96, 0.99, 1.0]
    counts = [0.0] * len(LES)
    total_sum = 0.0
    per_le: list[list[Sample]] = [[] for _ in LES]
    sums, cnts = [], []
    for t in ts:
        n = rnd.randint(0, 40)
        for j in range(len(LES)):
            counts[j] += round(n * fr[j])
            per_le[j].append((t, counts[j]))
        total_sum += n * rnd.uniform(0.05, 0.4)
        sums.append((t, round(total_sum, 4)))
        cnts.append((t, counts[-1]))
    name = "diff_latency_seconds"
    out = [GenSeries({"__name__": f"{name}_bucket", **labels, "le": le}, per_le[j]) for j, le in enumerate(LES)]
    out.append(GenSeries({"__name__": f"{name}_sum", **labels}, sums))
    out.append(GenSeries({"__name__": f"{name}_count", **labels}, cnts))
    return out


def generate_series(seed: int = 7) -> list[GenSeries]:
    rnd = random.Random(seed)
    out: list[GenSeries] = []
    for job in ("api", "web"):
        for inst in ("a", "b", "c"):
            for code, rate in (("200", 20.0), ("500", 0.5)):
                gaps = [(3600, 4500)] if (job, inst) == ("web", "b") else []
                resets = 2 if inst == "a" else (1 if inst == "b" else 0)
                labels = {"__name__": "diff_requests_total", "job": job, "instance": inst, "code": code}
                out.append(_counter(rnd, labels, rate, resets, gaps))
            out.extend(_histogram(rnd, {"job": job, "instance": inst}))
    for inst in ("a", "b", "c", "d"):
        gaps = [(1800, 2400), (7000, 7300)] if inst == "c" else []
        out.append(_gauge(rnd, {"__name__": "diff_temperature", "instance": inst, "job": "api" if inst < "c" else "web"}, gaps, nan_every=97 if inst == "d" else 0))
    late = _gauge(rnd, {"__name__": "diff_late_gauge", "instance": "a"}, [(0, 5400)])
    early = _gauge(rnd, {"__name__": "diff_early_gauge", "instance": "a"}, [(5400, SPAN_S + 1)])
    out.extend([late, early])
    return out


def _fmt(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)


def _sel(labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return labels["__name__"] + ("{" + inner + "}" if inner else "")


def to_openmetrics(series: list[GenSeries]) -> str:
    """All samples in OpenMetrics text (untyped families, grouped by metric name)."""
    lines: list[str] = []
    for s in sorted(series, key=lambda s: (s.labels["__name__"], sorted(s.labels.items()))):
        sel = _sel(s.labels)
        lines.extend(f"{sel} {_fmt(v)} {t // 1000}.{t % 1000:03d}" for t, v in s.samples)
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


HAND_PICKED = [
    "diff_requests_total", 'diff_requests_total{code="500"}', 'diff_requests_total{job=~"api|web",code!="200"}',
    "diff_temperature", "diff_temperature offset 5m", "diff_temperature offset -10m",
    f"diff_temperature @ {END_S - 3600}", "diff_temperature @ start()", "diff_temperature @ end()",
    "rate(diff_requests_total[5m])", "rate(diff_requests_total[1m])", "irate(diff_requests_total[5m])",
    "increase(diff_requests_total[10m])", "increase(diff_requests_total[1h])", "resets(diff_requests_total[1h])",
    "changes(diff_temperature[10m])", "delta(diff_temperature[10m])", "idelta(diff_temperature[5m])",
    "deriv(diff_temperature[10m])", "predict_linear(diff_temperature[10m], 600)",
    "holt_winters(diff_temperature[10m], 0.5, 0.5)",
    "rate(diff_requests_total[5m] offset 10m)", f"rate(diff_requests_total[5m] @ {END_S - 1800})",
    'sum by (job) (rate(diff_requests_total{code="500"}[5m])) / sum by (job) (rate(diff_requests_total[5m]))',
    "sum without (instance) (rate(diff_requests_total[5m]))", "avg by (code) (rate(diff_requests_total[5m]))",
    "count by (job) (diff_requests_total)", "group by (job) (diff_requests_total)",
    "stddev by (job) (diff_temperature)", "stdvar(diff_temperature)", "min(diff_temperature)", "max by (job) (diff_temperature)",
    "topk(2, diff_temperature)", "bottomk(2, rate(diff_requests_total[5m]))", "quantile(0.9, diff_temperature)",
    'count_values("value", round(diff_temperature))',
    "histogram_quantile(0.9, sum by (le) (rate(diff_latency_seconds_bucket[5m])))",
    "histogram_quantile(0.5, sum by (le, job) (rate(diff_latency_seconds_bucket[10m])))",
    "histogram_quantile(0.99, rate(diff_latency_seconds_bucket[5m]))",
    "rate(diff_latency_seconds_sum[5m]) / rate(diff_latency_seconds_count[5m])",
    "max_over_time(rate(diff_requests_total[5m])[30m:1m])", "avg_over_time(diff_temperature[30m:])",
    "min_over_time(diff_temperature[20m:2m] offset 10m)", "rate(diff_requests_total[5m:30s])",
    "avg_over_time(diff_temperature[10m])", "min_over_time(diff_temperature[10m])", "max_over_time(diff_temperature[10m])",
    "sum_over_time(diff_temperature[10m])", "count_over_time(diff_temperature[10m])", "last_over_time(diff_temperature[10m])",
    "stddev_over_time(diff_temperature[10m])", "stdvar_over_time(diff_temperature[10m])",
    "quantile_over_time(0.75, diff_temperature[10m])", "present_over_time(diff_temperature[10m])",
    "absent(diff_nonexistent)", 'absent(diff_temperature{instance="nope"})', "absent(diff_temperature)",
    "absent_over_time(diff_late_gauge[10m])", "absent_over_time(diff_early_gauge[10m])",
    "diff_late_gauge", "diff_early_gauge",
    "diff_temperature > 20", "diff_temperature > bool 20", "20 < diff_temperature", "-diff_temperature",
    "diff_temperature * 2 + 1", "diff_temperature % 3", "diff_temperature ^ 2", "2 ^ 3 ^ 2",
    'diff_temperature and diff_temperature{job="api"}', 'diff_temperature or diff_late_gauge',
    'diff_temperature unless on (instance) diff_early_gauge',
    "rate(diff_requests_total[5m]) * on (job, instance) group_left diff_latency_seconds_count",
    "sum by (job, instance) (rate(diff_requests_total[5m])) / ignoring (code) group_left sum by (job, instance) (rate(diff_latency_seconds_count[5m]))",
    "diff_temperature == on (instance) group_right diff_temperature",
    "time()", "vector(1)", "scalar(sum(diff_temperature))", "timestamp(diff_temperature)",
    "hour(diff_temperature)", "minute()", "day_of_week()", "days_in_month(diff_temperature)",
    "abs(-diff_temperature)", "ceil(diff_temperature)", "floor(diff_temperature)", "round(diff_temperature, 0.5)",
    "sqrt(diff_temperature)", "ln(diff_temperature)", "log2(diff_temperature)", "exp(diff_temperature / 10)",
    "clamp(diff_temperature, 15, 25)", "clamp_min(diff_temperature, 20)", "clamp_max(diff_temperature, 20)",
    "sgn(diff_temperature - 20)", "sort(diff_temperature)", "sort_desc(diff_temperature)",
    'label_replace(diff_temperature, "host", "h-$1", "instance", "(.*)")',
    'label_join(diff_temperature, "both", "-", "job", "instance")',
    "sin(diff_temperature)", "diff_temperature atan2 10", "pi()", "1 / 0", "-1 / 0", "0 / 0",
    "sum(rate(diff_requests_total[5m])) by (job) > 5", "sum(diff_requests_total) - sum(diff_requests_total offset 1h)",
    "diff_temperature + diff_nonexistent", 'sum(rate(diff_requests_total{code="503"}[5m])) / sum(rate(diff_requests_total[5m]))',
    "diff_late_gauge - on (instance) diff_early_gauge", "count(diff_nonexistent) or vector(0)",
    "diff_temperature[5m]", "diff_temperature[1m] offset 3m", "rate(diff_requests_total[5m])[10m:1m]",
    f"diff_requests_total[2m] @ {END_S - 600}", '"a string"', "-(2 * 3)",
]
#: Queries both must refuse, with the same error type and text (positions aside).
HAND_PICKED_ERRORS = [
    "diff_requests_total + on (job) diff_requests_total", "diff_requests_total * on (job) group_left diff_temperature",
    'label_replace(diff_temperature, "a", "b", "instance", "(")', 'label_replace(diff_temperature, "__bad-", "b", "instance", "(.*)")',
    "sum(diff_requests_total) by (job) / on (job) group_left (code) diff_requests_total", 'topk("a", diff_temperature)',
    "quantile_over_time(2, diff_temperature[5m])", "rate(diff_temperature)", "sum(", "{}", 'foo{a=~"("}', "nosuch(1)",
    "diff_temperature offset", "abs(diff_temperature[5m])", "vector(1) and 1", 'count_values("__bad-", diff_temperature)',
    'label_join(diff_temperature, "x", ",", "__name__", "-bad")', 'time() + "a"', "1 +",
    'diff_temperature{job="api"} or on (instance) diff_temperature @ 1e20',
    "max_over_time((time())[1h:1m])", '-("str")', "-(diff_temperature[5m:1m])", "group by (job) (time())",
    "topk()", 'bottomk by (job) (diff_requests_total{__name__=""})', "max without (instance) (0.5, diff_temperature)",
    "time() unless ignoring (le) vector(1)",
]

TEMPLATES = [
    "{f}(diff_requests_total[{r}])", "{f}(diff_requests_total{{code=\"500\"}}[{r}])",
    "{agg} by (job) ({f}(diff_requests_total[{r}]))", "{agg} without (code) ({f}(diff_requests_total[{r}]))",
    "{o}(diff_temperature[{r}])", "{agg}({o}(diff_temperature[{r}]))",
    "histogram_quantile({q}, sum by (le{by}) ({f}(diff_latency_seconds_bucket[{r}])))",
    "{agg} by (instance) (diff_temperature) {op} {n}", "diff_temperature {cmp} {n}",
    "{o}({f}(diff_requests_total[5m])[{r}:{s}])", "{f}(diff_requests_total[{r}] offset {off})",
    'label_replace({f}(diff_requests_total[{r}]), "x", "$1", "instance", "(.)")',
    'count_values("v", round({o}(diff_temperature[{r}])))', "quantile({q}, {f}(diff_requests_total[{r}]))",
    "topk({k}, {f}(diff_requests_total[{r}]))", "bottomk({k}, diff_temperature offset {off})",
    "{f}(diff_requests_total[{r}] @ {at})", "timestamp(diff_temperature offset {off})",
    "{agg} by (job) (diff_temperature) {cmp} on (job) group_left {agg} by (job) (diff_temperature)",
    "predict_linear(diff_temperature[{r}], {n})", "holt_winters(diff_temperature[{r}], 0.3, 0.7)",
    "absent_over_time(diff_late_gauge[{r}])", "{o}(diff_temperature[{r}:{s}] offset {off})",
    "histogram_quantile({q}, {f}(diff_latency_seconds_bucket[{r}]))", "clamp(diff_temperature, {n}, 25)",
    "{f}(diff_requests_total[{r}]) / ignoring (code) group_left sum without (code) ({f}(diff_requests_total[{r}]))",
    "{o}(diff_temperature[{r}]) {op} on (instance) {o}(diff_early_gauge[{r}])",
]
_FILL = {
    "f": ["rate", "increase", "irate", "resets", "changes", "delta", "deriv"],
    "r": ["1m", "2m", "5m", "10m", "30m", "1h"],
    "agg": ["sum", "avg", "max", "min", "count", "stddev", "group"],
    "o": ["avg_over_time", "max_over_time", "min_over_time", "sum_over_time", "count_over_time", "last_over_time", "stddev_over_time"],
    "q": ["0.5", "0.9", "0.99", "0", "1"], "by": ["", ", job", ", instance"],
    "op": ["+", "-", "*", "/", "%"], "cmp": [">", "<=", "!=", "> bool", "== bool"],
    "n": ["0", "1", "20", "0.5"], "s": ["30s", "1m", "2m"], "off": ["1m", "7m", "1h", "-5m"],
    "k": ["1", "3", "0"], "at": ["start()", "end()", str(END_S - 3600), str(END_S + 600)],
}
STEPS_MS = [15_000, 30_000, 60_000, 17_000, 300_000, 60_500]


def _random_expr(rnd: random.Random) -> str:
    template = rnd.choice(TEMPLATES)
    return template.format(**{k: rnd.choice(v) for k, v in _FILL.items()})


def _instant_time(rnd: random.Random) -> int:
    return (START_S + rnd.randint(-600, SPAN_S + 900)) * 1000 + rnd.choice([0, 0, 250, 999])


def _range(rnd: random.Random, expr: str) -> Case:
    step = rnd.choice(STEPS_MS)
    start = _instant_time(rnd)
    end = min(start + step * rnd.randint(1, 120), (END_S + 1800) * 1000)
    return Case(expr, start, max(start, end), step)


def generate_cases(seed: int = 11) -> list[Case]:
    rnd = random.Random(seed)
    cases: list[Case] = []
    for expr in HAND_PICKED_ERRORS:
        t = _instant_time(rnd)
        cases.append(Case(expr, t, t, 0))
    for expr in HAND_PICKED:
        t = _instant_time(rnd)
        cases.append(Case(expr, t, t, 0))
        cases.append(_range(rnd, expr))
    for _ in range(320):
        expr = _random_expr(rnd)
        if rnd.random() < 0.5:
            t = _instant_time(rnd)
            cases.append(Case(expr, t, t, 0))
        else:
            cases.append(_range(rnd, expr))
    return cases


def test_every_generated_expression_parses() -> None:
    for case in generate_cases():
        if "holt_winters" not in case.expr and case.expr not in HAND_PICKED_ERRORS:
            promql_parser.parse(case.expr)  # (promql-parser lacks holt_winters; the engine adds it)


def test_generation_is_deterministic_and_sized_for_a_few_hundred_queries() -> None:
    a, b = generate_cases(), generate_cases()
    assert a == b
    assert 400 <= len(a) <= 800
    assert len({c.id for c in a}) == len(a)


@pytest.mark.parametrize("seed", [7])
def test_data_has_resets_gaps_and_histograms(seed: int) -> None:
    series = generate_series(seed)
    names = {s.labels["__name__"] for s in series}
    assert {"diff_requests_total", "diff_temperature", "diff_latency_seconds_bucket"} <= names
    resets = sum(any(b[1] < a[1] for a, b in zip(s.samples, s.samples[1:], strict=False)) for s in series if s.labels["__name__"] == "diff_requests_total")
    assert resets >= 4
    gappy = [s for s in series if any(b[0] - a[0] > 300_000 for a, b in zip(s.samples, s.samples[1:], strict=False))]
    assert gappy
    text = to_openmetrics(series)
    assert text.endswith("# EOF\n")


# --- staleness: written through remote write (OpenMetrics cannot carry stale markers) ---

STALE_START_S = END_S + 3600
STALE_SPAN_S = 3600
STALE = "stale"  # marker in GenSeries samples: the value is Prometheus' stale NaN


def generate_stale_series(seed: int = 5) -> list[GenSeries]:
    """Series after the backfilled range that go stale (and some come back)."""
    rnd = random.Random(seed)
    n = STALE_SPAN_S // SCRAPE_S
    # per series: (name, instance, stale from step, resume at step or None)
    plans = [("diff_stale_gauge", "a", 80, 120), ("diff_stale_gauge", "b", 160, None),
             ("diff_stale_gauge", "c", 40, 41), ("diff_stale_counter_total", "a", 100, 140),
             ("diff_stale_counter_total", "b", 200, None)]
    out = []
    for name, inst, stale_at, resume in plans:
        v, samples = rnd.uniform(0, 50), []
        for k in range(n):
            t = (STALE_START_S + k * SCRAPE_S) * 1000 + rnd.randint(0, 300)
            if k == stale_at:
                samples.append((t, math.nan))  # replaced by the stale marker when written
                continue
            if stale_at < k and (resume is None or k < resume):
                continue
            v = v + rnd.uniform(0, 10) if name.endswith("_total") else v + rnd.gauss(0, 1)
            samples.append((t, round(v, 3)))
        out.append(GenSeries({"__name__": name, "instance": inst}, samples))
    return out


STALE_EXPRS = [
    "diff_stale_gauge", "diff_stale_counter_total", "rate(diff_stale_counter_total[5m])",
    "increase(diff_stale_counter_total[10m])", "count_over_time(diff_stale_gauge[5m])",
    "last_over_time(diff_stale_gauge[5m])", "max_over_time(diff_stale_gauge[10m])",
    "changes(diff_stale_gauge[15m])", "timestamp(diff_stale_gauge)", "sum(diff_stale_gauge)",
    "diff_stale_gauge offset 2m", 'absent(diff_stale_gauge{instance="b"})',
    "max_over_time(diff_stale_gauge[10m:1m])", "count(diff_stale_gauge)", "present_over_time(diff_stale_gauge[2m])",
    "diff_stale_gauge > 0", "resets(diff_stale_counter_total[30m])",
]


def generate_stale_cases(seed: int = 3) -> list[Case]:
    rnd = random.Random(seed)
    cases = []
    for expr in STALE_EXPRS:
        for _ in range(3):
            t = (STALE_START_S + rnd.randint(0, STALE_SPAN_S + 600)) * 1000 + rnd.choice([0, 500])
            cases.append(Case(expr, t, t, 0))
        step = rnd.choice([15_000, 30_000, 60_000])
        start = (STALE_START_S - 300) * 1000
        cases.append(Case(expr, start, start + (STALE_SPAN_S + 900) * 1000 // step * step, step))
    return cases


def test_stale_series_go_stale_and_some_come_back() -> None:
    series = generate_stale_series()
    assert sum(any(math.isnan(v) for _, v in s.samples) for s in series) == len(series)
    assert any(s.samples[-1][0] > (STALE_START_S + STALE_SPAN_S - 60) * 1000 for s in series)
    assert len(generate_stale_cases()) == 4 * len(STALE_EXPRS)
