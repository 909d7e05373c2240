"""The alert state machine, driven by a fake QueryFunc (Prometheus' AlertingRule.Eval)."""

from __future__ import annotations

import pytest

from sloguard.labels import Labels
from sloguard.promql import Sample, Vector
from sloguard.rules import Alert, AlertingRule, AlertState, RuleEvalError, TemplateContext

MIN = 60_000


class FakeQuery:
    """Returns ``up{job=...} == 0``-like samples for the jobs currently 'down'."""

    def __init__(self) -> None:
        self.down: dict[str, float] = {}

    def __call__(self, expr: str, t: int) -> Vector:
        return [Sample(Labels.of(name__="up", job=j), t, v) for j, v in sorted(self.down.items())]


def _rule(hold: int = 5 * MIN, keep: int = 0, **kw: object) -> AlertingRule:
    return AlertingRule(
        "InstanceDown", "up == 0", hold, keep, labels=[("severity", "page")],
        annotations=[("summary", "{{ $labels.job }} down, value {{ $value }}")],
        restored=True, **kw,  # type: ignore[arg-type]
    )


def _only(rule: AlertingRule) -> Alert:
    (a,) = rule.active.values()
    return a


def test_pending_until_for_has_elapsed_then_firing() -> None:
    q, r = FakeQuery(), _rule()
    q.down["a"] = 0.0
    r.eval(0, q)
    assert _only(r).state == AlertState.PENDING and _only(r).active_at == 0
    r.eval(4 * MIN, q)
    assert _only(r).state == AlertState.PENDING
    r.eval(5 * MIN, q)
    a = _only(r)
    assert (a.state, a.fired_at, a.active_at) == (AlertState.FIRING, 5 * MIN, 0)
    assert r.state == AlertState.FIRING


def test_zero_for_fires_on_first_evaluation() -> None:
    q, r = FakeQuery(), _rule(hold=0)
    q.down["a"] = 0.0
    r.eval(0, q)
    assert _only(r).state == AlertState.FIRING


def test_labels_and_annotations_are_expanded_and_alertname_added() -> None:
    q, r = FakeQuery(), _rule()
    q.down["a"] = 0.5
    r.eval(0, q)
    a = _only(r)
    assert a.labels == Labels.of(alertname="InstanceDown", job="a", severity="page")
    assert a.annotations == (("summary", "a down, value 0.5"),)


def test_pending_alert_that_goes_away_is_dropped_not_resolved() -> None:
    q, r = FakeQuery(), _rule()
    q.down["a"] = 0.0
    r.eval(0, q)
    q.down.clear()
    r.eval(MIN, q)
    assert r.active == {}


def test_firing_alert_that_goes_away_is_resolved_and_kept_15m() -> None:
    q, r = FakeQuery(), _rule(hold=0)
    q.down["a"] = 0.0
    r.eval(0, q)
    q.down.clear()
    r.eval(MIN, q)
    a = _only(r)
    assert (a.state, a.resolved_at) == (AlertState.INACTIVE, MIN)
    assert r.active_alerts() == []
    r.eval(16 * MIN, q)
    assert len(r.active) == 1  # exactly 15m after: still kept
    r.eval(16 * MIN + 1, q)
    assert r.active == {}


def test_resolved_alert_that_returns_starts_pending_again() -> None:
    q, r = FakeQuery(), _rule()
    q.down["a"] = 0.0
    for t in range(0, 6 * MIN, MIN):
        r.eval(t, q)
    q.down.clear()
    r.eval(6 * MIN, q)
    q.down["a"] = 0.0
    r.eval(7 * MIN, q)
    a = _only(r)
    assert (a.state, a.active_at) == (AlertState.PENDING, 7 * MIN)


def test_keep_firing_for_holds_a_firing_alert_after_the_condition_clears() -> None:
    q, r = FakeQuery(), _rule(hold=0, keep=2 * MIN)
    q.down["a"] = 0.0
    r.eval(0, q)
    q.down.clear()
    r.eval(MIN, q)
    assert _only(r).state == AlertState.FIRING and _only(r).keep_firing_since == MIN
    r.eval(2 * MIN, q)
    assert _only(r).state == AlertState.FIRING
    r.eval(3 * MIN, q)
    assert _only(r).state == AlertState.INACTIVE and _only(r).resolved_at == 3 * MIN


