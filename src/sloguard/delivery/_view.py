"""JSON views of served rollouts (camelCase, times RFC 3339 UTC), for the HTTP API and the
CLI: a summary per rollout, a full view with its steps, analyses and events, and the text
of ``sloguard rollout explain``. Pure functions of the stored state, spec and plan."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sloguard.delivery._controller_state import RolloutState
from sloguard.delivery._spec_model import BlueGreenStrategy, RolloutSpec
from sloguard.delivery._steps import (
    AnalysisStep,
    Pause,
    Plan,
    PlanError,
    SetHeaderRoute,
    SetMirrorRoute,
    SetWeight,
    Step,
    Wait,
    analysis_metrics,
)
from sloguard.delivery.analysis import AnalysisError, AnalysisRun, Measurement, run_from_state
from sloguard.delivery.explain import explain_lines
from sloguard.state import RolloutEvent

__all__ = ["explain_text", "full_view", "rfc3339", "step_text", "summary"]


def rfc3339(ms: int | None) -> str | None:
    """``ms`` (UTC epoch milliseconds) as ``2026-12-03T21:30:00.123Z``; None stays None."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def step_text(step: Step) -> str:
    """One step as a person reads it (``setWeight 20``, ``pause until promoted``)."""
    match step:
        case SetWeight(weight=w):
            return f"setWeight {w}"
        case Pause(duration_ms=None):
            return "pause until promoted"
        case Pause(duration_ms=d):
            return f"pause {_seconds(d)}"
        case Wait(duration_ms=d):
            return f"wait {_seconds(d)} (scale-down delay)"
        case AnalysisStep(name=n, metrics=ms):
            return f"analysis {n} ({', '.join(m.name for m in ms)})"
        case SetHeaderRoute(route=r):
            return f"setHeaderRoute {r.name}" + ("" if r.matches else " (remove)")
        case SetMirrorRoute(route=r):
            return f"setMirrorRoute {r.name} {r.percentage}%"
    return type(step).__name__


def _seconds(ms: int | None) -> str:
    return f"{(ms or 0) / 1000:g}s"


def _kind(step: Step) -> str:
    names = {SetWeight: "setWeight", Pause: "pause", Wait: "wait", AnalysisStep: "analysis",
             SetHeaderRoute: "setHeaderRoute", SetMirrorRoute: "setMirrorRoute"}
    return names.get(type(step), type(step).__name__)


def summary(state: RolloutState, spec: RolloutSpec | None, plan: Plan | None) -> dict[str, Any]:
    """A rollout in a list: where it is and what runs (``spec``/``plan`` None: not rebuilt)."""
    steps = plan.effective_steps() if plan is not None else ()
    current = state.step_index + 1 if not state.phase.finished and state.step_index < len(steps) else None
    return {
        "name": state.name, "service": spec.service if spec else (plan.service if plan else ""),
        "strategy": _strategy(spec), "phase": state.phase.value, "message": state.message,
        "step": current, "steps": len(steps), "canaryWeight": state.canary_weight,
        "stable": spec.stable.name if spec and spec.stable else None,
        "canary": spec.canary.name if spec and spec.canary else None,
        "createdAt": rfc3339(state.created_ms), "updatedAt": rfc3339(state.updated_ms),
    }  # fmt: skip


def _strategy(spec: RolloutSpec | None) -> str | None:
    if spec is None:
        return None
    return "blueGreen" if isinstance(spec.strategy, BlueGreenStrategy) else "canary"


def full_view(state: RolloutState, spec: RolloutSpec | None, plan: Plan | None,
              events: Sequence[RolloutEvent], proxy_port: int | None) -> dict[str, Any]:
    """The summary with the steps, every analysis run, the events and the traffic."""
    return {
        **summary(state, spec, plan),
        "stepsDetail": _steps(state, plan), "analyses": _analyses(state, plan),
        "events": [event_view(e) for e in events], "hold": state.hold, "abortReason": state.abort_reason,
        "headerRoutes": list(state.header_routes), "mirrorRoutes": list(state.mirror_routes),
        "proxy": {"port": proxy_port} if proxy_port is not None else None,
    }  # fmt: skip


def _steps(state: RolloutState, plan: Plan | None) -> list[dict[str, Any]]:
    out = []
    for i, step in enumerate(plan.effective_steps() if plan is not None else ()):
        if i < state.step_index or state.phase.value == "Healthy":
            where = "done"
        elif i == state.step_index and not state.phase.finished:
            where = "current"
        else:
            where = "pending"
        out.append({"index": i + 1, "kind": _kind(step), "text": step_text(step), "state": where})
    return out


def event_view(e: RolloutEvent) -> dict[str, Any]:
    return {"time": rfc3339(e.time), "type": e.type, "reason": e.reason, "message": e.message, "actor": e.actor}


def runs(state: RolloutState, plan: Plan | None) -> list[tuple[str, AnalysisRun | None, dict[str, Any]]]:
    """Each analysis of the state: its key, the run rebuilt (None if the plan cannot) and its data."""
    out: list[tuple[str, AnalysisRun | None, dict[str, Any]]] = []
    for key, data in state.analyses.items():
        try:
            run = run_from_state(data, analysis_metrics(plan, key)) if plan is not None else None
        except (AnalysisError, PlanError):  # a plan that no longer matches: the data is shown as stored
            run = None
        out.append((key, run, data))
    return out


def _analyses(state: RolloutState, plan: Plan | None) -> list[dict[str, Any]]:
    out = []
    for key, run, data in runs(state, plan):
        metrics = [] if run is None else [
            {"name": r.name, "phase": r.phase.value, "measurements": [_measurement(m) for m in r.measurements]}
            for r in run.results
        ]
        out.append({"key": key, "phase": str(data.get("phase", "")), "message": str(data.get("message", "")),
                    "metrics": metrics})
    return out


def _measurement(m: Measurement) -> dict[str, Any]:
    out: dict[str, Any] = {"phase": m.phase.value, "value": m.value, "startedAt": rfc3339(m.started_ms),
                           "finishedAt": rfc3339(m.finished_ms)}
    if m.message:
        out["message"] = m.message
    if m.verdict is not None:
        out["verdict"] = m.verdict.to_dict()
    return out


def explain_text(state: RolloutState, spec: RolloutSpec | None, plan: Plan | None,
                 events: Sequence[RolloutEvent]) -> str:
    """``sloguard rollout explain NAME``: where the rollout is, each step, each analysis run
    explained measurement by measurement, then every event with its reason and actor."""
    s = summary(state, spec, plan)
    lines = [f"Rollout {state.name} of {s['service']} ({s['strategy'] or 'unknown strategy'}): {state.phase.value}",
             f"  {state.message}", f"  canary weight {state.canary_weight}%"]
    if state.hold:
        lines.append(f"  held: {state.hold}")
    if state.abort_reason:
        lines.append(f"  aborted: {state.abort_reason}")
    lines += ["", "Steps:"] + [f"  {d['index']}. [{d['state']}] {d['text']}" for d in _steps(state, plan)]
    for key, run, data in runs(state, plan):
        lines += ["", f"Analysis {key}:"]
        if run is None:
            lines.append(f"  {data.get('phase', '')}: {data.get('message', '')} (its metrics cannot be rebuilt)")
        else:
            lines += [f"  {line}" for line in explain_lines(run)]
    lines += ["", "Events:"] + [f"  {rfc3339(e.time)} {e.type} ({e.reason}) by {e.actor}: {e.message}" for e in events]
    return "\n".join(lines) + "\n"
