"""Judge metrics: a metric that compares the canary with a baseline through a statistical
judge (``sloguard.delivery.judges``) instead of a condition.

A judge metric is a ``Metric`` whose ``provider`` is a :class:`JudgeConfig`. At each
measurement its queries are asked for both arms (``$ARM`` is ``version="canary"`` or
``version="baseline"``, the stable pool when the baseline has no series; ``$WINDOW`` the
time since the run started), the judge (or its sequential form, whose state is kept in
the run as ``MetricResult.memory``) decides, and the verdicts of the judge metrics measured
together are corrected across metrics (Holm by default). A verdict becomes a measurement:
FAIL Failed, PASS Successful, INCONCLUSIVE Inconclusive, INSUFFICIENT_DATA its own phase
(the run waits and measures again at the next interval) until more than
``insufficient_limit`` come in a row, when the measurement is Inconclusive, so the run ends
Inconclusive and a person decides. Every measurement keeps its full ``Verdict``.
``step`` (``_runner``) calls :func:`measure_judged` for the judge metrics that are due.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from sloguard.clock import Clock
from sloguard.delivery.analysis._judged_inputs import ArmQueries, Arms, Inputs, read_inputs
from sloguard.delivery.analysis._judged_look import (
    DEFAULT_INSUFFICIENT_LIMIT,
    SEQUENTIAL,
    SPENDING,
    JudgeConfig,
    Memory,
    look,
    memory_from_text,
    memory_to_text,
)
from sloguard.delivery.analysis._measure import Measurement, MeasurementPhase
from sloguard.delivery.analysis._metric import Metric
from sloguard.delivery.analysis.providers import ProviderEnv, ProviderError, SeriesQueryFunc
from sloguard.delivery.analysis.run import AnalysisRun
from sloguard.delivery.judges import Outcome, Verdict, correct, judge_by_name
from sloguard.promql import Engine, PromQLError, ValueType

__all__ = [
    "DEFAULT_INSUFFICIENT_LIMIT", "SEQUENTIAL", "SPENDING", "ArmQueries", "Arms", "JudgeConfig", "Memory",
    "engine_series_query", "is_judged", "measure_judged", "remember",
]

P = MeasurementPhase
_PHASES = {Outcome.PASS: P.SUCCESSFUL, Outcome.FAIL: P.FAILED, Outcome.INCONCLUSIVE: P.INCONCLUSIVE}


@dataclass(frozen=True, slots=True)
class _Look:
    metric: Metric
    config: JudgeConfig
    memory: Memory
    verdict: Verdict | None = None
    value: str = ""
    error: str = ""


def is_judged(metric: Metric) -> bool:
    """Whether ``metric`` is a judge metric."""
    return isinstance(metric.provider, JudgeConfig)


async def measure_judged(
    run: AnalysisRun, metrics: Sequence[Metric], env: ProviderEnv, now_ms: int, clock: Clock | None = None,
) -> tuple[dict[str, Measurement], dict[str, str]]:
    """Measure the judge ``metrics`` of ``run`` at ``now_ms`` (never raises: a failure is an
    Error measurement): their measurements and their new memories, by metric name."""
    looks = list(await asyncio.gather(*(_take(run, m, env, now_ms) for m in metrics)))
    looks = _corrected(looks)
    finished = clock.now_ms() if clock else now_ms
    measurements: dict[str, Measurement] = {}
    memories: dict[str, str] = {}
    for lk in looks:
        m, memory = _measurement(lk, now_ms, finished)
        measurements[lk.metric.name], memories[lk.metric.name] = m, memory_to_text(memory)
    return measurements, memories


def remember(run: AnalysisRun, memories: Mapping[str, str]) -> AnalysisRun:
    """The run with the judge metrics' new memories (metric name -> memory text)."""
    if not memories:
        return run
    results = tuple(replace(r, memory=memories[r.name]) if r.name in memories else r for r in run.results)
    return replace(run, results=results)


async def _take(run: AnalysisRun, metric: Metric, env: ProviderEnv, now_ms: int) -> _Look:
    config = metric.provider
    assert isinstance(config, JudgeConfig)  # noqa: S101  # only judge metrics are given
    memory = Memory()
    try:
        memory = memory_from_text(run.result(metric.name).memory, metric.name)
        if env.series is None:
            raise ProviderError("Judge metrics need the query engine with labels (ProviderEnv.series), "
                                "and none is configured.", False)
        queries = (config.events, config.exposure, config.buckets)
        window_s = (now_ms - run.started_ms) // 1000
        inputs = await asyncio.to_thread(read_inputs, env.series, config.arms, queries, now_ms, window_s, config.per_arm)
        if inputs.baseline is None or inputs.canary is None:
            return _Look(metric, config, memory, _no_series(config, inputs), _render(inputs))
        memory, verdict = look(config, memory, inputs.baseline, inputs.canary)
        return _Look(metric, config, memory, _sourced(verdict, inputs), _render(inputs))
    except asyncio.CancelledError:
        raise
    except Exception as e:  # any failure is an Error measurement, never the loop's end
        return _Look(metric, config, memory, error=str(e) or type(e).__name__)


