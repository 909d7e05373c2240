"""Simulated worlds for SLO tests: synthetic traffic and rule evaluation on a fake clock.

``SimWorld`` writes request counters into a real TSDB, loads the rules generated for an
SLO, and evaluates the groups at chosen timestamps, recording every alert transition, so
tests can replay days of traffic without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sloguard.labels import Labels
from sloguard.promql.engine import PromQLEngine
from sloguard.rules import AlertingRule, AlertState, ManagerOptions, RuleManager, engine_query_func
from sloguard.slo import rulegen
from sloguard.slo._yaml import dump_yaml
from sloguard.slo.model import SLO
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions

ErrorFraction = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, slots=True)
class Transition:
    """An alert of ``tier`` changed to ``state`` (inactive, pending, firing) at ``t_ms``."""

    t_ms: int
    alert: str
    tier: str
    state: str


@dataclass
class SimWorld:
    path: Path
    slo: SLO
    interval_ms: int = 60_000
    transitions: list[Transition] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.db = TSDB.open(self.path / "data", TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
        self.engine = PromQLEngine(self.db)
        rules = self.path / "slo.rules.yml"
        rules.write_text(dump_yaml([rulegen.generate([self.slo], self.interval_ms)]))
        opts = ManagerOptions(query=engine_query_func(self.engine), storage=self.db)
        self.manager = RuleManager(opts, use_threads=False)
        self.groups = list(self.manager.load_groups([str(rules)]).values())
        self._state: dict[str, str] = {}

    def write_traffic(self, start_ms: int, end_ms: int, step_ms: int, rps: float, error_fraction: ErrorFraction) -> None:
        """Counters ``requests_total{code="200"|"500"}`` sampled every ``step_ms``; the
        share of requests failing in the step ending at ``t`` is ``error_fraction(t)``.
        Samples are ingested as simulated time reaches them (``run``), as a scrape would."""
        ts = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        per_step = rps * step_ms / 1000
        frac = error_fraction(ts)
        self._traffic = (ts, np.cumsum(per_step * (1 - frac)), np.cumsum(per_step * frac))
        self._ingested = 0

    def _ingest_until(self, t_ms: int) -> None:
        ts, good, bad = self._traffic
        upto = int(np.searchsorted(ts, t_ms, side="right"))
        if upto <= self._ingested:
            return
        part = slice(self._ingested, upto)
        app = self.db.appender()
        app.append_many(Labels.of(name__="requests_total", code="200", job="api"), ts[part], good[part])
        app.append_many(Labels.of(name__="requests_total", code="500", job="api"), ts[part], bad[part])
        res = app.commit()
        if res.rejected_total:
            raise RuntimeError("; ".join(res.errors))
        self._ingested = upto

    def run(self, start_ms: int, end_ms: int) -> None:
        """Ingest traffic up to each tick, then evaluate every group due at that tick."""
        for ts in range(start_ms, end_ms + 1, self.interval_ms):
            self._ingest_until(ts)
            for g in self.groups:
                if (ts - start_ms) % g.interval_ms == 0:
                    g.eval(ts)
                    bad = [r.status.last_error for r in g.rules if r.status.last_error]
                    if bad:
                        raise RuntimeError(f"rule evaluation failed at {ts}: {bad[0]}")
            self._record(ts)

    def _record(self, ts: int) -> None:
        """One transition per tier when the highest state over its rules (one per window pair) changes."""
        states: dict[str, tuple[str, AlertState]] = {}
        for g in self.groups:
            for rule in g.rules:
                if isinstance(rule, AlertingRule):
                    tier = rule.labels.get(rulegen.TIER_LABEL)
                    state = max((a.state for a in rule.active_alerts()), default=AlertState.INACTIVE)
                    if tier not in states or state > states[tier][1]:
                        states[tier] = (rule.name, state)
        for tier, (name, state) in states.items():
            if self._state.get(tier, "inactive") != str(state):
                self.transitions.append(Transition(ts, name, tier, str(state)))
                self._state[tier] = str(state)

    def first(self, tier: str, state: str) -> int | None:
        return next((t.t_ms for t in self.transitions if t.tier == tier and t.state == state), None)

    def close(self) -> None:
        self.db.close()
