"""How stages combine: in sequence (:class:`MultiStage`), side by side for each receiver
integration (:class:`FanoutStage`), and by receiver (:class:`RoutingStage`), as in
Alertmanager's ``notify`` package.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sloguard.alerting.model import Alert
from sloguard.alerting.stages import Deferred, FlushContext, Instant, Stage, StageError

__all__ = ["Branch", "FanoutStage", "IntegrationStage", "MultiStage", "RoutingStage"]


class MultiStage:
    """Runs its stages in order, each on what the previous one passed on; an empty alert
    list ends the chain early (nothing left to notify). An :class:`Instant` stage is
    called, not awaited."""

    __slots__ = ("_steps", "stages")

    def __init__(self, *stages: Stage) -> None:
        self.stages: tuple[Stage, ...] = stages
        self._steps = tuple((s.run if isinstance(s, Instant) else None, s) for s in stages)

    async def exec(self, ctx: FlushContext, alerts: Sequence[Alert]) -> tuple[FlushContext, list[Alert]]:
        out = list(alerts)
        for run, stage in self._steps:
            if not out:
                return ctx, []
            ctx, out = run(ctx, out) if run is not None else await stage.exec(ctx, out)
        return ctx, out


class IntegrationStage(Instant):
    """Names the receiver integration the stages after it serve (``ctx.integration``, as
    :class:`FanoutStage` does for each branch). A receiver with one integration runs that
    integration's stages inline after its own, with this stage first instead of a fan-out
    of one: two coroutine levels less to resume through at every wait of a flush. An error
    of those stages then reaches the pipeline as raised (a fan-out would have prefixed an
    unexpected one with the integration's name)."""

    __slots__ = ("integration",)

    def __init__(self, integration: str) -> None:
        self.integration = integration

    def run(self, ctx: FlushContext, alerts: Sequence[Alert]) -> tuple[FlushContext, list[Alert]]:
        return ctx.for_integration(self.integration), list(alerts)


@dataclass(frozen=True, slots=True)
class Branch:
    """One receiver integration's chain; ``integration`` is its ``name/type[idx]``."""

    integration: str
    stage: Stage


class FanoutStage:
    """Runs every integration's chain concurrently on the same alerts, each with its own
    ``ctx.integration``. One failing (or slow) integration neither stops nor delays the
    others; when some failed, their errors are raised together after all have finished
    (as :class:`Deferred` when every one of them only deferred to another replica).
    Passes its input on unchanged."""

    __slots__ = ("branches",)

    def __init__(self, branches: Sequence[Branch]) -> None:
        self.branches: tuple[Branch, ...] = tuple(branches)

    async def exec(self, ctx: FlushContext, alerts: Sequence[Alert]) -> tuple[FlushContext, list[Alert]]:
        if len(self.branches) == 1:  # the common case: no task, no gather, no helper coroutine
            branch = self.branches[0]
            try:
                results: list[object] = [await branch.stage.exec(ctx.for_integration(branch.integration), alerts)]
            except Exception as e:  # noqa: BLE001 - reported as the other branches' errors are
                results = [e]
        else:
            runs = [b.stage.exec(ctx.for_integration(b.integration), alerts) for b in self.branches]
            results = await asyncio.gather(*runs, return_exceptions=True)
        errors = [_describe(b, r) for b, r in zip(self.branches, results, strict=True) if isinstance(r, BaseException)]
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed and all(isinstance(r, Deferred) for r in failed):
            raise Deferred("; ".join(errors))
        if failed:
            raise StageError("; ".join(errors), all(isinstance(r, StageError) and r.retryable for r in failed))
        return ctx, list(alerts)


def _describe(branch: Branch, err: BaseException) -> str:
    if isinstance(err, asyncio.CancelledError):
        raise err
    if isinstance(err, StageError):
        return str(err)
    return f"{branch.integration}: {type(err).__name__}: {err}"


class RoutingStage:
    """Runs the chain of the flush's receiver (``ctx.receiver``)."""

    __slots__ = ("receivers",)

    def __init__(self, receivers: Mapping[str, Stage]) -> None:
        self.receivers: dict[str, Stage] = dict(receivers)

    def exec(self, ctx: FlushContext, alerts: Sequence[Alert]) -> Coroutine[Any, Any, tuple[FlushContext, list[Alert]]]:
        """The receiver's chain, to await (not a coroutine of its own: one level less to
        resume through at every wait of a flush)."""
        stage = self.receivers.get(ctx.receiver)
        if stage is None:
            known = ", ".join(sorted(self.receivers)) or "none"
            raise StageError(
                f"The flush of group {ctx.group_key} names the receiver {ctx.receiver!r}, which has no "
                f"notification stage (receivers configured: {known})."
            )
        return stage.exec(ctx, alerts)
