"""Helpers for controller and runner tests: metrics on the PromQL provider with a scripted
engine, analysis outcomes forced onto a state, a recording router."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar

from sloguard.delivery._controller_state import RolloutState
from sloguard.delivery._steps import Plan, analysis_metrics
from sloguard.delivery.analysis import (
    Measurement,
    MeasurementPhase,
    Metric,
    reconcile,
    run_from_state,
    run_to_state,
)
from sloguard.delivery.analysis.condition import Condition
from sloguard.delivery.analysis.providers import PromQLConfig
from sloguard.delivery.routers import (
    Feature,
    HeaderRoute,
    MirrorRoute,
    RouterError,
    WeightDestination,
)

T0 = 1_700_000_000_000
S = 1_000
M = 60 * S


def metric(name: str = "success-rate", query: str = "ok", interval_ms: int | None = None,
           count: int | None = None) -> Metric:
    """Successful when the (scripted) query answers at least 0.9; one error ends it in Error."""
    return Metric(name, PromQLConfig(query), Condition.compile("result >= 0.9"), interval_ms=interval_ms,
                  count=count, consecutive_error_limit=0)


def outcome(plan: Plan, state: RolloutState, key: str, phase: MeasurementPhase, now: int) -> RolloutState:
    """``state`` with the analysis ``key`` given one measurement of ``phase`` for each metric."""
    metrics = analysis_metrics(plan, key)
    run = run_from_state(state.analyses[key], metrics)
    got = {m.name: Measurement(phase, now, now, "[1]", "forced by the test") for m in metrics}
    return replace(state, analyses={**state.analyses, key: run_to_state(reconcile(run, now, got))})


class Crash(BaseException):
    """A process killed (SIGKILL) at this point: nothing after it runs."""


@dataclass
class World:
    """The traffic as a router left it, shared by the routers of successive processes."""

    weight: int = 0
    header: dict[str, HeaderRoute] = field(default_factory=dict)
    mirror: dict[str, MirrorRoute] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)


class FakeRouter:
    """Records each call in ``world`` and what the store held when it was made (``seen``).
    ``fail_at``: weights refused with RouterError; ``crash``: (weight, "before"|"after")."""

    TYPE: ClassVar[str] = "fake"

    def __init__(self, world: World, peek: object = None, fail_at: tuple[int, ...] = (),
                 crash: tuple[int, str] | None = None, lies: bool = False) -> None:
        self.world, self.peek, self.fail_at, self.crash = world, peek, set(fail_at), crash
        self.lies = lies  # set_weight returns but the weight does not change (verify says so)
        self.seen: list[object] = []

    def supports(self, feature: Feature) -> bool:
        return True

    def set_weight(self, canary_weight: int, additional: tuple[WeightDestination, ...] = ()) -> None:
        if callable(self.peek):
            self.seen.append(self.peek())
        if self.crash == (canary_weight, "before"):
            raise Crash()
        if canary_weight in self.fail_at:
            self.world.calls.append(f"fail {canary_weight}")
            raise RouterError(f"nginx -t refused the config for weight {canary_weight}", retryable=True)
        if not self.lies:
            self.world.weight = canary_weight
        self.world.calls.append(f"weight {canary_weight}")
        if self.crash == (canary_weight, "after"):
            raise Crash()

    def set_header_route(self, route: HeaderRoute) -> None:
        self.world.calls.append(f"header {route.name} {'on' if route.matches else 'off'}")
        if route.matches:
            self.world.header[route.name] = route
        else:
            self.world.header.pop(route.name, None)

    def set_mirror_route(self, route: MirrorRoute) -> None:
        self.world.calls.append(f"mirror {route.name} {route.percentage}")
        self.world.mirror[route.name] = route

    def remove_managed_routes(self) -> None:
        self.world.calls.append("remove routes")
        self.world.header.clear()
        self.world.mirror.clear()

    def verify_weight(self, canary_weight: int, additional: tuple[WeightDestination, ...] = ()) -> bool | None:
        return self.world.weight == canary_weight
