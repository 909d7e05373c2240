"""A metric's tally (``MetricResult``) and the pure rule from a tally to the metric's phase.

Argo Rollouts' order (``assessMetricFailureInconclusiveOrError``): each limit is "more
than N"; when several are passed at once the later one wins: failed, then inconclusive,
then no data (sloguard's, Inconclusive), then consecutive errors. Then a reached count
ends the metric; and a terminated run ends it as it stands.

The fix for Argo's trap (argo-rollouts issue 4479, where a metric whose measurements all
failed within ``failureLimit`` or errored ended Successful): a metric ends Successful only
with at least one Successful measurement. Otherwise it ends Failed if any measurement
failed, else Inconclusive if any was inconclusive, else Error if any errored, else
Inconclusive (no data, or nothing measured), with a sentence saying so.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from sloguard.delivery.analysis._measure import Measurement, MeasurementPhase
from sloguard.delivery.analysis._metric import Metric

P = MeasurementPhase


class AnalysisPhase(enum.Enum):
    """The phase of a metric or of a run (Argo's ``AnalysisPhase``)."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"
    ERROR = "Error"

    @property
    def completed(self) -> bool:
        return self not in (AnalysisPhase.PENDING, AnalysisPhase.RUNNING)


#: Argo's ``analysisStatusOrder``, best to worst.
WORST_ORDER = (
    AnalysisPhase.SUCCESSFUL, AnalysisPhase.RUNNING, AnalysisPhase.PENDING,
    AnalysisPhase.INCONCLUSIVE, AnalysisPhase.ERROR, AnalysisPhase.FAILED,
)


@dataclass(frozen=True, slots=True)
class MetricResult:
    """The tally of one metric: totals over the whole run (``count`` is the measurements
    that count: successful, failed and inconclusive), the consecutive runs of errors and no
    data, the last ``measurements`` kept, the phase and the sentence that explains it."""

    name: str
    phase: AnalysisPhase = AnalysisPhase.PENDING
    message: str = ""
    dry_run: bool = False
    measurements: tuple[Measurement, ...] = ()
    count: int = 0
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    error: int = 0
    no_data: int = 0
    consecutive_error: int = 0
    consecutive_no_data: int = 0
    #: A judge metric's memory between measurements, as JSON text (``judged``).
    memory: str = ""

    @property
    def last(self) -> Measurement | None:
        return self.measurements[-1] if self.measurements else None

    def record(self, m: Measurement, keep: int) -> MetricResult:
        """The tally with ``m`` added (the oldest measurements beyond ``keep`` dropped)."""
        kept = (*self.measurements, m)[-keep:] if keep > 0 else ()
        err, nodata = m.phase is P.ERROR, m.phase is P.NO_DATA
        return replace(
            self, measurements=kept, count=self.count + m.phase.counts,
            successful=self.successful + (m.phase is P.SUCCESSFUL), failed=self.failed + (m.phase is P.FAILED),
            inconclusive=self.inconclusive + (m.phase is P.INCONCLUSIVE),
            error=self.error + err, no_data=self.no_data + nodata,
            consecutive_error=self.consecutive_error + 1 if err else 0,
            consecutive_no_data=self.consecutive_no_data + 1 if nodata else 0,
        )

    def summary(self) -> str:
        return (
            f"{self.successful} successful, {self.failed} failed, {self.inconclusive} inconclusive, "
            f"{self.error} errors, {self.no_data} without data"
        )


def assess_metric(metric: Metric, r: MetricResult, terminating: bool) -> tuple[AnalysisPhase, str]:
    """The phase of ``metric`` given its tally, and the reason when it is completed. Pure."""
    if r.phase.completed:
        return r.phase, r.message
    limit = _limits(metric, r)
    if limit is not None:
        return limit
    count = metric.effective_count
    if count is not None and r.count >= count:
        return _ended(r, f"count ({count}) reached")
    if terminating:
        return _ended(r, "the run was terminated")
    if not r.measurements and r.count == 0 and r.error == 0 and r.no_data == 0:
        return AnalysisPhase.PENDING, ""
    return AnalysisPhase.RUNNING, ""


def _limits(metric: Metric, r: MetricResult) -> tuple[AnalysisPhase, str] | None:
    found: tuple[AnalysisPhase, str] | None = None
    if metric.failure_limit >= 0 and r.failed > metric.failure_limit:
        found = AnalysisPhase.FAILED, f"failed ({r.failed}) > failureLimit ({metric.failure_limit})"
    if r.inconclusive > metric.inconclusive_limit:
        found = AnalysisPhase.INCONCLUSIVE, (
            f"inconclusive ({r.inconclusive}) > inconclusiveLimit ({metric.inconclusive_limit})")
    if r.consecutive_no_data > metric.no_data_limit:
        found = AnalysisPhase.INCONCLUSIVE, (
            f"consecutive measurements without data ({r.consecutive_no_data}) > noDataLimit ({metric.no_data_limit})")
    if r.consecutive_error > metric.consecutive_error_limit:
        found = AnalysisPhase.ERROR, (
            f"consecutiveErrors ({r.consecutive_error}) > consecutiveErrorLimit ({metric.consecutive_error_limit})")
    if found is None:
        return None
    return found[0], _with_last(found[1], r)


def _ended(r: MetricResult, why: str) -> tuple[AnalysisPhase, str]:
    """The end of a metric that passed no limit: Successful only with a successful measurement."""
    if r.successful:
        return AnalysisPhase.SUCCESSFUL, f"{why} ({r.summary()})"
    if r.failed:
        phase = AnalysisPhase.FAILED
    elif r.inconclusive:
        phase = AnalysisPhase.INCONCLUSIVE
    elif r.error:
        phase = AnalysisPhase.ERROR
    else:
        phase = AnalysisPhase.INCONCLUSIVE
    what = "no measurement finished" if not (r.count or r.error or r.no_data) else r.summary()
    return phase, _with_last(f"{why} without a successful measurement ({what})", r)


def _with_last(reason: str, r: MetricResult) -> str:
    last = r.last
    if last is None:
        return reason
    tail = f"last measurement {last.phase.value}"
    if last.value:
        tail += f" with result {last.value}"
    if last.message:
        tail += f": {last.message}"
    return f"{reason}; {tail}"


def worst(a: AnalysisPhase, b: AnalysisPhase) -> AnalysisPhase:
    return b if WORST_ORDER.index(b) > WORST_ORDER.index(a) else a
