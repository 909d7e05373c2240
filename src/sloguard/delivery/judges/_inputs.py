"""The judges' inputs: event counts, raw samples, and Prometheus histogram buckets; and
the checks every settings class shares."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sloguard.delivery.judges._errors import JudgeError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Counts:
    """``events`` (e.g. errors) out of ``exposure`` (requests, or seconds for a rate).
    For proportions, ``events <= exposure``; both are finite and not negative. Counts
    from Prometheus ``increase()`` may be fractional, so floats are allowed."""

    events: float
    exposure: float

    def __post_init__(self) -> None:
        for name in ("events", "exposure"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise JudgeError(f"Counts.{name} must be a finite number >= 0, got {value!r}.")

    @property
    def rate(self) -> float:
        return self.events / self.exposure if self.exposure > 0 else math.nan

    def check_proportion(self, where: str) -> None:
        if self.events > self.exposure:
            raise JudgeError(
                f"The {where} has {self.events:g} events out of {self.exposure:g} requests; "
                "a proportion needs events <= requests."
            )


def as_samples(values: Sequence[float] | FloatArray, where: str) -> FloatArray:
    """Observations as a 1-d float array without NaN (NaN is dropped: "no data")."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise JudgeError(f"The {where} samples must be a flat sequence, got shape {arr.shape}.")
    arr = arr[~np.isnan(arr)]
    if np.isinf(arr).any():
        raise JudgeError(f"The {where} samples contain an infinite value.")
    return arr


def check_alpha(alpha: float, owner: str) -> None:
    if not (0.0 < alpha < 1.0):
        raise JudgeError(f"{owner}.alpha must be between 0 and 1 (exclusive), got {alpha!r}.")


def check_minimum(value: float, name: str, owner: str) -> None:
    if not math.isfinite(value) or value < 0:
        raise JudgeError(f"{owner}.{name} must be a finite number >= 0, got {value!r}.")


def check_tolerance(value: float, name: str, owner: str) -> None:
    if not math.isfinite(value) or value < 0:
        raise JudgeError(
            f"{owner}.{name} is a relative tolerance (0.1 = 10 %) and must be >= 0, got {value!r}."
        )
