"""The evaluator's internal values: every node is evaluated for all steps at once.

A range query with evaluation timestamps ``steps`` (int64 ms, length ``k``; an instant
query is one step) evaluates each AST node to one of these. Functions and operators take
and return them; no code walks samples or steps one by one in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sloguard.labels import Labels

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class StepScalar:
    """A scalar per step: ``values`` has shape ``(k,)``."""

    values: F64


@dataclass(frozen=True, slots=True)
class StepString:
    value: str


@dataclass(frozen=True, slots=True)
class StepVector:
    """An instant vector per step.

    ``values`` and ``present`` have shape ``(n, k)``: series ``i`` has a sample at step
    ``j`` iff ``present[i, j]``; ``values[i, j]`` is meaningless where not present (NaN is
    a legitimate PromQL value, so presence is never encoded in the value). ``labels[i]``
    is the output label set of row ``i`` (metric name already dropped where PromQL drops it).
    Rows with no present step may be pruned at any time. At any one step, no two present
    rows share a label set (the evaluator raises Prometheus' duplicate error otherwise).
    """

    labels: list[Labels]
    values: F64
    present: B
    #: Rows straight from a vector selector carry the timestamp (ms) of the sample
    #: chosen at each step, shape ``(n, k)``, for ``timestamp()``; ``None`` elsewhere.
    sample_ts: I64 | None = None

    @classmethod
    def empty(cls, k: int) -> StepVector:
        return cls([], np.empty((0, k), np.float64), np.zeros((0, k), np.bool_))

    @property
    def n(self) -> int:
        return len(self.labels)

    def prune(self) -> StepVector:
        keep = self.present.any(axis=1)
        if keep.all():
            return self
        idx = np.flatnonzero(keep)
        ts = None if self.sample_ts is None else self.sample_ts[idx]
        return StepVector([self.labels[i] for i in idx], self.values[idx], self.present[idx], ts)


@dataclass(frozen=True, slots=True)
class StepMatrix:
    """A range vector per step (matrix selector ``x[5m]`` or a subquery).

    Samples of series ``i`` are ``timestamps[offsets[i]:offsets[i+1]]`` /
    ``values[offsets[i]:offsets[i+1]]`` (staleness markers already removed). The window
    of series ``i`` at step ``j`` is the flat slice ``starts[i, j]:ends[i, j]`` (absolute
    indices into the flat arrays; empty when equal). ``window_ends[j]`` is the evaluation
    time of step ``j`` after offset/@ are applied, and ``range_ms`` the selector's range,
    so the window is ``[window_ends[j] - range_ms, window_ends[j]]``: closed at both ends,
    as in Prometheus 2.x (3.0 made it left-open; 2.42 is the reference). Check upstream.
    """

    labels: list[Labels]
    offsets: I64
    timestamps: I64
    values: F64
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    window_ends: I64
    range_ms: int
    #: Samples in each window, shape ``(n, k)`` (``ends - starts``, computed once).
    counts: npt.NDArray[np.int64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", self.ends - self.starts)

    @property
    def n(self) -> int:
        return len(self.labels)


StepValue = StepScalar | StepString | StepVector | StepMatrix
