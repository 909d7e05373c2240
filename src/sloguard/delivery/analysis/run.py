"""Analysis runs with Argo Rollouts' semantics made explicit, as pure functions of state.

A run measures its metrics on a schedule and ends Successful, Failed, Inconclusive (the
rollout pauses for a person) or Error, with a sentence saying why. The loop around it is:

    run = start_run("canary-1", metrics, now)
    while not run.phase.completed:
        due = due_metrics(run, now)            # which metrics to measure now
        measurements = {m.name: await take(m) for m in due}   # providers; see measure()
        run = reconcile(run, now, measurements)
        now = next_due_ms(run)                 # sleep until then

Scheduling (Argo's ``generateMetricTasks``): a metric is first measured ``initial_delay_ms``
after the run starts, then every ``interval_ms`` after the previous measurement finished,
until ``effective_count`` measurements counted (successful, failed or inconclusive). An
Error is retried after ``ERROR_RETRY_INTERVAL_MS``; no data after the interval (or that).

The run's phase (Argo's ``assessRunStatus``) is the worst phase of its metrics that are not
dry runs: once one of them is Failed, Error or Inconclusive the run ends with it; it ends
Successful when every metric (dry runs included) has completed and the decisive ones are
Successful. A run whose metrics are all dry runs ends Successful, judging nothing, and says
so. A metric is never Successful without a successful measurement (see ``_result``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from sloguard.delivery.analysis._errors import AnalysisError
from sloguard.delivery.analysis._measure import Measurement, MeasurementPhase
from sloguard.delivery.analysis._metric import ERROR_RETRY_INTERVAL_MS, Metric
from sloguard.delivery.analysis._result import AnalysisPhase, MetricResult, assess_metric, worst

#: Measurements kept per metric (Argo's ``DefaultMeasurementHistoryLimit``); totals are kept whole.
DEFAULT_MEASUREMENT_LIMIT = 10


@dataclass(frozen=True, slots=True)
class AnalysisRun:
    """One run of an analysis: its metrics (names unique), when it started (ms), its phase
    and reason, one ``MetricResult`` per metric in the same order, whether it was asked to
    terminate, and when it completed."""

    name: str
    metrics: tuple[Metric, ...]
    started_ms: int
    results: tuple[MetricResult, ...]
    phase: AnalysisPhase = AnalysisPhase.RUNNING
    message: str = ""
    terminate: bool = False
    completed_ms: int | None = None
    measurement_limit: int = DEFAULT_MEASUREMENT_LIMIT

    def result(self, name: str) -> MetricResult:
        for r in self.results:
            if r.name == name:
                return r
        raise AnalysisError(f"The analysis run {self.name!r} has no metric named {name!r}.")

    @property
    def terminating(self) -> bool:
        """Asked to terminate, or a decisive metric already ended badly."""
        return self.terminate or any(
            not r.dry_run and r.phase in _BAD for r in self.results
        )


_BAD = (AnalysisPhase.FAILED, AnalysisPhase.ERROR, AnalysisPhase.INCONCLUSIVE)


def start_run(name: str, metrics: tuple[Metric, ...] | list[Metric], now_ms: int) -> AnalysisRun:
    """A new run of ``metrics`` started at ``now_ms``; ``AnalysisError`` for no metric or a
    repeated metric name."""
    metrics = tuple(metrics)
    if not metrics:
        raise AnalysisError(f"The analysis run {name!r} has no metrics to measure.")
    names = [m.name for m in metrics]
    for n in names:
        if names.count(n) > 1:
            raise AnalysisError(f"The analysis run {name!r} has two metrics named {n!r}; names must be unique.")
    results = tuple(MetricResult(m.name, dry_run=m.dry_run) for m in metrics)
    return AnalysisRun(name, metrics, now_ms, results)


def due_ms(run: AnalysisRun, metric: Metric) -> int | None:
    """When ``metric`` is next to be measured, or None if it is done (or the run is)."""
    r = run.result(metric.name)
    if run.phase.completed or r.phase.completed or run.terminating:
        return None
    last = r.last
    if last is None and r.error == 0 and r.no_data == 0 and r.count == 0:
        return run.started_ms + metric.initial_delay_ms
    count = metric.effective_count
    if count is not None and r.count >= count:
        return None
    if last is not None and last.phase is MeasurementPhase.ERROR:
        return last.finished_ms + ERROR_RETRY_INTERVAL_MS
    interval = metric.interval_ms if metric.interval_ms is not None else ERROR_RETRY_INTERVAL_MS
    finished = last.finished_ms if last is not None else run.started_ms
    return finished + interval


def due_metrics(run: AnalysisRun, now_ms: int) -> list[Metric]:
    """The metrics to measure at ``now_ms``."""
    return [m for m in run.metrics if (t := due_ms(run, m)) is not None and t <= now_ms]


def next_due_ms(run: AnalysisRun) -> int | None:
    """The earliest time a metric is due, or None when nothing is left to measure."""
    times = [t for m in run.metrics if (t := due_ms(run, m)) is not None]
    return min(times) if times else None


def reconcile(run: AnalysisRun, now_ms: int, measurements: Mapping[str, Measurement]) -> AnalysisRun:
    """The run after recording ``measurements`` (metric name -> its new measurement) and
    assessing every metric and the run at ``now_ms``. A completed run is returned as is."""
    if run.phase.completed:
        return run
    known = {m.name for m in run.metrics}
    for name in measurements:
        if name not in known:
            raise AnalysisError(f"A measurement was given for {name!r}, which is not a metric of the run {run.name!r}.")
    results = tuple(
        r.record(measurements[r.name], run.measurement_limit) if r.name in measurements else r
        for r in run.results
    )
    return _assess(replace(run, results=results), now_ms)


def terminate(run: AnalysisRun, now_ms: int) -> AnalysisRun:
    """The run stopped at ``now_ms`` (its rollout moved on or was aborted): every metric
    ends as it stands, Successful only with a successful measurement."""
    if run.phase.completed:
        return run
    return _assess(replace(run, terminate=True), now_ms)


def _assess(run: AnalysisRun, now_ms: int) -> AnalysisRun:
    run = _assess_metrics(run, run.terminate)
    phase, message = _run_phase(run)  # the metrics that ended on their own decide
    if phase.completed:
        run = _assess_metrics(run, True)  # the others stop where they stand
        return replace(run, phase=phase, message=message, completed_ms=now_ms)
    return replace(run, phase=phase, message=message)


def _assess_metrics(run: AnalysisRun, terminating: bool) -> AnalysisRun:
    results = []
    for metric, r in zip(run.metrics, run.results, strict=True):
        phase, message = assess_metric(metric, r, terminating)
        results.append(replace(r, phase=phase, message=message))
    return replace(run, results=tuple(results))


def _run_phase(run: AnalysisRun) -> tuple[AnalysisPhase, str]:
    decisive = [r for r in run.results if not r.dry_run]
    bad = [r for r in decisive if r.phase in _BAD]
    if bad:
        phase = AnalysisPhase.SUCCESSFUL
        for r in bad:
            phase = worst(phase, r.phase)
        culprit = next(r for r in bad if r.phase is phase)
        return phase, f'Metric "{culprit.name}" assessed {phase.value}: {culprit.message}.'
    if not all(r.phase.completed for r in run.results):
        return AnalysisPhase.RUNNING, ""
    if not decisive:
        return AnalysisPhase.SUCCESSFUL, "Every metric is a dry run, so nothing was judged."
    return AnalysisPhase.SUCCESSFUL, "Every metric was successful: " + "; ".join(
        f'"{r.name}" {r.message}' for r in decisive) + "."
