"""The rule manager with an ownership (a cluster): only owned groups are evaluated, slots
come from the shard key (the same on replicas whose files live at other paths), and a new
spell of ownership starts from no alert state."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sloguard.labels import Matcher, MatchType
from sloguard.promql.engine import PromQLEngine
from sloguard.rules import (
    Group,
    ManagerOptions,
    ManualClock,
    RuleManager,
    engine_query_func,
    slot_timestamp,
)
from sloguard.tsdb.testing import MemoryStorage

T0 = 1_700_000_000_000
RULES = "groups:\n" + "".join(
    f"  - name: g{i}\n    interval: 10s\n    rules:\n      - record: out\n        expr: vector({i})\n"
    f"        labels: {{g: '{i}'}}\n" for i in range(6)
) + "  - name: alerts\n    interval: 10s\n    rules:\n      - alert: Always\n        expr: vector(1)\n        for: 1m\n"


class Owns:
    """An ownership a test sets by hand."""

    def __init__(self, keys: set[str]) -> None:
        self.keys = keys

    def owns(self, key: str) -> bool:
        return key in self.keys


def _manager(folder: Path, ownership: Owns, clock: ManualClock,
             storage: MemoryStorage | None = None) -> tuple[RuleManager, MemoryStorage]:
    storage = storage or MemoryStorage()
    m = RuleManager(ManagerOptions(query=engine_query_func(PromQLEngine(storage)), storage=storage,
                                   for_grace_period_ms=10_000), clock=clock, use_threads=False)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yml").write_text(RULES)
    m.update([str(folder / "rules.yml")])
    m.ownership = ownership
    m.shard_key = lambda g: f"rules/{g.name}"  # not the path: that differs between the two
    return m, storage


def _written(storage: MemoryStorage) -> dict[str, list[int]]:
    b = storage.querier().select([Matcher(MatchType.EQUAL, "__name__", "out")], 0, 2**62)
    return {dict(b.series(i)[0])["g"]: b.series(i)[1].tolist() for i in range(len(b))}


def test_each_replica_evaluates_only_its_groups_at_the_slots_both_agree_on(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    a, sa = _manager(tmp_path / "a", Owns({"rules/g0", "rules/g1", "rules/g2"}), clock)
    b, sb = _manager(tmp_path / "b", Owns({"rules/g3", "rules/g4", "rules/g5"}), clock)

    async def go() -> None:
        await a.start()
        await b.start()
        await clock.advance(60_000)
        await a.stop()
        await b.stop()

    asyncio.run(go())
    wa, wb = _written(sa), _written(sb)
    assert set(wa) == {"0", "1", "2"} and set(wb) == {"3", "4", "5"}
    for g, ts in {**wa, **wb}.items():
        assert len(ts) == 6
        assert all(t == slot_timestamp(t + 1, 10_000, f"rules/g{g}") for t in ts)  # the key's slots (ns, floored)
        assert all(t2 - t1 == 10_000 for t1, t2 in zip(ts, ts[1:], strict=False))


def test_ownership_moving_hands_the_next_slot_over_without_a_gap_or_a_repeat(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    own_a, own_b = Owns({"rules/g0"}), Owns(set())
    a, sa = _manager(tmp_path / "a", own_a, clock)
    b, sb = _manager(tmp_path / "b", own_b, clock)

    async def go() -> None:
        await a.start()
        await b.start()
        await clock.advance(30_000)
        own_a.keys, own_b.keys = set(), {"rules/g0"}
        await clock.advance(30_000)
        await a.stop()
        await b.stop()

    asyncio.run(go())
    ta, tb = _written(sa)["0"], _written(sb)["0"]
    assert ta and tb and max(ta) < min(tb)
    both = sorted(ta + tb)
    assert len(both) == len(set(both)) == 6 and all(t2 - t1 == 10_000 for t1, t2 in zip(both, both[1:], strict=False))


def test_a_new_spell_of_ownership_starts_without_old_alert_state(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    own = Owns({"rules/alerts"})
    a, _ = _manager(tmp_path / "a", own, clock)
    group: Group = next(g for g in a.groups() if g.name == "alerts")

    async def go() -> None:
        await a.start()
        await clock.advance(30_000)
        (rule,) = group.alerting_rules()
        first = next(iter(rule.active.values())).active_at
        own.keys = set()
        await clock.advance(30_000)
        own.keys = {"rules/alerts"}
        await clock.advance(20_000)
        again = next(iter(rule.active.values())).active_at
        assert again > first + 30_000  # pending anew from when it came back, not from the old spell
        await a.stop()

    asyncio.run(go())


def test_a_group_taken_back_restores_the_for_state_its_last_holder_wrote(tmp_path: Path) -> None:
    """Two replicas on one store (a shared backend): a holds the pending alert, then b, then
    a again. Each new holder writes no ALERTS_FOR_STATE until it restored, so a, coming
    back, restores b's activeAt instead of reading back its own fresh one."""
    clock = ManualClock(T0)
    shared = MemoryStorage()
    own_a, own_b = Owns({"rules/alerts"}), Owns(set())
    a, _ = _manager(tmp_path / "a", own_a, clock, shared)
    b, _ = _manager(tmp_path / "b", own_b, clock, shared)

    def active_at(m: RuleManager) -> int:
        (rule,) = m.alerting_rules()
        return next(iter(rule.active.values())).active_at

    async def go() -> None:
        await a.start()
        await b.start()
        await clock.advance(40_000)
        first = active_at(a)
        own_a.keys, own_b.keys = set(), {"rules/alerts"}
        await clock.advance(40_000)
        assert first < active_at(b) <= first + 20_000  # moved on by the time nobody evaluated it
        own_a.keys, own_b.keys = {"rules/alerts"}, set()
        back_at = clock.now_ms()
        await clock.advance(40_000)
        assert active_at(a) <= first + 40_000 < back_at  # restored, not pending anew since back_at
        await a.stop()
        await b.stop()

    asyncio.run(go())


