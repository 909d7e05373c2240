"""The rollout runner: the loop around the pure controller.

Each ``tick`` of a rollout:

1. loads its state; if traffic was committed but not confirmed (``traffic_pending``: the
   process died between the commit and the router's answer), re-applies that committed
   traffic, which is idempotent: the weight is set to the same value, never the next one;
2. advances its running analyses (measures what is due);
3. calls ``reconcile``; a new state is COMMITTED, with its events, before any traffic
   action is performed, marked ``traffic_pending`` when it carries one;
4. performs the traffic actions through the router (synchronous routers run on a thread),
   then commits the state again with the traffic confirmed;
5. sends each event as an alert once its traffic is in place (``alertname`` the event's
   type, labels ``rollout``, ``service``, ``severity``). Events are stored with the commit
   of step 3; an alert not sent because the process died is not sent later.

A router failure pauses the rollout with the reason: the state goes back to the step and
the traffic it had before (the last committed consistent one) and the router is asked to
restore that traffic; an abort whose traffic fails stays aborted and is re-applied at the
next tick. A save that loses the compare-and-set (a person's command came first) changes
nothing; the next tick starts from what was stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sloguard.alerting.service import AlertingService
from sloguard.clock import Clock
from sloguard.delivery._controller_actions import EmitEvent, Severity, TrafficAction
from sloguard.delivery._controller_state import (
    ControllerError,
    RolloutPhase,
    RolloutState,
    abort,
    new_state,
    pause,
    promote,
    resume,
    retry,
)
from sloguard.delivery._runner_io import load, perform, save, send_alerts, stored_events, traffic_of
from sloguard.delivery._steps import Plan, analysis_metrics
from sloguard.delivery.analysis import run_from_state, run_to_state, step
from sloguard.delivery.analysis.providers import ProviderEnv
from sloguard.delivery.controller import Inputs, reconcile
from sloguard.delivery.policy import BudgetSource, Force, enforce_start, page_alert
from sloguard.delivery.routers import TrafficRouter
from sloguard.state import RevisionConflict, RolloutRepository

__all__ = ["RolloutRunner"]

DEFAULT_TICK_MS = 1_000
"""How often ``run`` reconciles a rollout."""
_COMMAND_TRIES = 5


class RolloutRunner:
    """Drives rollouts with one traffic router, stored in ``repo``; see the module doc."""

    def __init__(self, repo: RolloutRepository, router: TrafficRouter, env: ProviderEnv, clock: Clock,
                 alerting: AlertingService | None = None, budget: BudgetSource | None = None,
                 tick_ms: int = DEFAULT_TICK_MS) -> None:
        self.repo, self.router, self.env, self.clock = repo, router, env, clock
        self.alerting, self.budget, self.tick_ms = alerting, budget, tick_ms

    def get(self, name: str) -> RolloutState | None:
        """The stored state of the rollout ``name``."""
        return load(self.repo, name)

    async def start(self, plan: Plan, force: Force | None = None) -> RolloutState:
        """Create the rollout (a finished one of that name is replaced) after the error-budget
        policy allows it (PolicyError if not), then reconcile it once."""
        old = load(self.repo, plan.name)
        if old is not None and not old.phase.finished:
            raise ControllerError(f"The rollout {plan.name!r} is already {old.phase.value}; abort it or let it finish first.")
        now = self.clock.now_ms()
        if self.budget is not None:
            enforce_start(self.repo, self.budget, plan.name, plan.service, now, force)
        save(self.repo, replace(new_state(plan.name, now), revision=old.revision if old else 0))
        return await self.tick(plan)

    async def tick(self, plan: Plan) -> RolloutState:
        """One reconcile of the rollout, committed before its traffic moves."""
        s = self._require(plan.name)
        try:
            if s.traffic_pending:
                s = await self._reapply(plan, s)
                if s.traffic_pending:
                    return s
            if s.phase.finished:
                return s
            return await self._reconcile(plan, s, await self._advance(plan, s))
        except RevisionConflict:
            return self._require(plan.name)

    async def run(self, plan: Plan, until_ms: int | None = None) -> RolloutState:
        """Tick every ``tick_ms`` until the rollout finishes (or ``until_ms`` passes)."""
        s = await self.tick(plan)
        while not s.phase.finished or s.traffic_pending:
            nxt = self.clock.now_ms() + self.tick_ms
            if until_ms is not None and nxt > until_ms:
                break
            await self.clock.sleep_until(nxt)
            s = await self.tick(plan)
        return s

    async def promote(self, plan: Plan, actor: str, full: bool = False) -> RolloutState:
        return await self._command(plan, actor, "Promote", "Promote requested.", lambda s: promote(s, full))

    async def pause(self, plan: Plan, actor: str, reason: str) -> RolloutState:
        return await self._command(plan, actor, "Pause", reason, lambda s: pause(s, f"Paused by {actor}: {reason}"))

    async def resume(self, plan: Plan, actor: str) -> RolloutState:
        return await self._command(plan, actor, "Resume", "Resume requested.", resume)

    async def abort(self, plan: Plan, actor: str, reason: str) -> RolloutState:
        return await self._command(plan, actor, "Abort", reason, lambda s: abort(s, f"Aborted by {actor}: {reason}"))

    async def retry(self, plan: Plan, actor: str) -> RolloutState:
        return await self._command(plan, actor, "Retry", "Retry requested.", retry)

    async def _command(self, plan: Plan, actor: str, what: str, why: str,
                       change: Callable[[RolloutState], RolloutState]) -> RolloutState:
        """A person's transition saved (retried on a lost compare-and-set), then a tick."""
        for _ in range(_COMMAND_TRIES):
            s = self._require(plan.name)
            now = self.clock.now_ms()
            event = EmitEvent(f"Rollout{what}Requested", what, why)
            try:
                save(self.repo, replace(change(s), updated_ms=now), stored_events(plan.name, [event], now, actor))
            except RevisionConflict:
                continue
            send_alerts(self.alerting, plan, [event], now, actor)
            return await self.tick(plan)
        raise ControllerError(f"The rollout {plan.name!r} kept changing; the {what.lower()} was not saved.")

    def _require(self, name: str) -> RolloutState:
        s = load(self.repo, name)
        if s is None:
            raise ControllerError(f"There is no rollout named {name!r}; start it first.")
        return s

    async def _advance(self, plan: Plan, s: RolloutState) -> RolloutState:
        analyses = dict(s.analyses)
        for key, data in s.analyses.items():
            if data.get("phase") in ("Pending", "Running"):
                run = run_from_state(data, analysis_metrics(plan, key))
                analyses[key] = run_to_state(await step(run, self.env, self.clock.now_ms(), self.clock))
        return replace(s, analyses=analyses)

    async def _reconcile(self, plan: Plan, loaded: RolloutState, s: RolloutState) -> RolloutState:
        """Reconcile ``s`` (``loaded`` with its analyses advanced); save only what changed."""
        now = self.clock.now_ms()
        d = reconcile(plan, s, now, Inputs(page_alert(self.budget, plan.service)))
        if not d.actions and replace(d.state, updated_ms=loaded.updated_ms) == loaded:
            return loaded
        traffic = d.traffic
        saved = self._commit(plan, replace(d.state, traffic_pending=bool(traffic)), d.events, now, alert=not traffic)
        if not traffic:
            return saved
        return await self._apply(plan, loaded, saved, traffic, d.events)

    def _commit(self, plan: Plan, s: RolloutState, events: tuple[EmitEvent, ...], now: int,
                alert: bool = True) -> RolloutState:
        saved = save(self.repo, s, stored_events(plan.name, events, now))
        if alert:
            send_alerts(self.alerting, plan, events, now, "controller")
        return saved

    async def _apply(self, plan: Plan, before: RolloutState, saved: RolloutState,
                     actions: tuple[TrafficAction, ...], events: tuple[EmitEvent, ...]) -> RolloutState:
        """Perform ``actions`` (``saved`` is committed); the events go out as alerts once the
        traffic is in place, or, when the router fails, only those that still hold (an abort)."""
        try:
            for a in actions:
                await perform(self.router, a)
        except Exception as e:  # any router failure pauses the rollout; it never kills the loop
            if saved.phase is RolloutPhase.DEGRADED:
                send_alerts(self.alerting, plan, events, self.clock.now_ms(), "controller")
            return await self._router_failed(plan, before, saved, e)
        confirmed = save(self.repo, replace(saved, traffic_pending=False))
        send_alerts(self.alerting, plan, events, self.clock.now_ms(), "controller")
        return confirmed

    async def _reapply(self, plan: Plan, s: RolloutState) -> RolloutState:
        """Bring the router to the committed traffic of ``s`` (after a restart or a failure)."""
        try:
            for a in traffic_of(plan, s):
                await perform(self.router, a)
        except Exception as e:  # still failing: held with the reason, retried next tick
            return self._hold_for_router(plan, s, e, pending=True)
        return save(self.repo, replace(s, traffic_pending=False))

    async def _router_failed(self, plan: Plan, before: RolloutState, saved: RolloutState, e: Exception) -> RolloutState:
        if saved.phase is RolloutPhase.DEGRADED:  # an abort never goes back: retried next tick
            return self._hold_for_router(plan, saved, e, pending=True)
        back = replace(saved, step_index=before.step_index, canary_weight=before.canary_weight,
                       header_routes=before.header_routes, mirror_routes=before.mirror_routes,
                       pause_started_ms=before.pause_started_ms, phase=RolloutPhase.PROGRESSING)
        try:
            for a in traffic_of(plan, back):
                await perform(self.router, a)
            restored = True
        except Exception:  # the router cannot even go back: re-applied at the next tick
            restored = False
        return self._hold_for_router(plan, back, e, pending=not restored)

    def _hold_for_router(self, plan: Plan, s: RolloutState, e: Exception, pending: bool) -> RolloutState:
        now = self.clock.now_ms()
        why = f"The traffic router failed: {e}" if str(e) else f"The traffic router failed: {type(e).__name__}."
        first = not s.hold.startswith("The traffic router failed")
        if s.phase.finished:
            s = replace(s, message=f"Aborted: {s.abort_reason} {why} It is retried at the next tick.")
        else:
            held = f"{why} Traffic is left at {s.canary_weight}% to the canary."
            s = replace(s, phase=RolloutPhase.PAUSED, hold=held, message=f"{held} A person must resume the rollout.")
        events = (EmitEvent("RolloutPaused", "RouterFailed", s.message, Severity.WARNING),) if first else ()
        return self._commit(plan, replace(s, traffic_pending=pending, updated_ms=now), events, now)