def _corrected(looks: list[_Look]) -> list[_Look]:
    """Holm (or the configured method) across the decisive judge metrics measured together;
    alpha-spending looks are left alone (their alpha is this look's share)."""
    family = [i for i, lk in enumerate(looks)
              if lk.verdict is not None and lk.config.method != SPENDING and not lk.metric.dry_run]  # fmt: skip
    if len(family) < 2:
        return looks
    first = looks[family[0]]
    assert first.verdict is not None  # noqa: S101  # filtered above
    raw = [v for i in family if (v := looks[i].verdict) is not None]
    fixed = correct(raw, first.config.correction, first.verdict.alpha)
    out = list(looks)
    for i, v in zip(family, fixed, strict=True):
        out[i] = replace(looks[i], verdict=v)
    return out


def _measurement(lk: _Look, started: int, finished: int) -> tuple[Measurement, Memory]:
    v = lk.verdict
    if v is None:
        return Measurement.error(started, finished, lk.error), lk.memory
    if v.outcome is Outcome.INSUFFICIENT_DATA:
        n, limit = lk.memory.insufficient + 1, lk.config.insufficient_limit
        memory = replace(lk.memory, insufficient=n)
        if n > limit:
            why = (f"insufficient data in {n} consecutive measurements > insufficientDataLimit ({limit}), "
                   f"so a person decides: {v.reason}")
            return Measurement(P.INCONCLUSIVE, started, finished, lk.value, why, v), memory
        return Measurement(P.INSUFFICIENT_DATA, started, finished, lk.value, v.reason, v), memory
    memory = replace(lk.memory, insufficient=0)
    return Measurement(_PHASES[v.outcome], started, finished, lk.value, v.reason, v), memory


def _no_series(config: JudgeConfig, inputs: Inputs) -> Verdict:
    missing = [sel for sel, got in ((inputs.baseline_selector, inputs.baseline),
                                    (inputs.canary_selector, inputs.canary)) if got is None]  # fmt: skip
    alpha = float(getattr(config.method_settings or config.settings, "alpha", 0.05))
    reason = f"insufficient data: no series for {' nor '.join(missing)}"
    return Verdict(judge_by_name(config.judge).name, Outcome.INSUFFICIENT_DATA, reason, alpha, 0.0, 0.0)


def _sourced(v: Verdict, inputs: Inputs) -> Verdict:
    if not inputs.fell_back:
        return v
    return replace(v, reason=f"{v.reason} (baseline: the stable pool {inputs.baseline_selector}, "
                             "no baseline version was found)")


def _render(inputs: Inputs) -> str:
    def one(x: object) -> object:
        total = getattr(x, "total", None)
        if total is not None:
            return {"observations": total}
        return None if x is None else [getattr(x, "events"), getattr(x, "exposure")]  # noqa: B009

    return json.dumps({"baseline": one(inputs.baseline), "canary": one(inputs.canary),
                       "baseline_selector": inputs.baseline_selector}, separators=(",", ":"))


def engine_series_query(engine: Engine) -> SeriesQueryFunc:
    """A ``SeriesQueryFunc`` over a ``sloguard.promql`` engine (a scalar is one series
    without labels); its errors become ``ProviderError``."""

    def query(expr: str, t_ms: int) -> list[tuple[dict[str, str], float]]:
        try:
            res = engine.instant_query(expr, t_ms)
        except PromQLError as e:
            raise ProviderError(f"The query {expr!r} failed at {t_ms} ms: {e}", e.error_type.value != "bad_data") from None
        if res.result_type is ValueType.SCALAR:
            return [({}, float(res.value.v))]  # type: ignore[union-attr]  # a Scalar for SCALAR
        if res.result_type is ValueType.VECTOR:
            return [(s.labels.to_dict(), float(s.v)) for s in res.value]  # type: ignore[union-attr]  # a Vector
        raise ProviderError(f"The query {expr!r} must return an instant vector, not a {res.result_type.value}.", False)

    return query
