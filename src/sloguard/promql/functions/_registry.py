"""The function-call contract between the evaluator and the PromQL functions.

The evaluator evaluates every argument for all steps at once and hands the function a
``FuncCall``; the function returns one ``StepValue`` covering all steps. Functions decide
their own output labels (most drop ``__name__``, as Prometheus' ``functions.go`` does) and
return vectors whose rows have unique label sets (rows that collide after a label change
are merged when they never overlap in time, else Prometheus' error is raised).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sloguard.promql._steps import I64, StepValue


@dataclass(frozen=True, slots=True)
class FuncCall:
    """One call: evaluated ``args``, promql-parser's own AST nodes ``raw_args`` (for
    ``absent``/``absent_over_time``, which derive labels from the selector), and the
    evaluation timestamps ``steps`` (ms, shape ``(k,)``)."""

    args: list[StepValue]
    raw_args: list[Any]
    steps: I64

    @property
    def k(self) -> int:
        return int(self.steps.shape[0])


FunctionImpl = Callable[[FuncCall], StepValue]


@dataclass(frozen=True, slots=True)
class FunctionDef:
    """A PromQL function.

    ``time_dependent`` marks functions whose result depends on the evaluation time itself
    (``time``, ``timestamp``, date functions, ``predict_linear``); the test harness does
    not re-run those with ``@``. ``drops_metric_name`` documents whether the output loses
    ``__name__`` (the implementation already applies it). ``min_args``/``max_args``
    (``None`` = variadic) mirror Prometheus' signature table; promql-parser checks them too.
    """

    name: str
    impl: FunctionImpl
    min_args: int
    max_args: int | None
    drops_metric_name: bool = True
    time_dependent: bool = False


FUNCTIONS: dict[str, FunctionDef] = {}


def register(
    name: str,
    min_args: int,
    max_args: int | None = -1,
    *,
    drops_metric_name: bool = True,
    time_dependent: bool = False,
) -> Callable[[FunctionImpl], FunctionImpl]:
    """Decorator adding ``impl`` to ``FUNCTIONS`` (``max_args=-1`` means equal to min)."""

    def deco(impl: FunctionImpl) -> FunctionImpl:
        hi = min_args if max_args == -1 else max_args

        def quiet(call: FuncCall) -> StepValue:
            with np.errstate(all="ignore"):  # Go float semantics: Inf/NaN, no warnings
                return impl(call)

        FUNCTIONS[name] = FunctionDef(name, quiet, min_args, hi, drops_metric_name, time_dependent)
        return impl

    return deco
