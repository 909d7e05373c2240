"""Group evaluation over MemoryStorage and the real engine: ordering, staleness, errors,
slotted timestamps and `for` state restoration."""

from __future__ import annotations

import numpy as np

from sloguard.labels import Labels, Matcher, MatchType, labels_hash
from sloguard.rules import (
    AlertingRule,
    AlertState,
    Group,
    ManagerOptions,
    RecordingRule,
    RuleHealth,
)
from sloguard.tsdb import stale_mask
from sloguard.tsdb.testing import MemoryStorage

MIN = 60_000


def _series(storage: MemoryStorage, name: str) -> dict[Labels, tuple[list[int], list[float]]]:
    b = storage.querier().select([Matcher(MatchType.EQUAL, "__name__", name)], -(2**62), 2**62)
    out = {}
    for i in range(len(b)):
        ls, ts, vs = b.series(i)
        out[ls] = (ts.tolist(), vs.tolist())
    return out


def test_later_rule_sees_earlier_rule_output_at_same_timestamp(storage: MemoryStorage, opts: ManagerOptions) -> None:
    storage.add(Labels.of(name__="x", job="a"), [0], [2.0])
    g = Group("g", "f.yml", MIN, 0, [RecordingRule("x:double", "x * 2"), RecordingRule("x:quad", "x:double * 2")], opts)
    g.eval(MIN)
    assert _series(storage, "x:quad") == {Labels.of(name__="x:quad", job="a"): ([MIN], [8.0])}


def test_recording_rule_labels_override_and_name_is_record(storage: MemoryStorage, opts: ManagerOptions) -> None:
    storage.add(Labels.of(name__="x", job="a"), [0], [1.0])
    g = Group("g", "f.yml", MIN, 0, [RecordingRule("r", "x", [("job", "b"), ("team", "t")])], opts)
    g.eval(0)
    assert list(_series(storage, "r")) == [Labels.of(name__="r", job="b", team="t")]


def test_disappearing_recorded_series_gets_a_stale_marker(storage: MemoryStorage, opts: ManagerOptions) -> None:
    storage.add(Labels.of(name__="x", job="a"), [0], [1.0])
    g = Group("g", "f.yml", MIN, 0, [RecordingRule("r", "x")], opts)
    g.eval(0)
    g.eval(6 * MIN)  # x is beyond the 5m lookback now
    ts, vs = _series(storage, "r")[Labels.of(name__="r", job="a")]
    assert ts == [0, 6 * MIN]
    assert stale_mask(np.array(vs)).tolist() == [False, True]


def test_failing_rule_reports_error_and_later_rules_still_run(storage: MemoryStorage, opts: ManagerOptions) -> None:
    storage.add(Labels.of(name__="j1", a="1", b="2"), [0], [1.0])
    storage.add(Labels.of(name__="j2", a="1", b="3"), [0], [2.0])
    storage.add(Labels.of(name__="j2", a="1", b="4"), [0], [3.0])
    bad = RecordingRule("joined", "j1 + on(a) j2")
    good = RecordingRule("one", "vector(1)")
    g = Group("g", "f.yml", MIN, 0, [bad, good], opts)
    g.eval(0)
    assert bad.status.health == RuleHealth.BAD
    assert "many-to-many matching not allowed" in bad.status.last_error
    assert good.status.health == RuleHealth.GOOD and _series(storage, "one")


def test_limit_on_recording_rule(storage: MemoryStorage, opts: ManagerOptions) -> None:
    storage.add(Labels.of(name__="x", job="a"), [0], [1.0])
    storage.add(Labels.of(name__="x", job="b"), [0], [1.0])
    r = RecordingRule("r", "x")
    Group("g", "f.yml", MIN, 1, [r], opts).eval(0)
    assert r.status.last_error == "exceeded limit of 1 with 2 series"


def test_alerts_series_written_and_marked_stale_when_alert_ends(storage: MemoryStorage, opts: ManagerOptions) -> None:
    storage.add(Labels.of(name__="up", job="a"), [0, MIN, 2 * MIN], [0.0, 0.0, 1.0])
    r = AlertingRule("Down", "up == 0", MIN, restored=True)
    g = Group("g", "f.yml", MIN, 0, [r], opts)
    for t in (0, MIN, 2 * MIN):
        g.eval(t)
    alerts = _series(storage, "ALERTS")
    pending = alerts[Labels.of(name__="ALERTS", alertname="Down", alertstate="pending", job="a")]
    firing = alerts[Labels.of(name__="ALERTS", alertname="Down", alertstate="firing", job="a")]
    assert pending[0] == [0, MIN] and stale_mask(np.array(pending[1])).tolist() == [False, True]
    assert firing[0] == [MIN, 2 * MIN] and stale_mask(np.array(firing[1])).tolist() == [False, True]


