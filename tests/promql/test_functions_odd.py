"""Odd inputs to every kind of function (NaN/Inf arguments and samples, invalid factors
and label names, Unicode regex classes, out-of-range timestamps, malformed buckets) as a
``.test`` script. Its expectations were recorded from sloguard and checked to be exactly
what a real Prometheus 2.42 answers (re-checked by the peer test when installed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sloguard.promql.testscript import Outcome, parse_script, run_script
from tests._net import free_port

SCRIPT = """\
load 10s
  a{i="1"} 1 2 3 4 5 6 7
  a{i="2"} -1 NaN 3 Inf -4 0 -0.5
  b 0 1 NaN 1 1 NaN NaN
  hb_bucket{le="0.1"} NaN NaN NaN NaN NaN NaN NaN
  hb_bucket{le="1"} 1 1 1 1 1 1 1
  hb_bucket{le="+Inf"} 2 2 2 2 2 2 2
  hc_bucket{le="1"} 5 5 5 5 5 5 5
  hc_bucket{le="+Inf"} 2 2 2 2 2 2 2
  hd_bucket{le="-Inf"} 1 1 1 1 1 1 1
  hd_bucket{le="+Inf"} 2 2 2 2 2 2 2
  he_bucket{le="NaN"} 1 1 1 1 1 1 1
  he_bucket{le="+Inf"} 2 2 2 2 2 2 2
  ts 1e12 -1e12 9.2e18 -9.3e18 0.5 -0.5 1700000000

eval instant at 1m quantile_over_time(NaN, a[1m])
  {i="1"} NaN
  {i="2"} NaN

eval instant at 35s quantile_over_time(NaN, a[1m])
  {i="1"} NaN
  {i="2"} NaN

eval instant at 1m quantile_over_time(scalar(b), a[1m])
  {i="1"} NaN
  {i="2"} NaN

eval instant at 35s quantile_over_time(scalar(b), a[1m])
  {i="1"} 4.0
  {i="2"} NaN

eval instant at 1m round(a, 0)
  {i="1"} NaN
  {i="2"} NaN

eval instant at 35s round(a, 0)
  {i="1"} NaN
  {i="2"} NaN

eval instant at 1m round(a, -2)
  {i="1"} 6.0
  {i="2"} -0.0

eval instant at 35s round(a, -2)
  {i="1"} 4.0
  {i="2"} +Inf

eval instant at 1m round(a, NaN)
  {i="1"} NaN
  {i="2"} NaN

eval instant at 35s round(a, NaN)
  {i="1"} NaN
  {i="2"} NaN

eval instant at 1m clamp(a, NaN, NaN)
  {i="1"} NaN
  {i="2"} NaN

eval instant at 35s clamp(a, NaN, NaN)
  {i="1"} NaN
  {i="2"} NaN

eval instant at 1m clamp_min(a, NaN)
  {i="1"} NaN
  {i="2"} NaN

eval instant at 35s clamp_min(a, NaN)
  {i="1"} NaN
  {i="2"} +Inf

eval_fail instant at 1m holt_winters(a[1m], 0, 0.5)

eval_fail instant at 35s holt_winters(a[1m], 0, 0.5)

eval_fail instant at 1m holt_winters(a[1m], 0.5, 1)

eval_fail instant at 35s holt_winters(a[1m], 0.5, 1)

eval instant at 1m holt_winters(nothing[1m], 0, 0)

eval instant at 35s holt_winters(nothing[1m], 0, 0)

eval instant at 1m label_replace(a, "x", "$1", "i", "(\\\\pN)")
  a{i="1", x="1"} 7.0
  a{i="2", x="2"} -0.5

eval instant at 35s label_replace(a, "x", "$1", "i", "(\\\\pN)")
  a{i="1", x="1"} 4.0
  a{i="2", x="2"} +Inf

eval_fail instant at 1m label_join(a, "1x", ",", "i")

eval_fail instant at 35s label_join(a, "1x", ",", "i")

eval_fail instant at 1m label_join(a, "x", ",", "1i")

eval_fail instant at 35s label_join(a, "x", ",", "1i")

