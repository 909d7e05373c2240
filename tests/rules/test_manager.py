"""The manager's loop on a manual clock: slotted evaluations, restore, reload, stale on removal."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from sloguard.labels import Labels, Matcher, MatchType
from sloguard.rules import Alert, ManagerOptions, ManualClock, RuleFileError, RuleManager
from sloguard.tsdb import stale_mask
from sloguard.tsdb.testing import MemoryStorage

MIN = 60_000
T0 = 1_700_000_000_000

RULES = """
groups:
  - name: g
    interval: 1m
    rules:
      - record: one
        expr: vector(1)
      - alert: Always
        expr: vector(1)
        for: 2m
"""


def _samples(storage: MemoryStorage, name: str) -> dict[Labels, tuple[list[int], list[float]]]:
    b = storage.querier().select([Matcher(MatchType.EQUAL, "__name__", name)], -(2**62), 2**62)
    return {b.series(i)[0]: (b.series(i)[1].tolist(), b.series(i)[2].tolist()) for i in range(len(b))}


def _write(tmp_path: Path, text: str) -> str:
    p = tmp_path / "rules.yml"
    p.write_text(text)
    return str(p)


def test_groups_evaluate_at_slotted_times_and_send_firing_alerts(tmp_path: Path, storage: MemoryStorage, opts: ManagerOptions) -> None:
    sent: list[tuple[str, list[Alert]]] = []
    clock = ManualClock(T0)
    m = RuleManager(opts, notify=lambda e, a: sent.append((e, list(a))), clock=clock, use_threads=False)
    m.update([_write(tmp_path, RULES)])
    (g,) = m.groups()
    first = g.eval_timestamp(T0) + MIN

    async def go() -> None:
        await m.start()
        await clock.advance_to(first + 4 * MIN)
        await m.stop()

    asyncio.run(go())
    ((ts, _),) = _samples(storage, "one").values()
    assert ts == [first + i * MIN for i in range(5)]
    alert_rule = m.alerting_rules()[0]
    assert alert_rule.restored  # restored after the second evaluation
    assert sent and sent[0][0] == "vector(1)"
    assert all(a.labels.get("alertname") == "Always" for _, alerts in sent for a in alerts)
    # ALERTS is written only once restored (after the 2nd evaluation), so never as pending here
    alerts = _samples(storage, "ALERTS")
    assert list(alerts) == [Labels.of(name__="ALERTS", alertname="Always", alertstate="firing")]
    assert alerts[Labels.of(name__="ALERTS", alertname="Always", alertstate="firing")][0][0] == first + 2 * MIN


def test_bad_reload_keeps_running_rules_and_reports_error(tmp_path: Path, opts: ManagerOptions) -> None:
    m = RuleManager(opts, use_threads=False)
    path = _write(tmp_path, RULES)
    m.update([path])
    Path(path).write_text("groups:\n  - name: g\n    rules:\n      - record: x\n        expr: 'up +'\n")
    with pytest.raises(RuleFileError):
        m.update([path])
    assert [r.name for g in m.groups() for r in g.rules] == ["one", "Always"]
    assert not m.last_reload_ok and "could not parse expression" in m.last_reload_error


def test_reload_carries_alert_state_of_unchanged_rules(tmp_path: Path, opts: ManagerOptions) -> None:
    m = RuleManager(opts, use_threads=False)
    path = _write(tmp_path, RULES)
    m.update([path])
    (g,) = m.groups()
    g.eval(T0)
    before = m.alerting_rules()[0].active_alerts()[0]
    Path(path).write_text(RULES.replace("interval: 1m", "interval: 30s"))
    m.update([path])
    after = m.alerting_rules()[0].active_alerts()[0]
    assert m.groups()[0] is not g and after.active_at == before.active_at == T0


def test_removed_rule_series_marked_stale_after_two_intervals(tmp_path: Path, storage: MemoryStorage, opts: ManagerOptions) -> None:
    clock = ManualClock(T0)
    m = RuleManager(opts, clock=clock, use_threads=False)
    path = _write(tmp_path, RULES)
    m.update([path])
    (g,) = m.groups()
    first = g.eval_timestamp(T0) + MIN

    async def go() -> None:
        await m.start()
        await clock.advance_to(first + MIN + 5_000)
        Path(path).write_text("groups: []\n")
        m.update([path])
        removed_at = clock.now_ms()
        await clock.advance_to(removed_at + 2 * MIN)
        await m.stop()

    asyncio.run(go())
    ((ts, vs),) = _samples(storage, "one").values()
    assert ts[-1] == first + MIN + 5_000 and bool(stale_mask(np.array(vs))[-1])


def test_rule_manager_for_globs_relative_to_base_dir_and_reglobs_on_reload(tmp_path: Path, storage: MemoryStorage) -> None:
    from sloguard.promql.engine import PromQLEngine
    from sloguard.rules import rule_manager_for

    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.yml").write_text(RULES)
    m = rule_manager_for(storage, PromQLEngine(storage), ["rules/*.yml"], base_dir=str(tmp_path))
    assert [g.file for g in m.groups()] == [str(tmp_path / "rules" / "a.yml")]
    (tmp_path / "rules" / "b.yml").write_text(RULES.replace("name: g", "name: h"))
    m.reload()
    assert [g.name for g in m.groups()] == ["g", "h"]


def test_collector_exposes_prometheus_named_group_metrics(tmp_path: Path, opts: ManagerOptions) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from sloguard.rules import RuleManagerCollector

    m = RuleManager(opts, use_threads=False)
    path = _write(tmp_path, RULES)
    m.update([path])
    m.groups()[0].eval(T0)
    reg = CollectorRegistry()
    reg.register(RuleManagerCollector(m))
    text = generate_latest(reg).decode()
    key = f"{path};g"
    assert f'prometheus_rule_group_rules{{rule_group="{key}"}} 2.0' in text
    assert f'prometheus_rule_evaluations_total{{rule_group="{key}"}} 2.0' in text
    assert f'prometheus_rule_group_interval_seconds{{rule_group="{key}"}} 60.0' in text
    assert "prometheus_rule_group_last_duration_seconds" in text


def test_in_process_rule_files_load_beside_files_and_all_errors_are_reported(tmp_path: Path, opts: ManagerOptions) -> None:
    from sloguard.rules import parse_rule_text

    generated, errs = parse_rule_text(RULES.replace("name: g", "name: slo"), "slo:checkout")
    assert generated is not None and not errs
    m = RuleManager(opts, use_threads=False)
    m.update([_write(tmp_path, RULES), generated])
    assert sorted(g.key for g in m.groups())[-1] == "slo:checkout;slo"
    bad1 = tmp_path / "bad1.yml"
    bad1.write_text("groups: [{name: a, rules: [{record: x, expr: 'up +'}]}]\n")
    bad2 = tmp_path / "bad2.yml"
    bad2.write_text("groups: [{name: '', rules: []}]\n")
    with pytest.raises(RuleFileError) as ei:
        m.update([str(bad1), str(bad2)])
    assert [e.split(":")[0] for e in ei.value.errors] == [str(bad1), str(bad2)]


def test_restart_restores_for_state_from_alerts_for_state(tmp_path: Path, storage: MemoryStorage, opts: ManagerOptions) -> None:
    """Pending 20m of a 1h `for`, down 10m, restarted: the alert keeps its head start
    (ActiveAt moved forward by the downtime only) instead of starting from zero."""
    path = tmp_path / "r.yml"
    path.write_text("groups:\n- name: g\n  interval: 1m\n  rules:\n  - alert: Slow\n    expr: vector(1)\n    for: 1h\n")
    clock = ManualClock(T0)

    async def run(m: RuleManager, until: int) -> None:
        await m.start()
        await clock.advance_to(until)
        await m.stop()

    first = RuleManager(opts, clock=clock, use_threads=False)
    first.update([str(path)])
    asyncio.run(run(first, T0 + 21 * MIN))
    (before,) = first.alerting_rules()[0].active_alerts()
    down_at = clock.now_ms()
    asyncio.run(clock.advance_to(down_at + 10 * MIN))  # the outage
    second = RuleManager(opts, clock=clock, use_threads=False)
    second.update([str(path)])
    asyncio.run(run(second, down_at + 10 * MIN + 3 * MIN))
    (after,) = second.alerting_rules()[0].active_alerts()
    shift = after.active_at - before.active_at
    # moved forward by the time between the last ALERTS_FOR_STATE sample and the restore
    # (the 10m outage plus the two evaluations before restoring), not reset to "now"
    assert 11 * MIN <= shift <= 13 * MIN
    assert after.active_at < down_at
    assert second.alerting_rules()[0].restored


def test_reload_from_a_worker_thread_while_running(tmp_path: Path, storage: MemoryStorage, opts: ManagerOptions) -> None:
    """SIGHUP reloads run ``update`` in a thread: groups must still be (re)started on the loop."""
    clock = ManualClock(T0)
    m = RuleManager(opts, clock=clock, use_threads=False)
    path = _write(tmp_path, RULES)
    m.update([path])

    async def go() -> None:
        await m.start()
        await clock.advance(2 * MIN)
        Path(path).write_text(RULES.replace("record: one", "record: two"))
        await asyncio.to_thread(m.reload)
        await clock.advance(3 * MIN)
        await m.stop()

    asyncio.run(go())
    assert _samples(storage, "two"), "the reloaded group did not run"
    ((ts, vs),) = _samples(storage, "one").values()
    assert bool(stale_mask(np.array(vs))[-1])  # the removed rule's series was marked stale
