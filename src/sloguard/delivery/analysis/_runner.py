"""Taking measurements and driving a run with an injected clock (the only impure part).

``measure`` never raises: a provider that cannot be built or that fails becomes an Error
measurement with the reason. ``step`` measures what is due and reconciles; ``run_to_end``
repeats it, sleeping on the clock, until the run completes or ``until_ms`` passes.
"""

from __future__ import annotations

import asyncio

from sloguard.clock import Clock
from sloguard.delivery.analysis._measure import Measurement, measure_result
from sloguard.delivery.analysis._metric import Metric
from sloguard.delivery.analysis.judged import is_judged, measure_judged, remember
from sloguard.delivery.analysis.providers import ProviderEnv, new_provider
from sloguard.delivery.analysis.run import (
    AnalysisRun,
    due_metrics,
    next_due_ms,
    reconcile,
    terminate,
)


async def measure(metric: Metric, env: ProviderEnv, now_ms: int, clock: Clock | None = None) -> Measurement:
    """One measurement of ``metric`` at ``now_ms`` (finished at the clock's time, if given)."""
    try:
        provider = new_provider(metric.provider, env)
        result = await provider.query(now_ms)
        return measure_result(metric, result, now_ms, clock.now_ms() if clock else now_ms)
    except asyncio.CancelledError:
        raise
    except RecursionError:
        return Measurement.error(now_ms, clock.now_ms() if clock else now_ms, "The result is nested too deeply to judge.")
    except Exception as e:  # any provider failure is a measurement, never the loop's end
        finished = clock.now_ms() if clock else now_ms
        return Measurement.error(now_ms, finished, str(e) or type(e).__name__)


async def step(run: AnalysisRun, env: ProviderEnv, now_ms: int, clock: Clock | None = None) -> AnalysisRun:
    """Measure every metric due at ``now_ms`` (concurrently; judge metrics through
    ``judged.measure_judged``) and reconcile the run."""
    due = due_metrics(run, now_ms)
    plain = [m for m in due if not is_judged(m)]
    taken = await asyncio.gather(*(measure(m, env, now_ms, clock) for m in plain))
    judged, memories = await measure_judged(run, [m for m in due if is_judged(m)], env, now_ms, clock)
    measurements = {**{m.name: t for m, t in zip(plain, taken, strict=True)}, **judged}
    return remember(reconcile(run, now_ms, measurements), memories)


async def run_to_end(run: AnalysisRun, env: ProviderEnv, clock: Clock, until_ms: int | None = None) -> AnalysisRun:
    """Step the run at each due time on ``clock`` until it completes; at ``until_ms`` (if
    given) a run still going is terminated (a background analysis whose rollout ended)."""
    while not run.phase.completed:
        run = await step(run, env, clock.now_ms(), clock)
        nxt = next_due_ms(run)
        if run.phase.completed:
            break
        if nxt is None or (until_ms is not None and nxt > until_ms):
            if until_ms is None:
                break  # nothing left to measure and no deadline: stays running (cannot happen for valid metrics)
            await clock.sleep_until(until_ms)
            return terminate(run, clock.now_ms())
        await clock.sleep_until(nxt)
    return run
