"""The rule manager's own metrics, named as Prometheus names them so the same queries
(``prometheus_rule_group_last_duration_seconds``) work against both."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from sloguard.rules._group import Group
from sloguard.rules._manager import RuleManager

_GAUGES: list[tuple[str, str, Callable[[Group], float]]] = [
    ("prometheus_rule_group_last_duration_seconds", "The duration of the last rule group evaluation.",
     lambda g: g.evaluation_time_s),
    ("prometheus_rule_group_interval_seconds", "The interval of a rule group.", lambda g: g.interval_ms / 1000),
    ("prometheus_rule_group_last_evaluation_timestamp_seconds",
     "The timestamp of the last rule group evaluation in seconds.",
     lambda g: g.last_evaluation_s if g.last_evaluation_s is not None else 0.0),
    ("prometheus_rule_group_rules", "The number of rules.", lambda g: len(g.rules)),
    ("prometheus_rule_group_last_evaluation_samples",
     "The number of samples returned during the last rule group evaluation.", lambda g: g.samples_last),
]
_COUNTERS: list[tuple[str, str, Callable[[Group], float]]] = [
    ("prometheus_rule_evaluations", "The total number of rule evaluations.", lambda g: g.evaluations_total),
    ("prometheus_rule_evaluation_failures", "The total number of rule evaluation failures.",
     lambda g: g.failures_total),
]


class RuleManagerCollector(Collector):
    """Register on a ``CollectorRegistry``; reads the manager's groups at scrape time."""

    def __init__(self, manager: RuleManager) -> None:
        self.manager = manager

    def collect(self) -> Iterator[Metric]:
        groups = self.manager.groups()
        for name, doc, get in _GAUGES:
            gauge = GaugeMetricFamily(name, doc, labels=["rule_group"])
            for g in groups:
                gauge.add_metric([g.key], float(get(g)))
            yield gauge
        for name, doc, get in _COUNTERS:
            counter = CounterMetricFamily(name, doc, labels=["rule_group"])
            for g in groups:
                counter.add_metric([g.key], float(get(g)))
            yield counter
