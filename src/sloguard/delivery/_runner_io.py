"""The runner's side effects, kept apart from its loop: traffic through the router (on a
thread: routers are synchronous), the state store (records and events), and events as
alerts through the alerting pipeline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace

from sloguard.alerting.model import Alert
from sloguard.alerting.service import AlertingService
from sloguard.delivery._controller_actions import (
    EmitEvent,
    RemoveManagedRoutesAction,
    SetHeaderRouteAction,
    SetMirrorRouteAction,
    SetWeightAction,
    TrafficAction,
)
from sloguard.delivery._controller_state import RolloutState, state_from_dict, state_to_dict
from sloguard.delivery._steps import Plan
from sloguard.delivery.routers import HeaderRoute, MirrorRoute, RouterError, TrafficRouter
from sloguard.state import RolloutEvent, RolloutRecord, RolloutRepository

log = logging.getLogger(__name__)


async def perform(router: TrafficRouter, action: TrafficAction) -> None:
    """One traffic action through the router, on a worker thread; the router's error
    propagates. A weight the router can verify and finds not in force is a RouterError."""
    match action:
        case SetWeightAction(weight=w):
            await asyncio.to_thread(router.set_weight, w)
            if await asyncio.to_thread(router.verify_weight, w) is False:
                raise RouterError(f"The {router.TYPE!r} traffic router reports the canary weight is not {w}% after setting it.")
        case SetHeaderRouteAction(route=r):
            await asyncio.to_thread(router.set_header_route, r)
        case SetMirrorRouteAction(route=r):
            await asyncio.to_thread(router.set_mirror_route, r)
        case RemoveManagedRoutesAction():
            await asyncio.to_thread(router.remove_managed_routes)


def traffic_of(plan: Plan, state: RolloutState) -> tuple[TrafficAction, ...]:
    """The actions that bring the router to the traffic ``state`` intends, whatever it has
    now: the canary weight first, then each of the plan's routes set (if active) or removed."""
    out: list[TrafficAction] = [SetWeightAction(state.canary_weight)]
    if not state.header_routes and not state.mirror_routes:
        out.append(RemoveManagedRoutesAction())
        return tuple(out)
    for kind, route in plan.routes():
        if isinstance(route, HeaderRoute):
            on = route.name in state.header_routes
            out.append(SetHeaderRouteAction(route if on else HeaderRoute(route.name)))
        elif kind == "mirror":
            on = route.name in state.mirror_routes
            out.append(SetMirrorRouteAction(route if on else MirrorRoute(route.name, percentage=0)))
    return tuple(out)


def load(repo: RolloutRepository, name: str) -> RolloutState | None:
    """The stored state of the rollout ``name`` (its revision the store's), or None."""
    record = repo.get(name)
    if record is None:
        return None
    state = state_from_dict(record.state, f"the stored rollout {name!r}")
    return replace(state, revision=record.revision)


def save(repo: RolloutRepository, state: RolloutState, events: Sequence[RolloutEvent] = ()) -> RolloutState:
    """Commit ``state`` (compare-and-set on its revision) with ``events``; RevisionConflict if it lost."""
    record = RolloutRecord(state.name, state.revision, state.phase.value, state_to_dict(state), state.updated_ms)
    saved = repo.save(record, events)
    return replace(state, revision=saved.revision)


def stored_events(name: str, events: Sequence[EmitEvent], now_ms: int, actor: str = "controller") -> list[RolloutEvent]:
    return [RolloutEvent(name, now_ms, e.type, e.reason, e.message, actor) for e in events]


def send_alerts(alerting: AlertingService | None, plan: Plan, events: Sequence[EmitEvent], now_ms: int, actor: str) -> None:
    """Each event as an alert named after its type; a pipeline that refuses is logged, never fatal."""
    if alerting is None or not events:
        return
    alerts = [
        Alert.of(
            {"alertname": e.type, "rollout": plan.name, "service": plan.service, "severity": e.severity.value},
            {"summary": e.message, "reason": e.reason, "actor": actor},
            starts_at=now_ms,
        )
        for e in events
    ]
    try:
        alerting.receive(alerts)
    except Exception:  # an alerting failure must not stop a rollout; the events are stored
        log.exception("The alerting pipeline refused the events of the rollout %r.", plan.name)
