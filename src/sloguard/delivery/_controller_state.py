"""A rollout's state, its phases, and the small named transitions a person asks for.

Transitions (``promote``, ``pause``, ``resume``, ``abort``, ``retry``) only record the
request on the state; the next ``reconcile`` turns it into traffic actions and events, so
an abort still sets the canary's weight to 0 first, through the same path as any step.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any


class ControllerError(Exception):
    """A transition asked of a rollout in a phase that does not allow it, or a stored state
    this version cannot read."""


class RolloutPhase(enum.Enum):
    """Argo Rollouts' phases: Degraded is an aborted rollout, Healthy a completed one."""

    PENDING = "Pending"
    PROGRESSING = "Progressing"
    PAUSED = "Paused"
    DEGRADED = "Degraded"
    HEALTHY = "Healthy"

    @property
    def finished(self) -> bool:
        return self in (RolloutPhase.DEGRADED, RolloutPhase.HEALTHY)


class Promotion(enum.Enum):
    """A person's promote request: past the current pause (``STEP``) or to the end (``FULL``)."""

    STEP = "step"
    FULL = "full"


@dataclass(frozen=True, slots=True)
class RolloutState:
    """One rollout as stored. ``step_index`` is the first step not yet done;
    ``canary_weight`` and the active ``header_routes``/``mirror_routes`` (names) are the
    traffic the controller intends; ``traffic_pending`` says it was committed but not yet
    confirmed applied by the router (a restart re-applies it). ``analyses`` maps an
    analysis key to its run as ``run_to_state`` data. ``hold`` is why a person must
    resume (empty: none); ``accepted`` the inconclusive analyses a person let pass.
    ``revision`` counts saves (the store's compare-and-set); times are UTC epoch ms."""

    name: str
    phase: RolloutPhase = RolloutPhase.PENDING
    step_index: int = 0
    canary_weight: int = 0
    header_routes: tuple[str, ...] = ()
    mirror_routes: tuple[str, ...] = ()
    traffic_pending: bool = False
    analyses: dict[str, dict[str, Any]] = field(default_factory=dict)
    pause_started_ms: int | None = None
    hold: str = ""
    accepted: tuple[str, ...] = ()
    promotion: Promotion | None = None
    abort_reason: str = ""
    abort_requested: bool = False
    message: str = ""
    revision: int = 0
    created_ms: int = 0
    updated_ms: int = 0

    @property
    def analysis_phases(self) -> dict[str, str]:
        """Each analysis key with its run's phase (``Running``, ``Successful``, ...)."""
        return {k: str(v.get("phase", "")) for k, v in self.analyses.items()}


def new_state(name: str, now_ms: int) -> RolloutState:
    """A rollout about to start: Pending, no traffic on the canary."""
    return RolloutState(name, created_ms=now_ms, updated_ms=now_ms, message="Waiting to start.")


def promote(state: RolloutState, full: bool = False) -> RolloutState:
    """Past the current pause (or inconclusive hold), or with ``full`` straight to the end."""
    _require_running(state, "promote")
    return replace(state, promotion=Promotion.FULL if full else Promotion.STEP)


def pause(state: RolloutState, reason: str) -> RolloutState:
    """Hold the rollout where it is until a person resumes it."""
    _require_running(state, "pause")
    return replace(state, phase=RolloutPhase.PAUSED, hold=reason or "Paused by a person.")


def resume(state: RolloutState) -> RolloutState:
    """Lift a hold; inconclusive analyses that caused it are accepted as passed (a
    person's decision, as when Argo's rollout is resumed after an inconclusive run)."""
    _require_running(state, "resume")
    inconclusive = tuple(k for k, p in state.analysis_phases.items() if p == "Inconclusive")
    accepted = tuple(dict.fromkeys(state.accepted + inconclusive))
    phase = RolloutPhase.PAUSED if state.pause_started_ms is not None else RolloutPhase.PROGRESSING
    return replace(state, hold="", accepted=accepted, phase=phase)


def abort(state: RolloutState, reason: str) -> RolloutState:
    """Ask the next reconcile to abort: canary weight 0 first, then managed routes removed."""
    _require_running(state, "abort")
    return replace(state, abort_requested=True, abort_reason=reason or "Aborted by a person.")


def retry(state: RolloutState) -> RolloutState:
    """An aborted rollout started again from its first step (its analyses begin afresh)."""
    if state.phase is not RolloutPhase.DEGRADED:
        raise ControllerError(f"The rollout {state.name!r} is {state.phase.value}; only an aborted (Degraded) one can be retried.")
    return replace(
        state, phase=RolloutPhase.PENDING, step_index=0, analyses={}, pause_started_ms=None, hold="",
        accepted=(), promotion=None, abort_reason="", abort_requested=False, message="Retrying from the first step.",
    )


def _require_running(state: RolloutState, what: str) -> None:
    if state.phase.finished:
        raise ControllerError(f"The rollout {state.name!r} is {state.phase.value}; it cannot {what} (retry it first).")


_SCALARS = ("name", "step_index", "canary_weight", "traffic_pending", "pause_started_ms", "hold",
            "abort_reason", "abort_requested", "message", "revision", "created_ms", "updated_ms")

STATE_VERSION = 1


def state_to_dict(state: RolloutState) -> dict[str, Any]:
    """The state as JSON-safe data (the store keeps it whole)."""
    out: dict[str, Any] = {k: getattr(state, k) for k in _SCALARS}
    out.update(
        version=STATE_VERSION, phase=state.phase.value, header_routes=list(state.header_routes),
        mirror_routes=list(state.mirror_routes), analyses=state.analyses, accepted=list(state.accepted),
        promotion=state.promotion.value if state.promotion else None,
    )
    return out


def state_from_dict(data: dict[str, Any], where: str) -> RolloutState:
    """The state saved by ``state_to_dict``; ControllerError naming ``where`` if unreadable."""
    if data.get("version") != STATE_VERSION:
        raise ControllerError(f"{where}: a rollout state of version {data.get('version')!r} cannot be read "
                              f"(this sloguard writes version {STATE_VERSION}).")
    try:
        promotion = Promotion(data["promotion"]) if data.get("promotion") else None
        return RolloutState(
            **{k: data[k] for k in _SCALARS}, phase=RolloutPhase(data["phase"]),
            header_routes=tuple(data["header_routes"]), mirror_routes=tuple(data["mirror_routes"]),
            analyses=dict(data["analyses"]), accepted=tuple(data["accepted"]), promotion=promotion,
        )
    except (KeyError, ValueError, TypeError) as e:
        raise ControllerError(f"{where}: the stored rollout state is damaged: {e!r}.") from e
