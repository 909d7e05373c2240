"""The demo's two flows: start the rollout of v2 (expected: aborted by the judges), then
of v3 (expected: promoted), each watched until it ends, through the server's rollout
service (``sloguard.delivery.service.RolloutService``, seen here as the small
:class:`Rollouts` protocol so tests can drive the flows with a fake).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sloguard.demo.specfiles import Addresses, rollout_name, rollout_text

__all__ = ["EXPECTED", "FlowResult", "Rollouts", "judge_lines", "run_flow", "run_flows"]

EXPECTED: tuple[tuple[str, str], ...] = (("v2", "Degraded"), ("v3", "Healthy"))
"""(canary version, the phase its rollout must end in), in the order they run."""
FINISHED = ("Degraded", "Healthy")

View = dict[str, Any]


class Rollouts(Protocol):
    """The part of ``RolloutService`` the demo uses."""

    async def start(self, text: str, *, source: str = "<api>", name: str | None = None,
                    force: Any = None, actor: str = "api") -> View: ...

    async def abort(self, name: str, actor: str, reason: str) -> View: ...

    def get(self, name: str) -> View: ...

    def proxy_port(self, service: str) -> int | None: ...


@dataclass(frozen=True, slots=True)
class FlowResult:
    """How one rollout of the demo ended: its phase against the expected one, the abort
    reason (or last message) and the judges' last verdicts, one line each."""

    name: str
    version: str
    expected: str
    phase: str
    reason: str
    judges: tuple[str, ...]
    elapsed_s: float
    forced: str = ""

    @property
    def ok(self) -> bool:
        return self.phase == self.expected


OnView = Callable[[str, View], None]


async def run_flows(rollouts: Rollouts, addresses: Addresses, *, pause_scale: float = 1.0,
                    timeout_s: float = 300.0, poll_s: float = 0.5, on_view: OnView | None = None) -> list[FlowResult]:
    """Each flow of ``EXPECTED`` in turn; they all run, whatever the earlier ones gave."""
    out = []
    for version, expected in EXPECTED:
        out.append(await run_flow(rollouts, version, expected, addresses, pause_scale=pause_scale,
                                  timeout_s=timeout_s, poll_s=poll_s, on_view=on_view))
    return out


async def run_flow(rollouts: Rollouts, version: str, expected: str, addresses: Addresses, *,
                   pause_scale: float = 1.0, timeout_s: float = 300.0, poll_s: float = 0.5,
                   on_view: OnView | None = None) -> FlowResult:
    """Start the rollout of ``version`` and watch it until it is Degraded or Healthy, held
    for a person, or ``timeout_s`` passed (then it is aborted, so nothing keeps running)."""
    name = rollout_name(version)
    began = time.monotonic()
    await _clear(rollouts, name)
    text = rollout_text(version, addresses, pause_scale)
    view, forced = await _start(rollouts, text, version, expected)
    while not _done(view) and time.monotonic() - began < timeout_s:
        if on_view is not None:
            on_view(name, view)
        await asyncio.sleep(poll_s)
        view = rollouts.get(name)
    if not _done(view) or view.get("hold"):
        why = view.get("hold") or f"it did not finish within {timeout_s:g} s"
        view = await rollouts.abort(name, "demo", f"The demo stops waiting: {why}")
        view = {**view, "phase": f"{view.get('phase', '')} (stopped by the demo: {why})"}
    if on_view is not None:
        on_view(name, view)
    reason = str(view.get("abortReason") or view.get("message") or "")
    return FlowResult(name, version, expected, str(view.get("phase", "")), reason, judge_lines(view),
                      time.monotonic() - began, forced)


FORCE_REASON = "v3 fixes the regression v2 brought; rolling forward past the budget v2's canary spent"


async def _start(rollouts: Rollouts, text: str, version: str, expected: str) -> tuple[View, str]:
    """Start the rollout. When the error-budget policy refuses the fix (v2's canary spent
    the budget: the policy working), the demo forces it as a person would, with who and
    why, so the override is recorded; the refusal is returned to be shown."""
    source = f"<demo rollout-{version}.yml>"
    try:
        return await rollouts.start(text, source=source, actor="demo"), ""
    except Exception as e:  # the service's 409 from the error-budget policy
        if expected != "Healthy" or getattr(e, "status", None) != 409 or "error budget" not in str(e):
            raise
        from sloguard.delivery.policy import Force

        view = await rollouts.start(text, source=source, actor="demo", force=Force("demo", FORCE_REASON))
        return view, f"{e} Forced by demo: {FORCE_REASON}."


def _done(view: View) -> bool:
    return view.get("phase") in FINISHED or bool(view.get("hold"))


async def _clear(rollouts: Rollouts, name: str) -> None:
    """Abort a rollout of that name left unfinished in the data dir by an earlier run."""
    try:
        view = rollouts.get(name)
    except Exception as e:  # the service's 404: no such rollout yet
        if getattr(e, "status", None) == 404:
            return
        raise
    if view.get("phase") not in FINISHED:
        await rollouts.abort(name, "demo", "A new demo run replaces this unfinished rollout.")


def judge_lines(view: Mapping[str, Any]) -> tuple[str, ...]:
    """Per judge metric of the rollout's analyses, its latest verdict: judge, outcome,
    p-value (and likelihood ratio) and the judge's reason."""
    out = []
    for analysis in view.get("analyses") or ():
        for metric in analysis.get("metrics") or ():
            verdicts = [m["verdict"] for m in metric.get("measurements") or () if m.get("verdict")]
            if verdicts:
                out.append(f"{metric.get('name', '?')}: {verdict_line(verdicts[-1])}")
    return tuple(out)


def verdict_line(v: Mapping[str, Any]) -> str:
    figures = [f"p = {_num(v.get('p_value'))}"]
    if v.get("likelihood_ratio") is not None:
        figures.append(f"likelihood ratio {_num(v.get('likelihood_ratio'))}")
    return f"{v.get('judge', '?')} {v.get('outcome', '?')} ({', '.join(figures)}): {v.get('reason', '')}"


def _num(x: Any) -> str:
    if isinstance(x, int | float):
        return f"{x:.3g}"
    return str(x)
