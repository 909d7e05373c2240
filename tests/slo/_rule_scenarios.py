"""Hand-computed scenarios for the generated SLO rules (see ``_rule_values``).

Every objective is 99%, so the budget is 0.01 and a burn rate is the error ratio x 100.
The rules run every minute from t=0; a record at minute t covers [t-5m, t] (counters start
at 0, so a window reaching before t=0 covers [0, t] exactly).

STEADY, checked at minute 15. Per-minute traffic of ``http_requests_total{job="web"}``:
route a 6000 with 20% errors (20x), b 6000 with 2% (2x), d 6000 with no error series at
all, f 100 with 10% (10x but little traffic); ``min_events`` is 20,000. Long-window event
counts sum the 5m records, one per minute, times 60 s: for 6000/min that is
60 x (20+40+60+80 + 11x100) = 78,000 (f: 1,300); the 1h and 6h windows count 90,000
(f: 1,500), so f never alerts.

OUTAGE, one service with 600 requests/min that all fail from minute 60: at minute 60+m
the 1h ratio is m/60, the 30m ratio m/30, the 2h and 6h ratios m/(60+m) (only 60+m
minutes exist), the 5m ratio min(m, 5)/5. The records (2 x min(t, 5) per minute for the
total) sum to 20 + 10 x (t - 4) events/s over the first t minutes, the error records to
2+4+6+8 then 10 per minute after minute 64: the 1d/3d ratio is 12/610 at minute 63
and 70/670 = 7/67 at minute 69. The period (30d) counts non-overlapping 5m increments at
the 5m grid (minutes 5, 10, ..., 65; see "One budget everywhere" in docs/slo.md), 13 of
3,000 requests each, the last one all errors, plus the slot in progress at the current 5m
rate (4 minutes of 10 errors/s): 5,400/41,400 = 9/69 at minute 69.
"""

from __future__ import annotations

import numpy as np

from tests.slo._rule_values import AlertText, Scenario, Value, counter, firing

