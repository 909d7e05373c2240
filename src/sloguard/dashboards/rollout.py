"""One dashboard per service under rollout: per-version RED (request rate, error ratio,
p50 and p99 latency) from the series sloguard's built-in traffic proxy writes,
``http_requests_total{service,version,code}`` and
``http_request_duration_seconds_bucket{service,version,le}`` (see
``sloguard.delivery.routers._proxy_metrics``), so the canary and the stable version are
compared on one screen. Links lead to the service's SLO dashboards.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import dashboard as dm

from sloguard.dashboards import _panels as p
from sloguard.dashboards._ids import service_uid

REQUESTS = "http_requests_total"
DURATION_BUCKET = "http_request_duration_seconds_bucket"
QUANTILES = (0.5, 0.99)
SERVER_ERRORS = ', code=~"5.."'
FIRING_SLO_ALERTS = ', alertstate="firing", sloguard_tier!=""'


def _sel(service: str, extra: str = "") -> str:
    esc = service.replace("\\", "\\\\").replace('"', '\\"')
    return f'{{service="{esc}"{extra}}}'


def request_rate(service: str) -> str:
    return f"sum by (version) (rate({REQUESTS}{_sel(service)}[{p.RATE_INTERVAL}]))"


def error_ratio(service: str) -> str:
    """5xx over all requests per version; 0 (not absent) while a version serves no error."""
    errors = f'sum by (version) (rate({REQUESTS}{_sel(service, SERVER_ERRORS)}[{p.RATE_INTERVAL}]))'
    total = request_rate(service)
    return f"({errors} or ({total} * 0)) / {total}"


def latency(service: str, quantile: float) -> str:
    buckets = f"sum by (version, le) (rate({DURATION_BUCKET}{_sel(service)}[{p.RATE_INTERVAL}]))"
    return f"histogram_quantile({quantile:g}, {buckets})"


def by_code(service: str) -> str:
    return f"sum by (version, code) (rate({REQUESTS}{_sel(service)}[{p.RATE_INTERVAL}]))"


def slo_alerts(service: str) -> str:
    """The service's SLO burn-rate alerts while they fire (sloguard labels them with a tier)."""
    return f"ALERTS{_sel(service, FIRING_SLO_ALERTS)}"


def rollout_dashboard(service: str) -> db.Dashboard:
    """The service's per-version RED dashboard (uid ``service_uid(service)``), last 3 hours."""
    d = p.dashboard(service_uid(service), f"Rollout {service}: per-version RED", ["sloguard", "rollout", f"service:{service}"],
                    "now-3h", f"Requests through sloguard's proxy for {service}, by version.")
    d = d.annotation(p.annotation(f"{service} SLO alerts firing", slo_alerts(service)))
    d = d.link(db.DashboardLink(f"{service} SLOs").type(dm.DashboardLinkType.DASHBOARDS)
               .tags(["sloguard", f"service:{service}"]).as_dropdown(True).keep_time(True))
    panels = [
        p.time_series("Request rate", [p.Query(request_rate(service), "{{version}}")], "reqps"),
        p.time_series("Error ratio (5xx)", [p.Query(error_ratio(service), "{{version}}")], "percentunit"),
        p.time_series("Latency p50 / p99", [p.Query(latency(service, qt), f"p{qt * 100:g} {{{{version}}}}") for qt in QUANTILES], "s"),
        p.time_series("Requests by code", [p.Query(by_code(service), "{{version}} {{code}}")], "reqps"),
    ]
    for panel in panels:
        d = d.with_panel(panel)
    return d
