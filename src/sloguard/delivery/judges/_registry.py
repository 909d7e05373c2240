"""Judges by name, for specs and the controller: what each takes and how its settings are
read from a mapping (YAML), with errors that name the key path."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sloguard.delivery.judges import exact, mann_whitney, proportions, tail
from sloguard.delivery.judges._errors import JudgeError
from sloguard.delivery.judges._verdict import Verdict


class InputKind(enum.Enum):
    """What a judge compares: ``Counts`` (events over exposure), raw samples, or
    ``Histogram`` buckets."""

    COUNTS = "counts"
    SAMPLES = "samples"
    HISTOGRAM = "histogram"


@dataclass(frozen=True, slots=True)
class JudgeSpec:
    """A registered fixed-sample judge: ``judge(baseline, canary, settings) -> Verdict``."""

    name: str
    kind: InputKind
    settings_type: type[Any]
    judge: Callable[[Any, Any, Any], Verdict]
    summary: str

    def settings(self, values: Mapping[str, Any] | None = None, where: str = "settings") -> Any:
        """Build this judge's settings from a mapping; unknown keys and bad values are
        errors naming ``where`` (e.g. ``spec.analysis.judges[0].settings``)."""
        values = dict(values or {})
        known = {f.name: f for f in dataclasses.fields(self.settings_type)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise JudgeError(
                f"{where}: unknown key(s) {', '.join(map(repr, unknown))} for the {self.name!r} "
                f"judge; known keys are {', '.join(sorted(known))}."
            )
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise JudgeError(f"{where}.{key}: expected a number, got {value!r}.")
        try:
            return self.settings_type(**values)
        except JudgeError as err:
            raise JudgeError(f"{where}: {err}") from None


JUDGES: dict[str, JudgeSpec] = {
    s.name: s
    for s in (
        JudgeSpec(proportions.NAME, InputKind.COUNTS, proportions.ProportionSettings,
                  proportions.z_test, "two-proportion z-test on error rates"),
        JudgeSpec(exact.RATE_RATIO, InputKind.COUNTS, exact.ExactSettings, exact.rate_ratio,
                  "conditional binomial (Poisson) test for rare errors"),
        JudgeSpec(exact.FISHER, InputKind.COUNTS, exact.ExactSettings, exact.fisher,
                  "Fisher's exact test on errors and successes"),
        JudgeSpec(mann_whitney.NAME, InputKind.SAMPLES, mann_whitney.MannWhitneySettings,
                  mann_whitney.mann_whitney, "Mann-Whitney U: canary values larger"),
        JudgeSpec(tail.TAIL, InputKind.HISTOGRAM, tail.TailSettings, tail.tail_histogram,
                  "share above the pooled high quantile, from histogram buckets"),
        JudgeSpec("tail-samples", InputKind.SAMPLES, tail.TailSettings, tail.tail_samples,
                  "share above the pooled high quantile, from raw samples"),
        JudgeSpec(tail.SPREAD, InputKind.SAMPLES, tail.SpreadSettings, tail.spread,
                  "Brown-Forsythe: canary spread wider"),
    )  # fmt: skip
}


def judge_by_name(name: str, where: str = "judge") -> JudgeSpec:
    """The registered judge called ``name``; an unknown name is an error listing them."""
    spec = JUDGES.get(name)
    if spec is None:
        raise JudgeError(f"{where}: unknown judge {name!r}; known judges are {', '.join(sorted(JUDGES))}.")
    return spec
