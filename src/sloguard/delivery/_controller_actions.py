"""What a reconcile asks the runner to do, in order: traffic actions for the router,
analysis starts, and events (each one stored and sent as an alert)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sloguard.delivery._controller_state import RolloutState
from sloguard.delivery.routers import HeaderRoute, MirrorRoute


@dataclass(frozen=True, slots=True)
class SetWeightAction:
    """Send ``weight`` percent of traffic to the canary."""

    weight: int


@dataclass(frozen=True, slots=True)
class SetHeaderRouteAction:
    route: HeaderRoute


@dataclass(frozen=True, slots=True)
class SetMirrorRouteAction:
    route: MirrorRoute


@dataclass(frozen=True, slots=True)
class RemoveManagedRoutesAction:
    """Remove every header and mirror route the rollout set."""


TrafficAction = SetWeightAction | SetHeaderRouteAction | SetMirrorRouteAction | RemoveManagedRoutesAction


@dataclass(frozen=True, slots=True)
class StartAnalysis:
    """An analysis run was started (it is already in the new state, under ``key``)."""

    key: str


class Severity(enum.Enum):
    """How loud an event's alert is (the ``severity`` label)."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class EmitEvent:
    """A transition to record and send as an alert named ``type`` (``RolloutAborted``...),
    with a machine-readable ``reason`` (``AnalysisFailed``...) and a sentence."""

    type: str
    reason: str
    message: str
    severity: Severity = Severity.INFO


Action = TrafficAction | StartAnalysis | EmitEvent


@dataclass(frozen=True, slots=True)
class Decision:
    """A reconcile's result: the state to commit, then the actions to perform in order."""

    state: RolloutState
    actions: tuple[Action, ...] = ()

    @property
    def traffic(self) -> tuple[TrafficAction, ...]:
        return tuple(a for a in self.actions if isinstance(a, TrafficAction))

    @property
    def events(self) -> tuple[EmitEvent, ...]:
        return tuple(a for a in self.actions if isinstance(a, EmitEvent))
