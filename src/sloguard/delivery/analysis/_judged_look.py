"""A judge metric's configuration, its memory between measurements (JSON text kept in the
run's ``MetricResult.memory``), and one look: the judge, or its sequential form, on the
cumulative data since the analysis started."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from sloguard.delivery.analysis._errors import AnalysisError
from sloguard.delivery.analysis._judged_inputs import ArmQueries, Arms
from sloguard.delivery.judges import (
    Correction,
    Counts,
    InputKind,
    JudgeError,
    Ledger,
    SequentialSettings,
    SequentialState,
    SpendingSettings,
    SpendingState,
    Verdict,
    judge_by_name,
    sequential,
    spending_look,
)
from sloguard.nesting import json_loads

#: Consecutive insufficient-data measurements allowed by default before the metric is Inconclusive.
DEFAULT_INSUFFICIENT_LIMIT = 4
SEQUENTIAL = "sequential"
SPENDING = "alpha-spending"


@dataclass(frozen=True, slots=True)
class JudgeConfig:
    """A judge metric (the ``provider`` of a ``Metric``): the judge's name and settings
    (a settings object of that judge); counts queries (``events``, ``exposure``) or one
    ``buckets`` query (``le``-labelled), each with ``$ARM`` and ``$WINDOW``; ``method``
    None (a fixed-sample test at every measurement), ``"sequential"`` (the mSPRT on
    counts, with ``method_settings`` a ``SequentialSettings``) or ``"alpha-spending"``
    (``SpendingSettings``); the arms; the insufficient-data limit ("more than N"
    consecutive, then Inconclusive); the correction across the run's judge metrics; and
    ``per_arm`` (baseline, canary): each arm's own queries instead of the ``$ARM`` ones."""

    TYPE: ClassVar[str] = "judge"
    judge: str
    settings: Any
    events: str = ""
    exposure: str = ""
    buckets: str = ""
    method: str | None = None
    method_settings: Any = None
    arms: Arms = Arms()
    insufficient_limit: int = DEFAULT_INSUFFICIENT_LIMIT
    correction: Correction = Correction.HOLM
    per_arm: tuple[ArmQueries, ArmQueries] | None = None

    def __post_init__(self) -> None:
        kind = judge_by_name(self.judge, "judge").kind
        if kind is InputKind.SAMPLES:
            raise AnalysisError(f"The judge {self.judge!r} takes raw samples, which a PromQL query does not give; "
                                "judge metrics use counts or histogram judges.")
        for q in self.per_arm or (ArmQueries(self.events, self.exposure, self.buckets),):
            if kind is InputKind.COUNTS and not (q.events and q.exposure) or kind is InputKind.HISTOGRAM and not q.buckets:
                need = "events and exposure queries" if kind is InputKind.COUNTS else "a buckets query"
                raise AnalysisError(f"The judge {self.judge!r} compares {kind.value} and needs {need}.")
        if self.method == SEQUENTIAL and kind is not InputKind.COUNTS:
            raise AnalysisError(f"The sequential method judges error counts; the judge {self.judge!r} compares {kind.value}.")
        if self.method not in (None, SEQUENTIAL, SPENDING):
            raise AnalysisError(f"The sequential method {self.method!r} is unknown; use {SEQUENTIAL} or {SPENDING}.")

    @property
    def kind(self) -> InputKind:
        return judge_by_name(self.judge).kind


@dataclass(frozen=True, slots=True)
class Memory:
    """What a judge metric remembers between measurements."""

    insufficient: int = 0
    sequential: SequentialState | None = None
    spending: SpendingState | None = None


def look(config: JudgeConfig, memory: Memory, baseline: Any, canary: Any) -> tuple[Memory, Verdict]:
    """One look on cumulative data; ``JudgeError`` when the data cannot be judged."""
    spec = judge_by_name(config.judge)
    if config.method == SEQUENTIAL:
        settings = config.method_settings or SequentialSettings()
        state, verdict = sequential(memory.sequential or SequentialState(), baseline, canary, settings)
        return replace(memory, sequential=state), verdict
    if config.method == SPENDING:
        s = config.method_settings or SpendingSettings()
        sp, verdict = spending_look(memory.spending or SpendingState(), spec.judge, baseline, canary, config.settings, s)
        return replace(memory, spending=sp), verdict
    return memory, spec.judge(baseline, canary, config.settings)


def memory_to_text(m: Memory) -> str:
    out: dict[str, Any] = {"insufficient": m.insufficient}
    if m.sequential is not None:
        s = m.sequential
        out["sequential"] = {
            "baseline": [s.baseline.events, s.baseline.exposure], "canary": [s.canary.events, s.canary.exposure],
            "log_lr": [_num(x) for x in s.log_lr], "looks": s.looks, "max_lr": _num(s.max_lr),
            "failed_at": s.failed_at,
        }
        if s.ledger is not None:  # the planned-looks design (SequentialSettings.looks)
            out["sequential"]["ledger"] = {
                "lo": s.ledger.lo, "probs": list(s.ledger.probs), "spent": s.ledger.spent,
                "boundary": s.boundary, "threshold": _num(s.threshold), "min_p": s.min_p,
            }
    if m.spending is not None:
        out["spending"] = {"looks": m.spending.looks, "failed_at": m.spending.failed_at}
    return json.dumps(out, sort_keys=True, separators=(",", ":"))


def memory_from_text(text: str, where: str) -> Memory:
    """The memory written by ``memory_to_text`` (empty text: a fresh one)."""
    if not text:
        return Memory()
    try:
        d = json_loads(text)
        seq, sp = d.get("sequential"), d.get("spending")
        return Memory(
            int(d["insufficient"]),
            None if seq is None else _sequential_state(seq),
            None if sp is None else SpendingState(int(sp["looks"]), sp["failed_at"]),
        )
    except (ValueError, KeyError, TypeError, JudgeError) as e:
        raise AnalysisError(f"The saved memory of the judge metric {where!r} cannot be read ({e}): {text[:200]!r}.") from None


def _sequential_state(seq: dict[str, Any]) -> SequentialState:
    state = SequentialState(
        Counts(*seq["baseline"]), Counts(*seq["canary"]), tuple(float(x) for x in seq["log_lr"]),
        int(seq["looks"]), float(seq["max_lr"]), seq["failed_at"])  # fmt: skip
    led = seq.get("ledger")
    if led is None:
        return state
    ledger = Ledger(int(led["lo"]), tuple(float(x) for x in led["probs"]), float(led["spent"]))
    return replace(state, ledger=ledger, boundary=int(led["boundary"]), threshold=float(led["threshold"]),
                   min_p=float(led["min_p"]))  # fmt: skip


def _num(x: float) -> float | str:
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("+Inf" if x > 0 else "-Inf")

