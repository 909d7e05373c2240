"""Edge cases of the function library as a ``.test`` script whose expectations were
checked against a real Prometheus 2.42 (the peer test below re-checks them when the
binaries are installed): Kahan sums and means, NaN ordering, counter resets and
extrapolation, histogram bucket corner cases, Go regexp template expansion, Go's
date arithmetic for NaN and negative times, sort order, duplicate label sets."""

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
  kahan 1e100 1 -1e100
  tenths 0.1 0.2 -0.3
  const 1.5990505637277868 1.5990505637277868 1.5990505637277868
  withnan 1 NaN 3
  allnan NaN NaN NaN
  counter 5 10 2 8
  nanchanges 1 NaN NaN 2
  down 9 3 7 1

eval instant at 30s sum_over_time(kahan[1m])
  {} 1

eval instant at 30s sum_over_time(tenths[1m])
  {} 2.7755575615628914e-17

eval instant at 30s avg_over_time(tenths[1m])
  {} 1.3877787807814457e-17

eval instant at 30s stdvar_over_time(const[1m])
  {} 0

eval instant at 30s quantile_over_time(0, withnan[1m])
  {} NaN

eval instant at 30s quantile_over_time(0.5, withnan[1m])
  {} 1

eval instant at 30s quantile_over_time(1, withnan[1m])
  {} 3

eval instant at 30s max_over_time(withnan[1m])
  {} 3

eval instant at 30s min_over_time(withnan[1m])
  {} 1

eval instant at 30s max_over_time(allnan[1m])
  {} NaN

eval instant at 30s increase(counter[30s])
  {} 13

eval instant at 35s rate(counter[1m])
  {} 0.28888888888888886

eval instant at 30s irate(counter[1m])
  {} 0.6

eval instant at 20s irate(counter[1m])
  {} 0.2

eval instant at 30s idelta(counter[1m])
  {} 6

eval instant at 30s delta(counter[1m])
  {} 3.5

eval instant at 30s changes(nanchanges[1m])
  {} 2

eval instant at 30s resets(down[1m])
  {} 2

eval instant at 30s deriv(const[1m])
  {} 0

eval instant at 30s predict_linear(counter[1m], 60)
  {} 7

eval instant at 30s holt_winters(counter[1m], 0.5, 0.5)
  {} 9.125

eval instant at 30s last_over_time(counter[1m])
  counter 8

eval instant at 30s absent_over_time(nothing{a="b", c=~"d", e="f", e="g"}[1m])
  {a="b"} 1

clear
load 5m
  h_bucket{le="0.5"} 1
  h_bucket{le="1"} 3
  h_bucket{le="+Inf"} 4
  noinf_bucket{le="0.5"} 1
  noinf_bucket{le="1"} 3
  one_bucket{le="+Inf"} 4
  bad_bucket{le="abc"} 4
  bad_bucket{le="+Inf"} 8
  neg_bucket{le="-1"} 2
  neg_bucket{le="+Inf"} 4

eval instant at 0m histogram_quantile(0.5, h_bucket)
  {} 0.75

eval instant at 0m histogram_quantile(0.9, h_bucket)
  {} 1

eval instant at 0m histogram_quantile(0.1, neg_bucket)
  {} -1

eval instant at 0m histogram_quantile(0.5, noinf_bucket)
  {} NaN

eval instant at 0m histogram_quantile(0.5, one_bucket)
  {} NaN

eval instant at 0m histogram_quantile(0.5, bad_bucket)
  {} NaN

eval instant at 0m histogram_quantile(-1, one_bucket)
  {} -Inf

clear
load 5m
  t{src="a-b", x="1"} 1
  u{src="a-b", x="2"} 2
  v{src="a-b", x="1"} 3
  nums{i="1"} 2.5
  nums{i="2"} -2.5
  nums{i="3"} 0.25
  nums{i="4"} NaN
  stamps{i="nan"} NaN
  stamps{i="neg"} -86401
  stamps{i="leap"} 951825600

eval instant at 0m label_replace(t, "dst", "$1x", "src", "(.*)-(.*)")
  t{src="a-b", x="1"} 1

eval instant at 0m label_replace(t, "dst", "${1}x$$", "src", "(.*)-(.*)")
  t{src="a-b", x="1", dst="ax$"} 1

eval instant at 0m label_replace(t, "dst", "$2", "src", "nomatch")
  t{src="a-b", x="1"} 1

eval instant at 0m label_replace(t, "x", "", "src", ".*")
  t{src="a-b"} 1

eval instant at 0m label_replace(t, "d", "$1", "src", "(?i)A-(.)")
  t{src="a-b", x="1", d="b"} 1

eval_fail instant at 0m label_replace(t, "1dst", "x", "src", ".*")

eval_fail instant at 0m label_replace(label_replace({__name__=~"t|u"}, "x", "", "", ""), "__name__", "s", "", "")

eval instant at 0m label_join(t, "j", ",", "x", "missing", "src")
  t{src="a-b", x="1", j="1,,a-b"} 1

eval instant at 0m scalar({src="a-b"})
  NaN

eval instant at 0m scalar(t)
  1

eval_ordered instant at 0m sort(nums)
  nums{i="2"} -2.5
  nums{i="3"} 0.25
  nums{i="1"} 2.5
  nums{i="4"} NaN

