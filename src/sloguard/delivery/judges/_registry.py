"""Judges by name, for specs and the controller: what each takes and how its settings are
read from a mapping (YAML), with errors that name the key path."""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sloguard.delivery.judges import exact, mann_whitney, proportions, sequential, spending, tail
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
        """Build this judge's settings from a mapping; see :func:`settings_from`."""
        return settings_from(self.settings_type, values, where, f"the {self.name!r} judge")


def settings_from(
    settings_type: type[Any], values: Mapping[str, Any] | None, where: str, owner: str
) -> Any:
    """Settings of ``settings_type`` from a mapping (YAML values): numbers for float
    fields, whole numbers for int fields, the value's name for enum fields. Unknown keys
    and bad values are errors naming ``where`` (e.g. ``spec.analysis.judges[0].settings``)."""
    values = dict(values or {})
    hints = typing.get_type_hints(settings_type)
    unknown = sorted(set(values) - set(hints))
    if unknown:
        raise JudgeError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))} for {owner}; "
            f"known keys are {', '.join(sorted(hints))}."
        )
    kwargs = {key: _coerce(hints[key], value, f"{where}.{key}") for key, value in values.items()}
    try:
        return settings_type(**kwargs)
    except JudgeError as err:
        raise JudgeError(f"{where}: {err}") from None


def _coerce(kind: Any, value: Any, where: str) -> Any:
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        try:
            return kind(value)
        except ValueError:
            names = ", ".join(repr(m.value) for m in kind)
            raise JudgeError(f"{where}: expected one of {names}, got {value!r}.") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JudgeError(f"{where}: expected a number, got {value!r}.")
    if kind is int and not isinstance(value, int):
        raise JudgeError(f"{where}: expected a whole number, got {value!r}.")
    return value


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


# Judges that carry state between looks (``sequential``) or wrap another judge
# (``alpha-spending``): their settings by name, built with :func:`settings_from`.
WRAPPERS: dict[str, type[Any]] = {
    sequential.NAME: sequential.SequentialSettings,
    spending.NAME: spending.SpendingSettings,
}


def wrapper_settings(name: str, values: Mapping[str, Any] | None = None, where: str = "settings") -> Any:
    """Settings of the sequential judge or the alpha-spending wrapper from a mapping."""
    settings_type = WRAPPERS.get(name)
    if settings_type is None:
        raise JudgeError(f"{where}: unknown sequential method {name!r}; known ones are {', '.join(sorted(WRAPPERS))}.")
    return settings_from(settings_type, values, where, f"the {name!r} method")
