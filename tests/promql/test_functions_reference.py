"""Range-vector functions against a plain per-window transcription of Prometheus 2.42's
Go code, over random series with resets, gaps, NaN and Inf, at many steps at once.

The vectorised implementations must agree exactly (same operation order) with these
one-window-at-a-time loops, for every series and every step of a range query.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import numpy as np
import pytest

from sloguard.labels import Labels
from sloguard.promql.testscript import default_engine
from sloguard.tsdb.testing import MemoryStorage

Window = list[tuple[int, float]]


def _kahan(inc: float, s: float, c: float) -> tuple[float, float]:
    t = s + inc
    c += (s - t) + inc if abs(s) >= abs(inc) else (inc - t) + s
    return t, c


def _extrapolated(w: Window, start: int, end: int, rng_ms: int, counter: bool, is_rate: bool) -> float | None:
    if len(w) < 2:
        return None
    result = w[-1][1] - w[0][1]
    if counter:
        prev = w[0][1]
        for _, v in w[1:]:
            if v < prev:
                result += prev
            prev = v
    to_start = (w[0][0] - start) / 1000
    to_end = (end - w[-1][0]) / 1000
    sampled = (w[-1][0] - w[0][0]) / 1000
    avg = sampled / (len(w) - 1)
    if counter and result > 0 and w[0][1] >= 0:
        to_zero = sampled * (w[0][1] / result)
        if to_zero < to_start:
            to_start = to_zero
    thr = avg * 1.1
    interval = sampled
    interval += to_start if to_start < thr else avg / 2
    interval += to_end if to_end < thr else avg / 2
    factor = interval / sampled
    if is_rate:
        factor /= rng_ms / 1000  # one combined factor, as Go does (checked with real promtool)
    return result * factor


def _sum(w: Window) -> float:
    s = c = 0.0
    for _, v in w:
        s, c = _kahan(v, s, c)
    return s if math.isinf(s) else s + c


def _avg(w: Window) -> float:
    mean = count = c = 0.0
    for _, v in w:
        count += 1
        if math.isinf(mean):
            if math.isinf(v) and (mean > 0) == (v > 0):
                continue
            if not math.isinf(v) and not math.isnan(v):
                continue
        mean, c = _kahan(v / count - mean / count, mean, c)
    return mean if math.isinf(mean) else mean + c


def _stdvar(w: Window) -> float:
    count = mean = cm = aux = ca = 0.0
    for _, v in w:
        count += 1
        d = v - (mean + cm)
        mean, cm = _kahan(d / count, mean, cm)
        aux, ca = _kahan(d * (v - (mean + cm)), aux, ca)
    return (aux + ca) / count


def _max(w: Window) -> float:
    m = w[0][1]
    for _, v in w:
        if v > m or math.isnan(m):
            m = v
    return m


def _min(w: Window) -> float:
    m = w[0][1]
    for _, v in w:
        if v < m or math.isnan(m):
            m = v
    return m


def _changes(w: Window) -> float:
    n, prev = 0, w[0][1]
    for _, v in w[1:]:
        if v != prev and not (math.isnan(v) and math.isnan(prev)):
            n += 1
        prev = v
    return float(n)


def _resets(w: Window) -> float:
    n, prev = 0, w[0][1]
    for _, v in w[1:]:
        n += v < prev
        prev = v
    return float(n)


def _irate(w: Window, is_rate: bool) -> float | None:
    if len(w) < 2:
        return None
    (t0, v0), (t1, v1) = w[-2], w[-1]
    r = v1 if is_rate and v1 < v0 else v1 - v0
    return r / ((t1 - t0) / 1000) if is_rate else r


def _holt_winters(w: Window, sf: float, tf: float) -> float | None:
    if len(w) < 2:
        return None
    s0, s1, b = 0.0, w[0][1], w[1][1] - w[0][1]
    for i in range(1, len(w)):
        x = sf * w[i][1]
        if i - 1 != 0:
            b = tf * (s1 - s0) + (1 - tf) * b
        y = (1 - sf) * (s1 + b)
        s0, s1 = s1, x + y
    return s1


def _deriv(w: Window) -> float | None:
    if len(w) < 2:
        return None
    n = sx = cx = sy = cy = sxy = cxy = sx2 = cx2 = 0.0
    const = True
    for i, (t, v) in enumerate(w):
        if i > 0 and v != w[0][1]:
            const = False
        n += 1
        x = (t - w[0][0]) / 1e3
        sx, cx = _kahan(x, sx, cx)
        sy, cy = _kahan(v, sy, cy)
        sxy, cxy = _kahan(x * v, sxy, cxy)
        sx2, cx2 = _kahan(x * x, sx2, cx2)
    if const:
        return math.nan if math.isinf(w[0][1]) else 0.0
    sx, sy, sxy, sx2 = sx + cx, sy + cy, sxy + cxy, sx2 + cx2
    return (sxy - sx * sy / n) / (sx2 - sx * sx / n)


RANGE_MS = 150_000
REFERENCE: dict[str, Callable[[Window, int, int], float | None]] = {
    "rate": lambda w, s, e: _extrapolated(w, s, e, RANGE_MS, True, True),
    "increase": lambda w, s, e: _extrapolated(w, s, e, RANGE_MS, True, False),
    "delta": lambda w, s, e: _extrapolated(w, s, e, RANGE_MS, False, False),
    "irate": lambda w, s, e: _irate(w, True),
    "idelta": lambda w, s, e: _irate(w, False),
    "sum_over_time": lambda w, s, e: _sum(w),
    "avg_over_time": lambda w, s, e: _avg(w),
    "stdvar_over_time": lambda w, s, e: _stdvar(w),
    "max_over_time": lambda w, s, e: _max(w),
    "min_over_time": lambda w, s, e: _min(w),
    "count_over_time": lambda w, s, e: float(len(w)),
    "changes": lambda w, s, e: _changes(w),
    "resets": lambda w, s, e: _resets(w),
    "deriv": lambda w, s, e: _deriv(w),
    "last_over_time": lambda w, s, e: w[-1][1],
}


def _series(rnd: random.Random) -> tuple[list[int], list[float]]:
    ts, vs, t, v = [], [], 0, rnd.uniform(0, 10)
    for _ in range(rnd.randint(0, 60)):
        t += rnd.choice([5_000, 10_000, 10_000, 15_000, 60_000, 200_000])
        r = rnd.random()
        v = (rnd.uniform(0, 3) if r < 0.1 else v + rnd.choice([0.0, 0.5, rnd.uniform(0, 9)])) if r < 0.9 else rnd.choice([math.nan, math.inf, -math.inf, -v])
        ts.append(t)
        vs.append(v)
    return ts, vs


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("func", sorted(REFERENCE))
def test_matches_per_window_reference(func: str, seed: int) -> None:
    rnd = random.Random(seed)
    st = MemoryStorage()
    data = {}
    for i in range(4):
        ts, vs = _series(rnd)
        if ts:
            data[str(i)] = (ts, vs)
            st.add(Labels.of(name__="m", i=str(i)), ts, vs)
    eng = default_engine(st)
    start, end, step = 0, 1_500_000, 7_000
    res = eng.range_query(f"{func}(m[{RANGE_MS}ms])", start, end, step)
    got = {s.labels.get("i"): dict(zip(s.timestamps.tolist(), s.values.tolist(), strict=True)) for s in res.value}
    for i, (ts, vs) in data.items():
        for t in range(start, end + 1, step):
            w = [(a, b) for a, b in zip(ts, vs, strict=True) if t - RANGE_MS <= a <= t]
            want = REFERENCE[func](w, t - RANGE_MS, t) if w else None
            have = got.get(i, {}).get(t)
            assert (want is None) == (have is None), (func, i, t, want, have)
            if want is not None and have is not None:
                assert _same(want, have), (func, i, t, want, have)


@pytest.mark.parametrize("seed", range(3))
def test_holt_winters_matches_reference(seed: int) -> None:
    rnd = random.Random(seed)
    ts, vs = _series(rnd)
    st = MemoryStorage()
    if ts:
        st.add(Labels.of(name__="m"), ts, vs)
    res = default_engine(st).range_query("holt_winters(m[2m], 0.3, 0.7)", 0, 900_000, 10_000)
    got = {int(t): v for s in res.value for t, v in zip(s.timestamps.tolist(), s.values.tolist(), strict=True)}
    for t in range(0, 900_001, 10_000):
        w = [(a, b) for a, b in zip(ts, vs, strict=True) if t - 120_000 <= a <= t]
        want = _holt_winters(w, 0.3, 0.7)
        assert (want is None) == (t not in got)
        if want is not None:
            assert _same(want, got[t]) or np.isclose(want, got[t], rtol=1e-15)


LONG_FUNCS = ["sum_over_time", "avg_over_time", "stdvar_over_time", "deriv"]


@pytest.mark.parametrize("func", LONG_FUNCS)
@pytest.mark.parametrize("special", [None, math.inf, -math.inf, math.nan, "both_inf", "const", "huge"])
def test_few_long_windows_agree_with_reference(func: str, special: object) -> None:
    """Instant queries over long ranges take the blocked path; values agree with Go's loop
    to ~1e-12 relative, and Inf/NaN/constant outcomes exactly."""
    rnd = random.Random(hash((func, str(special))) & 0xFFFF)
    n = 3000
    ts = [i * 15_000 for i in range(n)]
    vs = [rnd.uniform(-50, 150) for _ in range(n)]
    if special == "const":
        vs = [1.5990505637277868] * n
    elif special == "huge":
        vs = [9.988465674311579e307] * n
    elif special == "both_inf":
        vs[100], vs[2000] = math.inf, -math.inf
    elif isinstance(special, float):
        vs[1234] = special
    st = MemoryStorage()
    st.add(Labels.of(name__="m"), ts, vs)
    t = ts[-1]
    res = default_engine(st).instant_query(f"{func}(m[1d])", t)
    (have,) = [s.v for s in res.value]  # type: ignore[union-attr]
    w = [(a, b) for a, b in zip(ts, vs, strict=True) if t - 86_400_000 <= a <= t]
    want = REFERENCE[func](w, 0, t) if func in REFERENCE else _stdvar(w)
    assert want is not None
    if math.isnan(want) or math.isinf(want) or want == 0:
        assert _same(want, have), (want, have)
    else:
        assert abs(have - want) <= 1e-12 * abs(want), (want, have)