eval_ordered instant at 0m sort_desc(nums)
  nums{i="1"} 2.5
  nums{i="3"} 0.25
  nums{i="2"} -2.5
  nums{i="4"} NaN

eval instant at 0m round(nums)
  {i="1"} 3
  {i="2"} -2
  {i="3"} 0
  {i="4"} NaN

eval instant at 0m round(nums, 0.2)
  {i="1"} 2.6
  {i="2"} -2.4
  {i="3"} 0.2
  {i="4"} NaN

eval instant at 0m clamp(nums, 1, 0)

eval instant at 0m clamp(nums, -1, 1)
  {i="1"} 1
  {i="2"} -1
  {i="3"} 0.25
  {i="4"} NaN

eval instant at 0m hour(stamps)
  {i="nan"} 15
  {i="neg"} 23
  {i="leap"} 12

eval instant at 0m year(stamps)
  {i="nan"} 292277026596
  {i="neg"} 1969
  {i="leap"} 2000

eval instant at 0m day_of_week(stamps)
  {i="nan"} 0
  {i="neg"} 2
  {i="leap"} 2

eval instant at 0m day_of_year(stamps)
  {i="nan"} 339
  {i="neg"} 364
  {i="leap"} 60

eval instant at 0m days_in_month(stamps)
  {i="nan"} 31
  {i="neg"} 31
  {i="leap"} 29

eval instant at 0m month(stamps)
  {i="nan"} 12
  {i="neg"} 12
  {i="leap"} 2

eval instant at 0m day_of_month(stamps)
  {i="nan"} 4
  {i="neg"} 30
  {i="leap"} 29

eval instant at 0m minute(stamps)
  {i="nan"} 30
  {i="neg"} 59
  {i="leap"} 0

eval instant at 10m timestamp(t offset 5m)
  {src="a-b", x="1"} 0

eval instant at 0m absent(nothing{a="b", c=~"d"})
  {a="b"} 1

eval instant at 0m absent(t)

eval_fail instant at 0m count_over_time({__name__=~"t|v"}[5m])

eval instant at 0m ceil({__name__=~"t|u"})
  {src="a-b", x="1"} 1
  {src="a-b", x="2"} 2

clear
load 1m
  a 1

eval instant at 1m absent((nope{job="x"}))
  {job="x"} 1

eval instant at 1m absent(((nope{job="x"})))
  {job="x"} 1

eval instant at 1m absent_over_time((nope{job="x"}[5m]))
  {job="x"} 1

eval instant at 1m absent(nope{job="x"} @ 100)
  {job="x"} 1

eval instant at 1m absent(-nope{job="x"})
  {} 1

eval instant at 1m absent(nope{job="x"} offset 1m)
  {job="x"} 1
"""

# Label sets that collide after a function: an error when two rows meet at a step (or,
# for range-vector functions, anywhere in the result); merged when they never meet.
COLLISIONS = """\
load 1m
  g{inst="a"} 1 2 3 4 5
  g{inst="b"} 1 2 3 4 5
  h{inst="a"} 1 2 _ _ _
  h{inst="b"} _ _ _ _ _ _ _ 3 4 5

eval_fail range from 0 to 4m step 1m label_replace(g, "inst", "x", "inst", "a|b")

eval_fail instant at 1m label_replace(g, "inst", "x", "inst", "a|b")

eval range from 0 to 12m step 1m label_replace(h, "inst", "x", "inst", "a|b")
  h{inst="x"} 1 2 2 2 2 2 2 3 4 5 5 5 5

eval_fail range from 0 to 12m step 1m count_over_time({__name__=~"g|h"}[1m])
"""

_RESULTS = {r.line: r for r in run_script(parse_script(SCRIPT, "edge.test"))}
_COLLISIONS = {r.line: r for r in run_script(parse_script(COLLISIONS, "collisions.test"))}
_ORACLE = Path(__file__).resolve().parents[3] / "shared" / "tools" / "promql_live_oracle.py"


@pytest.mark.parametrize("line", sorted(_RESULTS), ids=[f"edge.test:{n}" for n in sorted(_RESULTS)])
def test_edge_eval(line: int) -> None:
    r = _RESULTS[line]
    assert r.outcome is Outcome.PASSED, f"{r.where} {r.expr}: {r.message}"


@pytest.mark.parametrize("line", sorted(_COLLISIONS), ids=[f"collisions.test:{n}" for n in sorted(_COLLISIONS)])
def test_collision_eval(line: int) -> None:
    r = _COLLISIONS[line]
    assert r.outcome is Outcome.PASSED, f"{r.where} {r.expr}: {r.message}"


@pytest.mark.peer
@pytest.mark.slow
@pytest.mark.parametrize("script", [SCRIPT, COLLISIONS], ids=["edge", "collisions"])
def test_expectations_hold_on_real_prometheus(tmp_path: Path, script: str) -> None:
    if not (shutil.which("prometheus") and shutil.which("promtool")):
        pytest.skip("prometheus/promtool not on PATH")
    if not _ORACLE.is_file():
        pytest.skip(f"live oracle script not found at {_ORACLE}")
    path = tmp_path / "check.test"
    path.write_text(script)
    out = subprocess.run([sys.executable, str(_ORACLE), "--port", str(free_port()), str(path)], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip().endswith("0 failed, 0 skipped"), out.stdout + out.stderr