def test_a_take_over_catches_up_the_latest_slot_only_if_the_old_lease_had_ended_by_then(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    own = Owns(set())
    a, sa = _manager(tmp_path / "a", own, clock)
    key = "rules/g1"
    slot = slot_timestamp(T0, 10_000, key) + 20_000

    async def go() -> None:
        await a.start()
        await clock.advance_to(slot + 400)
        own.keys = {key}
        a.catch_up(key, slot + 1)  # the old lease ended after the slot: it may have been evaluated
        await clock.advance(1)
        assert "1" not in _written(sa)
        a.catch_up(key, slot - 300)  # it ended before: nobody can have evaluated it
        await clock.advance(1)
        assert _written(sa)["1"] == [slot]
        a.catch_up(key, slot - 300)  # done already: not again
        await clock.advance(10_000)
        assert _written(sa)["1"] == [slot, slot + 10_000]
        await a.stop()

    asyncio.run(go())


def test_a_catch_up_after_an_earlier_spell_does_not_fire_on_the_old_alert_state(tmp_path: Path) -> None:
    """The alert was pending here long ago; the group comes back through a catch-up
    evaluation: pending anew from that slot, not fired on the old ``activeAt``."""
    clock = ManualClock(T0)
    own = Owns({"rules/alerts"})
    a, _ = _manager(tmp_path / "a", own, clock)
    sent: list[str] = []
    a.notify = lambda expr, alerts: sent.extend(str(x.state) for x in alerts)
    key = "rules/alerts"

    async def go() -> None:
        await a.start()
        await clock.advance(40_000)
        own.keys = set()
        await clock.advance(60_000)
        own.keys = {key}
        slot = slot_timestamp(clock.now_ms(), 10_000, key)
        a.catch_up(key, slot - 300)
        await clock.advance(1)
        (rule,) = a.alerting_rules()
        assert [(str(x.state), x.active_at) for x in rule.active.values()] == [("pending", slot)]
        assert sent == []
        await a.stop()

    asyncio.run(go())


def test_a_reload_keeps_the_alert_state_of_an_owned_group(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    a, _ = _manager(tmp_path / "a", Owns({"rules/alerts"}), clock)

    async def go() -> None:
        await a.start()
        await clock.advance(30_000)
        before = {r.name: next(iter(r.active.values())).active_at for r in a.alerting_rules()}
        (tmp_path / "a" / "rules.yml").write_text(RULES.replace("for: 1m", "for: 2m"))  # the group changes
        a.reload()
        await clock.advance(20_000)
        after = {r.name: next(iter(r.active.values())).active_at for r in a.alerting_rules()}
        assert after == before
        await a.stop()

    asyncio.run(go())