eval instant at 1m histogram_quantile(0.5, hb_bucket)
  {} NaN

eval instant at 35s histogram_quantile(0.5, hb_bucket)
  {} NaN

eval instant at 1m histogram_quantile(0.5, hc_bucket)
  {} 0.5

eval instant at 35s histogram_quantile(0.5, hc_bucket)
  {} 0.5

eval instant at 1m histogram_quantile(0.3, hd_bucket)
  {} -Inf

eval instant at 35s histogram_quantile(0.3, hd_bucket)
  {} -Inf

eval instant at 1m histogram_quantile(0.7, hd_bucket)
  {} -Inf

eval instant at 35s histogram_quantile(0.7, hd_bucket)
  {} -Inf

eval instant at 1m histogram_quantile(0.5, he_bucket)
  {} NaN

eval instant at 35s histogram_quantile(0.5, he_bucket)
  {} NaN

eval instant at 1m histogram_quantile(NaN, hc_bucket)
  {} NaN

eval instant at 35s histogram_quantile(NaN, hc_bucket)
  {} NaN

eval instant at 1m days_in_month()
  {} 31.0

eval instant at 35s days_in_month()
  {} 31.0

eval instant at 1m timestamp(timestamp(a))
  {i="1"} 60.0
  {i="2"} 60.0

eval instant at 35s timestamp(timestamp(a))
  {i="1"} 35.0
  {i="2"} 35.0

eval instant at 1m absent(a offset 5m)
  {} 1.0

eval instant at 35s absent(a offset 5m)
  {} 1.0

eval instant at 1m absent(a @ 1000)
  {} 1.0

eval instant at 35s absent(a @ 1000)
  {} 1.0

eval instant at 1m scalar(vector(1))
  1.0

eval instant at 35s scalar(vector(1))
  1.0

eval instant at 1m sgn(a)
  {i="1"} 1.0
  {i="2"} -1.0

eval instant at 35s sgn(a)
  {i="1"} 1.0
  {i="2"} 1.0

eval instant at 1m deg(a)
  {i="1"} 401.07045659157626
  {i="2"} -28.64788975654116

eval instant at 35s deg(a)
  {i="1"} 229.1831180523293
  {i="2"} +Inf

eval instant at 1m rad(a)
  {i="1"} 0.12217304763960307
  {i="2"} -0.008726646259971648

eval instant at 35s rad(a)
  {i="1"} 0.06981317007977318
  {i="2"} +Inf

eval instant at 1m ln(a)
  {i="1"} 1.9459101490553132
  {i="2"} NaN

eval instant at 35s ln(a)
  {i="1"} 1.3862943611198906
  {i="2"} +Inf

eval instant at 1m sqrt(a)
  {i="1"} 2.6457513110645907
  {i="2"} NaN

eval instant at 35s sqrt(a)
  {i="1"} 2.0
  {i="2"} +Inf

eval instant at 1m exp(a * 1000)
  {i="1"} +Inf
  {i="2"} 7.124576406741286e-218

eval instant at 35s exp(a * 1000)
  {i="1"} +Inf
  {i="2"} +Inf

eval instant at 1m log2(a)
  {i="1"} 2.807354922057604
  {i="2"} NaN

eval instant at 35s log2(a)
  {i="1"} 2.0
  {i="2"} +Inf

eval instant at 1m log10(a)
  {i="1"} 0.8450980400142568
  {i="2"} NaN

eval instant at 35s log10(a)
  {i="1"} 0.6020599913279624
  {i="2"} +Inf

eval instant at 1m acosh(a)
  {i="1"} 2.6339157938496336
  {i="2"} NaN

eval instant at 35s acosh(a)
  {i="1"} 2.0634370688955603
  {i="2"} +Inf

eval instant at 1m atanh(a)
  {i="1"} NaN
  {i="2"} -0.5493061443340549

eval instant at 35s atanh(a)
  {i="1"} NaN
  {i="2"} NaN

eval instant at 1m asin(a)
  {i="1"} NaN
  {i="2"} -0.5235987755982989

