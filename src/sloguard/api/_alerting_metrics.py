"""The built-in alerting pipeline on ``/metrics``: config reloads, alerts by state."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from sloguard.alerting.core import AlertingCore
from sloguard.alerting.marker import AlertState


@dataclass
class ReloadStatus:
    """The last alerting config reload, for ``/metrics`` and the log."""

    ok: bool = True
    at: float = field(default_factory=time.time)
    failures: int = 0
    error: str = ""

    def record(self, error: str | None) -> None:
        self.ok, self.at, self.error = error is None, time.time(), error or ""
        self.failures += error is not None


class AlertingCollector(Collector):
    """The pipeline on ``/metrics``: reload status, alerts by state, notifications."""

    def __init__(self, core: Callable[[], AlertingCore | None], status: ReloadStatus) -> None:
        self._core = core
        self._status = status

    def collect(self) -> Iterable[Any]:
        s = self._status
        yield GaugeMetricFamily("sloguard_alerting_config_last_reload_successful",
                                "Whether the last alerting config reload attempt was successful.", value=float(s.ok))
        yield GaugeMetricFamily("sloguard_alerting_config_last_reload_success_timestamp_seconds",
                                "When the alerting config was last loaded or reloaded.", value=s.at)
        yield CounterMetricFamily("sloguard_alerting_config_reload_failures",
                                  "Alerting config reloads that failed (the running config was kept).",
                                  value=s.failures)
        core = self._core()
        if core is None:
            return
        states = GaugeMetricFamily("sloguard_alerting_alerts", "Alerts held by the pipeline, by state.",
                                   labels=["state"])
        for st in AlertState:
            states.add_metric([st.value], core.marker.count(st))
        yield states