def test_eval_timestamp_is_slotted_by_group_hash(opts: ManagerOptions) -> None:
    g = Group("example", "/etc/rules.yml", MIN, 0, [], opts)
    offset = (labels_hash([("name", "example"), ("file", "/etc/rules.yml")]) % (MIN * 10**6)) // 10**6
    for now in (1_700_000_000_000, 1_700_000_012_345, 1_700_000_059_999):
        ts = g.eval_timestamp(now)
        assert ts <= now < ts + MIN
        assert ts % MIN == offset


def _for_state_history(storage: MemoryStorage, active_at_s: int, until_ms: int) -> None:
    ls = Labels.of(name__="ALERTS_FOR_STATE", alertname="Down", job="a")
    ts = list(range(active_at_s * 1000, until_ms + 1, MIN))
    storage.add(ls, ts, [float(active_at_s)] * len(ts))


def _restore(opts: ManagerOptions, hold: int, now: int) -> AlertingRule:
    def q(expr: str, t: int) -> list:  # type: ignore[type-arg]
        from sloguard.promql import Sample

        return [Sample(Labels.of(name__="up", job="a"), t, 0.0)]

    r = AlertingRule("Down", "up == 0", hold, restored=False)
    g = Group("g", "f.yml", MIN, 0, [r], ManagerOptions(query=q, storage=opts.storage))
    g.eval(now)
    g.restore_for_state(now)
    assert r.restored
    return r


def test_restore_shifts_active_at_by_the_downtime(storage: MemoryStorage, opts: ManagerOptions) -> None:
    # active since t=0, down at 20m (hold 1h: 40m left), back at 30m: pending 10m longer.
    _for_state_history(storage, 0, 20 * MIN)
    r = _restore(opts, 60 * MIN, 30 * MIN)
    (a,) = r.active.values()
    assert a.active_at == 10 * MIN and a.state == AlertState.PENDING


def test_restore_gives_at_least_the_grace_period(storage: MemoryStorage, opts: ManagerOptions) -> None:
    # hold 30m, pending 25m when down: 5m left < 10m grace -> fires 10m after restart.
    _for_state_history(storage, 0, 25 * MIN)
    r = _restore(opts, 30 * MIN, 40 * MIN)
    (a,) = r.active.values()
    assert a.active_at == 40 * MIN + 10 * MIN - 30 * MIN


def test_restore_keeps_active_at_of_alert_that_was_firing(storage: MemoryStorage, opts: ManagerOptions) -> None:
    _for_state_history(storage, 0, 40 * MIN)
    r = _restore(opts, 30 * MIN, 45 * MIN)
    (a,) = r.active.values()
    assert a.active_at == 0


def test_restore_ignores_history_older_than_outage_tolerance(storage: MemoryStorage, opts: ManagerOptions) -> None:
    _for_state_history(storage, 0, 20 * MIN)
    r = _restore(opts, 60 * MIN, 20 * MIN + 61 * MIN)
    (a,) = r.active.values()
    assert a.active_at == 81 * MIN  # not restored: starts now


def test_short_for_is_not_restored(storage: MemoryStorage, opts: ManagerOptions) -> None:
    _for_state_history(storage, 0, 20 * MIN)
    r = _restore(opts, 5 * MIN, 30 * MIN)
    (a,) = r.active.values()
    assert a.active_at == 30 * MIN


class _FailingStorage(MemoryStorage):
    def appender(self, durable: bool = True):  # type: ignore[no-untyped-def]
        raise OSError("disk full")


def test_storage_failure_becomes_the_rules_last_error() -> None:
    st = _FailingStorage()
    from sloguard.promql.engine import PromQLEngine
    from sloguard.rules import engine_query_func

    r = RecordingRule("one", "vector(1)")
    g = Group("g", "f.yml", MIN, 0, [r], ManagerOptions(query=engine_query_func(PromQLEngine(st)), storage=st))
    g.eval(0)
    assert r.status.health == RuleHealth.BAD
    assert r.status.last_error == "storing the rule's output failed: disk full"


class _CountingStorage(MemoryStorage):
    commits = 0

    def appender(self, durable: bool = True):  # type: ignore[no-untyped-def]
        app = super().appender(durable)
        outer = self
        real_commit = app.commit

        def commit():  # type: ignore[no-untyped-def]
            outer.commits += 1
            return real_commit()

        app.commit = commit  # type: ignore[method-assign]
        return app