eval instant at 35s asin(a)
  {i="1"} NaN
  {i="2"} NaN

eval instant at 1m year(ts)
  {} 2023.0

eval instant at 35s year(ts)
  {} 292277026596.0

eval instant at 1m month(ts)
  {} 11.0

eval instant at 35s month(ts)
  {} 12.0

eval instant at 1m hour(ts)
  {} 22.0

eval instant at 35s hour(ts)
  {} 15.0

eval instant at 1m minute(ts)
  {} 13.0

eval instant at 35s minute(ts)
  {} 30.0

eval instant at 1m day_of_week(ts)
  {} 2.0

eval instant at 35s day_of_week(ts)
  {} 0.0

eval instant at 1m day_of_year(ts)
  {} 318.0

eval instant at 35s day_of_year(ts)
  {} 339.0

eval instant at 1m days_in_month(ts)
  {} 30.0

eval instant at 35s days_in_month(ts)
  {} 31.0

eval instant at 1m day_of_month(ts)
  {} 14.0

eval instant at 35s day_of_month(ts)
  {} 4.0

eval instant at 1m changes(b[1m])
  {} 4.0

eval instant at 35s changes(b[1m])
  {} 3.0

eval instant at 1m resets(b[1m])
  {} 0.0

eval instant at 35s resets(b[1m])
  {} 0.0

eval instant at 1m deriv(b[1m])
  {} NaN

eval instant at 35s deriv(b[1m])
  {} NaN

eval instant at 1m predict_linear(b[1m], 10)
  {} NaN

eval instant at 35s predict_linear(b[1m], 10)
  {} NaN

eval instant at 1m stdvar_over_time(b[1m])
  {} NaN

eval instant at 35s stdvar_over_time(b[1m])
  {} NaN

eval instant at 1m avg_over_time(b[1m])
  {} NaN

eval instant at 35s avg_over_time(b[1m])
  {} NaN

eval instant at 1m sum_over_time(b[1m])
  {} NaN

eval instant at 35s sum_over_time(b[1m])
  {} NaN

eval instant at 1m rate(b[1m])
  {} NaN

eval instant at 35s rate(b[1m])
  {} 0.019444444444444445

eval instant at 1m irate(b[1m])
  {} NaN

eval instant at 35s irate(b[1m])
  {} NaN

eval instant at 1m delta(b[1m])
  {} NaN

eval instant at 35s delta(b[1m])
  {} 1.3333333333333333

eval instant at 1m idelta(b[1m])
  {} NaN

eval instant at 35s idelta(b[1m])
  {} NaN

eval instant at 1m min_over_time(b[1m])
  {} 0.0

eval instant at 35s min_over_time(b[1m])
  {} 0.0

eval instant at 1m predict_linear(a[1m], -30)
  {i="1"} 4.0
  {i="2"} NaN

eval instant at 35s predict_linear(a[1m], -30)
  {i="1"} 1.5
  {i="2"} NaN

eval instant at 1m deriv(a[30s])
  {i="1"} 0.1
  {i="2"} NaN

eval instant at 35s deriv(a[30s])
  {i="1"} 0.1
  {i="2"} NaN

eval instant at 1m absent_over_time(a[1m] offset 10m)
  {} 1.0

eval instant at 35s absent_over_time(a[1m] offset 10m)
  {} 1.0

eval instant at 1m present_over_time(a[1m] @ 0)
  {i="1"} 1.0
  {i="2"} 1.0

eval instant at 35s present_over_time(a[1m] @ 0)
  {i="1"} 1.0
  {i="2"} 1.0

eval instant at 1m vector(1) + time()
  {} 61.0

eval instant at 35s vector(1) + time()
  {} 36.0

eval instant at 1m max_over_time(a[1m])
  {i="1"} 7.0
  {i="2"} +Inf

eval instant at 35s max_over_time(a[1m])
  {i="1"} 4.0
  {i="2"} +Inf

eval instant at 1m min_over_time(a[1m])
  {i="1"} 1.0
  {i="2"} -4.0

