"""Dashboards as code: sloguard's SLOs and rollouts as Grafana dashboards, built with
Grafana's own SDK (``grafana-foundation-sdk``) and exported as JSON for Grafana 10+ file
provisioning (``sloguard dashboards export``; see docs/dashboards.md).

``ui`` shows the same things in sloguard's own pages; this package is for teams whose
screens are Grafana's.
"""

from __future__ import annotations

from sloguard.dashboards._check import BUILTINS, Target, check, substitute, targets
from sloguard.dashboards._errors import DashboardError
from sloguard.dashboards._ids import OVERVIEW_UID, service_uid, slo_uid
from sloguard.dashboards.export import build_all, export, to_json
from sloguard.dashboards.overview import overview_dashboard
from sloguard.dashboards.rollout import rollout_dashboard
from sloguard.dashboards.slo import slo_dashboard

__all__ = [
    "BUILTINS", "OVERVIEW_UID", "DashboardError", "Target", "build_all", "check", "export", "overview_dashboard",
    "rollout_dashboard", "service_uid", "slo_dashboard", "slo_uid", "substitute", "targets", "to_json",
]
