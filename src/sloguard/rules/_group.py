"""A rule group: rules evaluated in order at one interval, outputs written to storage.

Each rule's output is committed before the next rule runs, so later rules see earlier
ones' samples at the same timestamp. Series a rule stops returning get a staleness
marker. Evaluation timestamps are slotted like Prometheus' (``eval_timestamp``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sloguard.labels import Labels, Matcher, MatchType, labels_hash
from sloguard.rules._alert import Alert
from sloguard.rules._alerting import ALERT_FOR_STATE_METRIC, ALERT_METRIC, AlertingRule
from sloguard.rules._batch import WriteBatch, referenced_metrics
from sloguard.rules._options import ManagerOptions
from sloguard.rules._recording import RecordingRule
from sloguard.rules._rule import EngineQuery, QueryFunc, RuleHealth
from sloguard.rules._rulefmt import GroupSpec
from sloguard.tsdb import STALE_NAN, is_stale_nan

AnyRule = AlertingRule | RecordingRule


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Alerts one alerting rule wants sent after an evaluation."""

    expr: str
    alerts: tuple[Alert, ...]


def group_key(file: str, name: str) -> str:
    return f"{file};{name}"


@dataclass(slots=True)
class Group:
    name: str
    file: str
    interval_ms: int
    limit: int
    rules: list[AnyRule]
    opts: ManagerOptions
    spec: GroupSpec | None = None
    should_restore: bool = False
    series_in_previous_eval: list[set[Labels]] = field(default_factory=list)
    stale_series: list[Labels] = field(default_factory=list)
    last_evaluation_s: float | None = None
    evaluation_time_s: float = 0.0
    _reads: list[frozenset[str] | None] = field(default_factory=list)
    evaluations_total: int = 0
    failures_total: int = 0
    samples_last: int = 0
    #: Widest window per selector over the group's evaluations (see ``SharedSelects``).
    _select_spans: dict[Any, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.series_in_previous_eval:
            self.series_in_previous_eval = [set() for _ in self.rules]

    @property
    def key(self) -> str:
        return group_key(self.file, self.name)

    @property
    def select_spans(self) -> dict[Any, int]:
        """What the group selected on its evaluations, each selector (a tuple of
        matchers) with the widest window it read (empty before the first)."""
        return self._select_spans

    def hash(self) -> int:
        return labels_hash([("name", self.name), ("file", self.file)])

    def eval_timestamp(self, start_ms: int) -> int:
        """The preceding consistently slotted evaluation time (Prometheus' ``EvalTimestamp``)."""
        interval_ns = self.interval_ms * 1_000_000
        offset_ns = self.hash() % interval_ns
        adj = start_ms * 1_000_000 - offset_ns
        base = adj - adj % interval_ns
        return (base + offset_ns) // 1_000_000

    # -- evaluation
    def eval(self, ts: int) -> list[Outgoing]:
        """Evaluate every rule at ``ts`` in order; returns the alerts to send.

        Outputs are committed in batches (see ``_batch``): before any rule that reads a
        metric an earlier rule of this evaluation produced, and at the end."""
        outgoing: list[Outgoing] = []
        start = time.perf_counter()
        self.samples_last = 0
        batch = WriteBatch(self.opts.storage)
        query = self.opts.query
        shared = query.shared(self._select_spans) if isinstance(query, EngineQuery) else None
        for i, rule in enumerate(self.rules):
            if batch.must_flush_before(self._needs(i)):
                if shared is not None:
                    shared.invalidate(batch.names)
                batch.flush()
            self._eval_rule(i, rule, ts, outgoing, batch, shared or query)
        batch.flush()
        self._cleanup_stale(ts)
        self.evaluation_time_s = time.perf_counter() - start
        self.last_evaluation_s = ts / 1000
        return outgoing

    def _needs(self, i: int) -> frozenset[str] | None:
        if len(self._reads) != len(self.rules):
            self._reads = [_reads(r) for r in self.rules]
        return self._reads[i]

    def _eval_rule(
        self, i: int, rule: AnyRule, ts: int, outgoing: list[Outgoing], batch: WriteBatch, query: QueryFunc
    ) -> None:
        t0 = time.perf_counter()
        rule.status.last_evaluation_s = ts / 1000
        self.evaluations_total += 1
        try:
            vec = rule.eval(ts, query, self.limit)
        except Exception as e:  # noqa: BLE001 - any failure is this rule's lastError, never the loop's
            self.failures_total += 1
            rule.status.health = RuleHealth.BAD
            rule.status.last_error = str(e)
            rule.status.evaluation_time_s = time.perf_counter() - t0
            return
        rule.status.health = RuleHealth.GOOD
        rule.status.last_error = ""
        if isinstance(rule, AlertingRule):
            rule.send_alerts(
                ts, self.opts.resend_delay_ms, self.interval_ms,
                lambda expr, alerts: outgoing.append(Outgoing(expr, tuple(alerts))) if alerts else None,
            )
        returned = {s.labels for s in vec}
        batch.add(rule, _produces(rule), vec, self.series_in_previous_eval[i] - returned, ts)
        self.series_in_previous_eval[i] = returned
        self.samples_last += len(vec)
        rule.status.evaluation_time_s = time.perf_counter() - t0

    def _cleanup_stale(self, ts: int) -> None:
        if not self.stale_series:
            return
        app = self.opts.storage.appender(durable=False)
        for ls in self.stale_series:
            app.append(ls, ts, STALE_NAN)
        app.commit()
        self.stale_series = []

    def all_previous_series(self) -> list[Labels]:
        return [ls for s in self.series_in_previous_eval for ls in s]

    # -- restart and reload
    def restore_for_state(self, ts: int) -> None:
        """Restore ``ActiveAt`` of alerts from ``ALERTS_FOR_STATE`` (Prometheus' ``RestoreForState``)."""
        mint = ts - self.opts.outage_tolerance_ms
        q = self.opts.storage.querier()
        for rule in self.rules:
            if not isinstance(rule, AlertingRule):
                continue
            if rule.hold_ms < self.opts.for_grace_period_ms:
                rule.restored = True
                continue
            for key, alert in list(rule.active.items()):
                restored = self._restored_active_at(rule, alert, q, mint, ts)
                if restored is not None:
                    rule.active[key] = alert.restore_active_at(restored)
            rule.restored = True

    def _restored_active_at(self, rule: AlertingRule, alert: Alert, q: object, mint: int, ts: int) -> int | None:
        want = rule.for_state_sample(alert, ts, 0).labels
        matchers = [Matcher(MatchType.EQUAL, k, v) for k, v in want]
        batch = q.select(matchers, mint, ts)  # type: ignore[attr-defined]
        for j, ls in enumerate(batch.labels):
            if len(ls) != len(matchers):
                continue
            _, tss, vs = batch.series(j)
            if len(tss) == 0 or is_stale_nan(float(vs[-1])):
                return None
            ended = getattr(q, "ended_stale", None)  # a backend's API hides staleness markers
            if ended is not None and ended(ls, int(tss[-1]), ts):
                return None
            down_at = int(tss[-1]) // 1000 * 1000
            active_at = int(vs[-1]) * 1000
            remaining = rule.hold_ms - (down_at - active_at)
            if remaining <= 0:
                return active_at
            if remaining < self.opts.for_grace_period_ms:
                return ts + self.opts.for_grace_period_ms - rule.hold_ms
            return active_at + (ts - down_at)
        return None

    def copy_state(self, old: Group) -> None:
        """Carry alert state and series bookkeeping over a reload (Prometheus' ``CopyState``)."""
        self.evaluation_time_s = old.evaluation_time_s
        self.last_evaluation_s = old.last_evaluation_s
        by_key: dict[str, list[int]] = {}
        for fi, r in enumerate(old.rules):
            by_key.setdefault(_name_and_labels(r), []).append(fi)
        for i, r in enumerate(self.rules):
            idxs = by_key.get(_name_and_labels(r))
            if not idxs:
                continue
            fi = idxs.pop(0)
            self.series_in_previous_eval[i] = old.series_in_previous_eval[fi]
            far = old.rules[fi]
            if isinstance(r, AlertingRule) and isinstance(far, AlertingRule):
                r.active.update(far.active)
        self.stale_series = list(old.stale_series)
        for idxs in by_key.values():
            for fi in idxs:
                self.stale_series.extend(old.series_in_previous_eval[fi])

    def equals(self, other: Group) -> bool:
        """Same rules, schedule and query function (an SLO's group that now reads another
        backend is a new group)."""
        return (self.name, self.file, self.interval_ms, self.limit, self.spec) == (
            other.name, other.file, other.interval_ms, other.limit, other.spec,
        ) and self.opts.query is other.opts.query

    def alerting_rules(self) -> Sequence[AlertingRule]:
        return [r for r in self.rules if isinstance(r, AlertingRule)]


def _produces(r: AnyRule) -> frozenset[str]:
    if isinstance(r, AlertingRule):
        return frozenset({ALERT_METRIC, ALERT_FOR_STATE_METRIC})
    return frozenset({r.name})


def _reads(r: AnyRule) -> frozenset[str] | None:
    """What ``r`` may read: its expression's metrics; anything if a template queries."""
    if isinstance(r, AlertingRule) and any(
        "query" in v for _, v in (*r.rule_labels, *r.rule_annotations)
    ):
        return None
    return referenced_metrics(r.expr)


def _name_and_labels(r: AnyRule) -> str:
    return r.name + str(r.labels)