def test_keep_firing_resets_when_the_condition_returns() -> None:
    q, r = FakeQuery(), _rule(hold=0, keep=2 * MIN)
    q.down["a"] = 0.0
    r.eval(0, q)
    q.down.clear()
    r.eval(MIN, q)
    q.down["a"] = 0.0
    r.eval(2 * MIN, q)
    assert _only(r).keep_firing_since is None


def test_alerts_and_for_state_series_are_returned_once_restored() -> None:
    q, r = FakeQuery(), _rule()
    q.down["a"] = 0.0
    vec = r.eval(90_000, q)
    by_name = {s.labels.metric_name: s for s in vec}
    assert by_name["ALERTS"].labels == Labels.of(
        name__="ALERTS", alertname="InstanceDown", alertstate="pending", job="a", severity="page"
    )
    assert by_name["ALERTS"].v == 1.0 and by_name["ALERTS"].t == 90_000
    assert by_name["ALERTS_FOR_STATE"].v == 90.0  # active_at in unix seconds
    assert "alertstate" not in by_name["ALERTS_FOR_STATE"].labels.names()


def test_not_restored_rule_writes_no_series() -> None:
    q = FakeQuery()
    r = AlertingRule("A", "up == 0", restored=False)
    q.down["a"] = 0.0
    assert r.eval(0, q) == []
    assert len(r.active) == 1


def test_limit_exceeded_clears_alerts_and_errors() -> None:
    q, r = FakeQuery(), _rule()
    q.down.update(a=0.0, b=0.0)
    with pytest.raises(RuleEvalError, match="exceeded limit of 1 with 2 alerts"):
        r.eval(0, q, limit=1)
    assert r.active == {}


def test_same_labelset_after_labels_is_an_error() -> None:
    def q(expr: str, t: int) -> Vector:
        return [Sample(Labels.of(name__="a", job="x"), t, 1), Sample(Labels.of(name__="b", job="x"), t, 1)]

    with pytest.raises(RuleEvalError, match="same labelset after applying alert labels"):
        AlertingRule("A", "x").eval(0, q)


def test_external_labels_visible_to_templates() -> None:
    q = FakeQuery()
    q.down["a"] = 0.0
    r = AlertingRule("A", "x", annotations=[("d", "{{ $externalLabels.dc }}")],
                     context=TemplateContext({"dc": "eu1"}, "http://x"))
    r.eval(0, q)
    assert _only(r).annotations == (("d", "eu1"),)


def test_sending_firing_then_resending_after_resend_delay_and_resolved_once() -> None:
    q, r = FakeQuery(), _rule(hold=0)
    sent: list[tuple[int, list[Alert]]] = []
    t_now = [0]

    def notify(expr: str, alerts: object) -> None:
        sent.append((t_now[0], list(alerts)))  # type: ignore[call-overload]

    q.down["a"] = 0.0
    for t in (0, 30_000, 60_000, 90_000):
        t_now[0] = t
        r.eval(t, q)
        r.send_alerts(t, 60_000, 15_000, notify)
    times = [t for t, alerts in sent if alerts]
    assert times == [0, 90_000]  # resend only once last_sent + 1m < now
    assert sent[0][1][0].valid_until == 4 * 60_000
    q.down.clear()
    t_now[0] = 100_000
    r.eval(100_000, q)
    r.send_alerts(100_000, 60_000, 15_000, notify)
    resolved = sent[-1][1][0]
    assert resolved.state == AlertState.INACTIVE and resolved.resolved_at == 100_000


def test_pending_alerts_are_never_sent() -> None:
    q, r = FakeQuery(), _rule()
    got: list[object] = []
    q.down["a"] = 0.0
    r.eval(0, q)
    r.send_alerts(0, 60_000, 60_000, lambda e, a: got.extend(a))  # type: ignore[arg-type,func-returns-value]
    assert got == []