def test_independent_rules_commit_once_dependent_ones_see_earlier_output() -> None:
    from sloguard.promql.engine import PromQLEngine
    from sloguard.rules import engine_query_func

    st = _CountingStorage()
    st.add(Labels.of(name__="x", job="a"), [0], [2.0])
    st.commits = 0
    opts = ManagerOptions(query=engine_query_func(PromQLEngine(st)), storage=st)
    rules = [RecordingRule(f"r{i}", "x * 2") for i in range(5)] + [RecordingRule("dep", "r4 + 1"),
                                                                    RecordingRule("any", 'count({job="a"})')]
    g = Group("g", "f.yml", MIN, 0, rules, opts)
    g.eval(MIN)
    assert st.commits == 3  # r0..r4 together; before "dep" (reads r4); before "any" (reads anything)
    assert _series(st, "dep") == {Labels.of(name__="dep", job="a"): ([MIN], [5.0])}
    assert _series(st, "any") == {Labels.of(name__="any"): ([MIN], [7.0])}  # x, r0..r4, dep


def test_referenced_metrics() -> None:
    from sloguard.rules._batch import referenced_metrics

    assert referenced_metrics("sum(rate(a[5m])) / on(x) b offset 1m") == frozenset({"a", "b"})
    assert referenced_metrics('{__name__="a", job="x"} + vector(1)') == frozenset({"a"})
    assert referenced_metrics('{job="x"}') is None
    assert referenced_metrics('{__name__=~"a.*"}') is None
    assert referenced_metrics("absent(up) or label_replace(rate(c[1m:]), 'a', 'b', 'c', 'd')") == frozenset({"up", "c"})


def test_shared_selects_give_the_same_outputs_as_separate_queries() -> None:
    """A group's queries share selects (one per selector and evaluation, over the widest
    window); outputs and alerts must be bit for bit those of one fresh query per rule."""
    from sloguard.promql.engine import PromQLEngine
    from sloguard.rules import engine_query_func

    def run(shared: bool) -> tuple[dict[Labels, tuple[list[int], list[float]]], list[str]]:
        st = MemoryStorage()
        rng = np.random.default_rng(3)
        for code in ("200", "500"):
            for inst in ("a", "b", "c"):
                ts = [i * 15_000 for i in range(1500)]
                vals = np.cumsum(rng.random(1500) * (5 if code == "500" else 50))
                vals[700:] -= vals[699]  # a counter reset
                st.add(Labels.of(name__="req", code=code, inst=inst), ts, vals.tolist())
        q = engine_query_func(PromQLEngine(st))
        opts = ManagerOptions(query=q if shared else (lambda e, t: q(e, t)), storage=st)
        rules: list[RecordingRule | AlertingRule] = [
            RecordingRule("before", "ratio:5m or ratio:1h"),  # selected before they are written
            RecordingRule("err:5m", 'sum(rate(req{code="500"}[5m]))'),
            RecordingRule("tot:5m", "sum(rate(req[5m]))"),
            RecordingRule("ratio:5m", "err:5m / tot:5m"),
            *(RecordingRule(f"ratio:{w}", f'sum by (inst) (rate(req{{code="500"}}[{w}])) / sum by (inst) (rate(req[{w}]))')
              for w in ("30m", "1h", "6h")),
            RecordingRule("ratio:1h_from_5m", "sum_over_time(err:5m[1h]) / sum_over_time(tot:5m[1h])"),
            AlertingRule("Burn", "ratio:1h > 0.05 and on() ratio:5m > 0.05", hold_ms=2 * MIN),
            AlertingRule("Ticket", "(ratio:6h > 0.05) unless on() (ratio:1h > 0.2 and ratio:5m > 0.05)"),
        ]
        g = Group("g", "f.yml", MIN, 0, rules, opts)
        states = []
        for i in range(60, 360, 7):
            g.eval(i * MIN)
            states.append(str(sorted((str(a.labels), a.state.name) for r in rules if isinstance(r, AlertingRule) for a in r.active_alerts())))
        out = {}
        for name in ("before", "err:5m", "tot:5m", "ratio:5m", "ratio:30m", "ratio:1h", "ratio:6h", "ratio:1h_from_5m", "ALERTS"):
            for ls, (ts, vs) in _series(st, name).items():
                out[ls] = (ts, np.asarray(vs).view(np.uint64).tolist())
        return out, states

    shared, shared_states = run(True)
    plain, plain_states = run(False)
    assert shared == plain
    assert shared_states == plain_states
    assert any("Burn" in s and "FIRING" in s for s in plain_states)  # the alerts do fire