STEADY_MIN = 15
KINDS_MIN = 12
STEADY_SPEC = """
apiVersion: sloguard/v1
service: web
slos:
  - name: steady
    objective: 99
    grouping: [route]
    labels: {tier: "1"}
    sli: {ratio: {bad: 'http_requests_total{job="web",code="500"}', total: 'http_requests_total{job="web"}'}}
    alerting: {min_events: 20000}
  - name: ticket-only
    objective: 99
    sli: {ratio: {bad: 'http_requests_total{job="web",route="b",code="500"}', total: 'http_requests_total{job="web",route="b"}'}}
  - name: edge
    objective: 99
    sli: {ratio: {bad: 'edge_requests_total{code="500"}', total: 'edge_requests_total'}}
    alerting:
      page: false
      ticket: {windows: [{long: 2h, short: 5m, factor: 1}]}
  - name: no-tiers
    objective: 99
    sli: {ratio: {bad: 'http_requests_total{job="web",route="a",code="500"}', total: 'http_requests_total{job="web",route="a"}'}}
    alerting: {page: false, ticket: false}
  - name: custom-page
    objective: 99
    sli: {ratio: {bad: 'http_requests_total{job="web",route="b",code="500"}', total: 'http_requests_total{job="web",route="b"}'}}
    alerting: {page: {windows: [{long: 2h, short: 5m, factor: 14.4}]}, ticket: false}
"""
KINDS_SPEC = """
apiVersion: sloguard/v1
service: web
slos:
  - name: good-form
    objective: 99
    sli: {ratio: {good: 'http_requests_total{job="web",route="d",code="200"}', total: 'http_requests_total{job="web",route="d"}'}}
  - name: good-missing
    objective: 99
    sli: {ratio: {good: 'http_requests_total{job="web",route="z",code="200"}', total: 'http_requests_total{job="web",route="z"}'}}
  - name: events-form
    objective: 99
    sli:
      events:
        error_query: 'sum(rate(http_requests_total{job="web",route="d",code="500"}[{{.window}}]))'
        total_query: 'sum(rate(http_requests_total{job="web",route="d"}[{{.window}}]))'
  - name: latency
    objective: 99
    sli: {latency: {metric: lat_seconds, threshold: 0.5, selector: 'job="l"', buckets: [0.5, 1]}}
  - name: availability
    objective: 99
    sli: {availability: {probe: 'probe_success{job="p"}'}}
  - name: raw
    objective: 99
    sli: {raw: {error_ratio_query: 'avg_over_time(raw_error_ratio{job="r"}[{{.window}}])'}}
  - name: silent
    objective: 99
    sli: {ratio: {bad: 'missing_total{code="500"}', total: 'missing_total'}}
    alerting: {no_data: 5m}
"""
SLOTH_SPEC = """
version: prometheus/v1
service: sloth-svc
slos:
  - name: sloth-silent
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(sloth_missing_total{code="500"}[{{.window}}]))
        total_query: sum(rate(sloth_missing_total[{{.window}}]))
    alerting:
      name: SlothSilent
      page_alert: {disable: true}
      ticket_alert: {disable: true}
"""
OPENSLO_SPEC = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: openslo-silent}
spec:
  service: openslo-svc
  indicator:
    metadata: {name: inline}
    spec:
      ratioMetric:
        counter: true
        bad: {metricSource: {type: Prometheus, spec: {query: 'openslo_missing_total{code="500"}'}}}
        total: {metricSource: {type: Prometheus, spec: {query: openslo_missing_total}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
"""


WEB = 'http_requests_total{{job="web",route="{}",code="{}"}}'


def _steady_series() -> dict[str, np.ndarray]:
    n = STEADY_MIN
    return {
        WEB.format("a", 200): counter(4800, n), WEB.format("a", 500): counter(1200, n),
        WEB.format("b", 200): counter(5880, n), WEB.format("b", 500): counter(120, n),
        WEB.format("d", 200): counter(6000, n),
        WEB.format("f", 200): counter(90, n), WEB.format("f", 500): counter(10, n),
        'edge_requests_total{code="200"}': counter(5940, n), 'edge_requests_total{code="500"}': counter(60, n),
    }


def _kinds_series() -> dict[str, np.ndarray]:
    n = KINDS_MIN
    s = {
        WEB.format("d", 200): counter(6000, n),
        WEB.format("z", 500): counter(600, n),
        'lat_seconds_count{job="l"}': counter(600, n),
        'probe_success{job="p"}': np.ones(n + 1), 'raw_error_ratio{job="r"}': np.zeros(n + 1),
    }
    for le in ("0.5", "1", "+Inf"):
        s[f'lat_seconds_bucket{{job="l",le="{le}"}}'] = counter(600, n)
    return s


def _steady_values() -> list[Value]:
    t, v = STEADY_MIN, []
    fractions = {"a": 0.2, "b": 0.02, "d": 0.0, "f": 0.1}
    for route, f in fractions.items():
        sel = f'{{slo="steady",route="{route}"}}'
        for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"):
            v.append(Value(t, f"slo:sli_error:ratio_rate{w}{sel}", f))
        v.append(Value(t, f"slo:error_budget_remaining:ratio{sel}", 1 - f / 0.01))
        v.append(Value(t, f"slo:current_burn_rate:ratio{sel}", f / 0.01))
        v.append(Value(t, f"slo:period_burn_rate:ratio{sel}", f / 0.01))
    per_s = 6000 / 60
    v += [
        Value(t, 'slo:sli_error:rate5m{slo="steady",route="a"}', 0.2 * per_s),
        Value(t, 'slo:sli_error:rate5m{slo="steady",route="d"}', 0.0),
        Value(t, 'slo:sli_total:rate5m{slo="steady",route="d"}', per_s),
        Value(t, 'slo:objective:ratio{slo="steady"}', 0.99),
        Value(t, 'slo:error_budget:ratio{slo="steady"}', 0.01),
        Value(t, 'slo:time_period:days{slo="steady"}', 30),
    ]
    alert = "SteadyBudgetBurn"
    v += [
        Value(t, firing(alert, 'route="a",sloguard_tier="page",severity="page",tier="1"'), 2),
        Value(t, firing(alert, 'route="a",sloguard_tier="ticket"'), None),
        Value(t, firing(alert, 'route="b",sloguard_tier="ticket",sloguard_long="3d",sloguard_short="6h"'), 1),
        Value(t, firing(alert, 'route="b"'), 1),
        Value(t, firing(alert, 'route="d"'), None),
        Value(t, firing(alert, 'route="f"'), None),
    ]
    # the 2h/5m ticket of ``edge`` sits exactly at 1x: 0.125/12.5 and 1/100 are 0.01 exactly
    v += [
        Value(t, 'slo:sli_error:ratio_rate2h{slo="edge"}', 0.01),
        Value(t, 'slo:sli_error:ratio_rate5m{slo="edge"}', 0.01),
        Value(t, 'slo:current_burn_rate:ratio{slo="edge"}', 1.0),
        Value(t, 'slo:error_budget_remaining:ratio{slo="edge"}', 0.0),
        Value(t, firing("EdgeBudgetBurn"), None),
        Value(t, 'slo:current_burn_rate:ratio{slo="no-tiers"}', 20.0),
        Value(t, 'slo:current_burn_rate:ratio{slo="custom-page"}', 2.0),
        Value(t, firing("CustomPageBudgetBurn"), None),
    ]
    return v


def _kinds_values() -> list[Value]:
    """Every SLI kind with traffic and no failure reads 0 errors and a full budget."""
    t, v = KINDS_MIN, []
    for name in ("good-form", "events-form", "latency", "availability", "raw"):
        v.append(Value(t, f'slo:sli_error:ratio_rate5m{{slo="{name}"}}', 0.0))
        v.append(Value(t, f'slo:sli_error:ratio_rate1d{{slo="{name}"}}', 0.0))
        v.append(Value(t, f'slo:error_budget_remaining:ratio{{slo="{name}"}}', 1.0))
    # a good series that does not exist (every request of route z failed) is no good event
    v.append(Value(t, 'slo:sli_error:ratio_rate5m{slo="good-missing"}', 1.0))
    v.append(Value(t, 'slo:error_budget_remaining:ratio{slo="good-missing"}', 1 - 1 / 0.01))
    return v + _no_data_values()


def _no_data_values() -> list[Value]:
    t = KINDS_MIN
    silent = "SilentBudgetBurnNoData"
    v = [
        Value(t, 'slo:sli_total:rate5m{slo="silent"}', None),
        Value(t, 'slo:error_budget_remaining:ratio{slo="silent"}', None),
        Value(3, firing(silent, state="pending"), 1),
        Value(4, firing(silent), None),
        Value(5, firing(silent, 'sloguard_tier="no-data",severity="ticket",slo="silent"'), 1),
    ]
    for alert in ("SlothSilentNoData", "OpensloSilentBudgetBurnNoData"):
        v += [Value(9, firing(alert, state="pending"), 1), Value(9, firing(alert), None),
              Value(10, firing(alert, 'sloguard_tier="no-data"'), 1)]
    return v


TICKET_TEXT = AlertText(
    STEADY_MIN, "TicketOnlyBudgetBurn",
    {"severity": "ticket", "slo": "ticket-only", "service": "web",
     "sloguard_tier": "ticket", "sloguard_long": "3d", "sloguard_short": "6h"},
    {"summary": "web SLO ticket-only is burning its error budget too fast (ticket).",
     "description": "Error ratio 2% over 3d (and over 6h) is above 1x the budget of 1% (objective 99%).",
     "windows": "3d/6h at 1x",
     "burn_rate": "0.02 / 0.01",
     "budget_left": "-100%"},
)

STEADY = Scenario("steady", (STEADY_SPEC,), _steady_series(), tuple(_steady_values()), (TICKET_TEXT,))
KINDS = Scenario("kinds", (KINDS_SPEC, SLOTH_SPEC, OPENSLO_SPEC), _kinds_series(), tuple(_kinds_values()))

OUTAGE_SPEC = """
apiVersion: sloguard/v1
service: shop
slos:
  - name: outage
    objective: 99
    sli: {ratio: {bad: 'out_requests_total{code="500"}', total: 'out_requests_total'}}
    alerting: {no_data: false}
"""


def _outage() -> Scenario:
    n, start = 69, 60
    minute = np.arange(n)
    series = {
        'out_requests_total{code="200"}': counter(np.where(minute < start, 600.0, 0.0), n),
        'out_requests_total{code="500"}': counter(np.where(minute < start, 0.0, 600.0), n),
    }
    a = "OutageBudgetBurn"
    page, ticket = 'sloguard_tier="page"', 'sloguard_tier="ticket"'
    v = [
        # m=3: 1h 3/60 < 14.4%, 6h 3/63 < 6%, 1d 12/610 < 3%; 3d 12/610 and 6h 3/63 > 1%
        Value(63, firing(a, page), None),
        Value(63, firing(a, f'{ticket},sloguard_long="3d"'), 1),
        Value(63, firing(a, ticket), 1),
        Value(63, 'slo:sli_error:ratio_rate1d{slo="outage"}', 12 / 610),
        # m=4: 6h 4/64 > 6% and 30m 4/30: the 6h/30m page; the ticket is superseded
        Value(64, firing(a, f'{page},sloguard_long="6h"'), 1),
        Value(64, firing(a, page), 1),
        Value(64, firing(a, ticket), None),
        # m=9: 1h 9/60 = 15% > 14.4% and 5m 100%: both pages
        Value(69, firing(a, page), 2),
        Value(69, firing(a, ticket), None),
    ]
    for w, ratio in (("5m", 1.0), ("30m", 0.3), ("1h", 0.15), ("2h", 9 / 69), ("6h", 9 / 69),
                     ("1d", 7 / 67), ("3d", 7 / 67), ("30d", 9 / 69)):
        v.append(Value(69, f'slo:sli_error:ratio_rate{w}{{slo="outage"}}', ratio))
    v += [
        Value(69, 'slo:current_burn_rate:ratio{slo="outage"}', 15.0),
        Value(69, 'slo:period_burn_rate:ratio{slo="outage"}', 900 / 69),
        Value(69, 'slo:error_budget_remaining:ratio{slo="outage"}', 1 - 900 / 69),
    ]
    return Scenario("outage", (OUTAGE_SPEC,), series, tuple(v))


OUTAGE = _outage()
SCENARIOS = (OUTAGE, STEADY, KINDS)