eval instant at 35s min_over_time(a[1m])
  {i="1"} 1.0
  {i="2"} -1.0

eval instant at 1m quantile_over_time(0.5, a[1m])
  {i="1"} 4.0
  {i="2"} -0.5

eval instant at 35s quantile_over_time(0.5, a[1m])
  {i="1"} 2.5
  {i="2"} 1.0

eval instant at 1m stddev_over_time(a[1m])
  {i="1"} 2.0
  {i="2"} NaN

eval instant at 35s stddev_over_time(a[1m])
  {i="1"} 1.118033988749895
  {i="2"} NaN

eval instant at 1m clamp(a, 3, 1)

eval instant at 35s clamp(a, 3, 1)

eval instant at 1m clamp_max(a, 2)
  {i="1"} 2.0
  {i="2"} -0.5

eval instant at 35s clamp_max(a, 2)
  {i="1"} 2.0
  {i="2"} 2.0

eval instant at 1m abs(-a)
  {i="1"} 7.0
  {i="2"} 0.5

eval instant at 35s abs(-a)
  {i="1"} 4.0
  {i="2"} +Inf

eval instant at 1m ceil(a / 3)
  {i="1"} 3.0
  {i="2"} -0.0

eval instant at 35s ceil(a / 3)
  {i="1"} 2.0
  {i="2"} +Inf

eval instant at 1m floor(a / 3)
  {i="1"} 2.0
  {i="2"} -1.0

eval instant at 35s floor(a / 3)
  {i="1"} 1.0
  {i="2"} +Inf

eval instant at 1m round(a / 3, 0.1)
  {i="1"} 2.3
  {i="2"} -0.2

eval instant at 35s round(a / 3, 0.1)
  {i="1"} 1.3
  {i="2"} +Inf

eval instant at 1m rate(a[1m])
  {i="1"} 0.1
  {i="2"} +Inf

eval instant at 35s rate(a[1m])
  {i="1"} 0.07500000000000001
  {i="2"} +Inf

eval instant at 1m increase(a[1m])
  {i="1"} 6.0
  {i="2"} +Inf

eval instant at 35s increase(a[1m])
  {i="1"} 4.5
  {i="2"} +Inf

eval instant at 1m histogram_count(a)

eval instant at 35s histogram_count(a)

eval instant at 1m histogram_sum(a)

eval instant at 35s histogram_sum(a)

eval instant at 1m histogram_fraction(0, 1, a)

eval instant at 35s histogram_fraction(0, 1, a)

eval instant at 1m pi() * 2
  6.283185307179586

eval instant at 35s pi() * 2
  6.283185307179586

eval instant at 1m time()
  60.0

eval instant at 35s time()
  35.0

eval instant at 1m timestamp(a offset -20s)
  {i="1"} 60.0
  {i="2"} 60.0

eval instant at 35s timestamp(a offset -20s)
  {i="1"} 50.0
  {i="2"} 50.0
"""

_RESULTS = {r.line: r for r in run_script(parse_script(SCRIPT, "odd.test"))}
_ORACLE = Path(__file__).resolve().parents[3] / "shared" / "tools" / "promql_live_oracle.py"


@pytest.mark.parametrize("line", sorted(_RESULTS), ids=[f"odd.test:{n}" for n in sorted(_RESULTS)])
def test_odd_eval(line: int) -> None:
    r = _RESULTS[line]
    assert r.outcome is Outcome.PASSED, f"{r.where} {r.expr}: {r.message}"


@pytest.mark.peer
@pytest.mark.slow
def test_odd_expectations_hold_on_real_prometheus(tmp_path: Path) -> None:
    if not (shutil.which("prometheus") and shutil.which("promtool")):
        pytest.skip("prometheus/promtool not on PATH")
    if not _ORACLE.is_file():
        pytest.skip(f"live oracle script not found at {_ORACLE}")
    path = tmp_path / "odd.test"
    path.write_text(SCRIPT)
    out = subprocess.run([sys.executable, str(_ORACLE), "--port", str(free_port()), str(path)], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip().endswith("0 failed, 0 skipped"), out.stdout + out.stderr
