"""Alerting rules: Prometheus' ``AlertingRule.Eval`` semantics, one transition per method."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sloguard.labels import Labels, LabelsBuilder
from sloguard.promql import Sample, Vector
from sloguard.rules._alert import Alert, AlertState, Annotations
from sloguard.rules._rule import NotifyFunc, QueryFunc, RuleBase, RuleEvalError
from sloguard.rules.template import AlertTemplateData, expand_alert_text

ALERT_METRIC = "ALERTS"
ALERT_FOR_STATE_METRIC = "ALERTS_FOR_STATE"
ALERT_NAME = "alertname"
ALERT_STATE = "alertstate"


@dataclass(frozen=True, slots=True)
class TemplateContext:
    """What templates may see besides the sample: external labels and URL."""

    external_labels: dict[str, str] = field(default_factory=dict)
    external_url: str = ""


class AlertingRule(RuleBase):
    """Turns expression results into alerts; ``eval`` returns the ALERTS series to store."""

    def __init__(
        self,
        name: str,
        expr: str,
        hold_ms: int = 0,
        keep_firing_for_ms: int = 0,
        labels: Sequence[tuple[str, str]] = (),
        annotations: Sequence[tuple[str, str]] = (),
        context: TemplateContext | None = None,
        restored: bool = False,
    ) -> None:
        super().__init__(name, expr, labels)
        self.hold_ms = hold_ms
        self.keep_firing_for_ms = keep_firing_for_ms
        self.rule_annotations: Annotations = tuple(sorted(annotations))
        self.context = context or TemplateContext()
        self.restored = restored
        self.active: dict[Labels, Alert] = {}

    @property
    def state(self) -> AlertState:
        # list() snapshots the dict in one C call: safe while a worker thread evaluates
        return max((a.state for a in list(self.active.values())), default=AlertState.INACTIVE)

    def active_alerts(self) -> list[Alert]:
        """Pending and firing alerts (not the resolved ones kept for re-sending)."""
        return [a for a in list(self.active.values()) if a.state != AlertState.INACTIVE]

    # -- evaluation
    def eval(self, ts: int, query: QueryFunc, limit: int = 0) -> Vector:
        res = query(self._expr, ts)
        fresh = self._alerts_from(res, ts, query)
        self._merge(fresh)
        out: Vector = []
        n_active = 0
        for key in list(self.active):
            alert = self.active[key]
            if key not in fresh:
                alert, keep = self._went_away(key, alert, ts)
                if not keep:
                    continue
            alert = self._maybe_fire(alert, ts)
            self.active[key] = alert
            n_active += 1
            if self.restored:
                out.append(self.alerts_sample(alert, ts))
                out.append(self.for_state_sample(alert, ts, float(alert.active_at // 1000)))
        if limit > 0 and n_active > limit:
            self.active = {}
            raise RuleEvalError(f"exceeded limit of {limit} with {n_active} alerts")
        return out

    def _alerts_from(self, res: Vector, ts: int, query: QueryFunc) -> dict[Labels, Alert]:
        alerts: dict[Labels, Alert] = {}
        for smpl in res:
            expand = self._expander(smpl, ts, query)
            lb = LabelsBuilder(smpl.labels).delete("__name__")
            for k, v in self.rule_labels:
                lb.set(k, expand(v))
            lb.set(ALERT_NAME, self._name)
            anns: Annotations = tuple((k, expand(v)) for k, v in self.rule_annotations)
            lbs = lb.labels()
            if lbs in alerts:
                raise RuleEvalError("vector contains metrics with the same labelset after applying alert labels")
            alerts[lbs] = Alert.new_pending(lbs, anns, smpl.v, ts)
        return alerts

    def _expander(self, smpl: Sample, ts: int, query: QueryFunc) -> Callable[[str], str]:
        data = AlertTemplateData(
            {k: v for k, v in smpl.labels}, dict(self.context.external_labels),
            self.context.external_url, smpl.v,
        )
        tmpl_name = "__alert_" + self._name

        def tq(expr: str) -> list[tuple[dict[str, str], float]]:
            return [({k: v for k, v in s.labels}, s.v) for s in query(expr, ts)]

        def expand(text: str) -> str:
            if "{{" not in text:
                return text
            return expand_alert_text(text, tmpl_name, data, tq)

        return expand

    def _merge(self, fresh: dict[Labels, Alert]) -> None:
        for key, a in fresh.items():
            old = self.active.get(key)
            if old is not None and old.state != AlertState.INACTIVE:
                self.active[key] = old.refresh(a.value, a.annotations)
            else:
                self.active[key] = a

    def _went_away(self, key: Labels, alert: Alert, ts: int) -> tuple[Alert, bool]:
        """The expression no longer returns ``key``: keep firing, resolve, or forget."""
        keep = False
        if alert.state == AlertState.FIRING and self.keep_firing_for_ms > 0:
            alert = alert.start_keep_firing(ts)
            since = ts if alert.keep_firing_since is None else alert.keep_firing_since
            keep = ts - since < self.keep_firing_for_ms
        if alert.state == AlertState.PENDING or alert.is_expired(ts):
            del self.active[key]
        elif alert.state != AlertState.INACTIVE and not keep:
            self.active[key] = alert.resolve(ts)
        elif keep:
            self.active[key] = alert
        return alert, keep

    def _maybe_fire(self, alert: Alert, ts: int) -> Alert:
        if alert.state == AlertState.PENDING and ts - alert.active_at >= self.hold_ms:
            return alert.fire(ts)
        return alert

    # -- series
    def alerts_sample(self, alert: Alert, ts: int) -> Sample:
        lb = LabelsBuilder(self.rule_labels)
        for k, v in alert.labels:
            lb.set(k, v)
        lb.set("__name__", ALERT_METRIC).set(ALERT_NAME, self._name).set(ALERT_STATE, str(alert.state))
        return Sample(lb.labels(), ts, 1.0)

    def for_state_sample(self, alert: Alert, ts: int, v: float) -> Sample:
        lb = LabelsBuilder(self.rule_labels)
        for k, val in alert.labels:
            lb.set(k, val)
        lb.set("__name__", ALERT_FOR_STATE_METRIC).set(ALERT_NAME, self._name)
        return Sample(lb.labels(), ts, v)

    # -- sending
    def send_alerts(self, ts: int, resend_delay: int, interval: int, notify: NotifyFunc) -> object:
        """Mark due alerts sent (``valid_until = ts + 4 * max(resend_delay, interval)``) and notify."""
        due: list[Alert] = []
        delta = max(resend_delay, interval)
        for key, a in self.active.items():
            if a.needs_sending(ts, resend_delay):
                sent = a.mark_sent(ts, ts + 4 * delta)
                self.active[key] = sent
                due.append(sent)
        return notify(self._expr, due)
