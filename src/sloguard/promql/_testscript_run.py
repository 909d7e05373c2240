"""Running ``.test`` scripts against ``PromQLEngine`` over ``MemoryStorage``, with the
harness' checks: the instant eval, its ``@`` re-runs, and each of those again as a range
query from t-1m to t+1m (step 1m) whose middle point must match."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from sloguard.labels import Labels
from sloguard.promql._testscript_at import at_modifier_test_cases
from sloguard.promql._testscript_parse import ClearCmd, EvalCmd, LoadCmd, RangeEvalCmd, Script
from sloguard.promql._value import (
    Engine,
    Matrix,
    PromQLError,
    Sample,
    Scalar,
    Series,
    Value,
    ValueType,
    Vector,
)
from sloguard.tsdb.testing import MemoryStorage

_MIN_NORMAL = 2.2250738585072014e-308
_EPSILON = 1e-6

EngineFactory = Callable[[MemoryStorage], Engine]


def default_engine(storage: MemoryStorage) -> Engine:
    """The harness' engine: lookback 5m, max samples 10,000, subquery step 1m."""
    import sloguard.promql.functions  # noqa: F401 - registers holt_winters with the parser
    from sloguard.promql.engine import EngineOptions, PromQLEngine

    opts = EngineOptions(
        lookback_delta_ms=300_000, max_samples=10_000, timeout_s=100.0,
        default_subquery_step_ms=60_000,
    )
    return PromQLEngine(storage, opts)


class Outcome(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class EvalResult:
    """The outcome of one ``eval`` command (all its re-runs); ``message`` says why it failed
    or was skipped."""

    source: str
    line: int
    expr: str
    outcome: Outcome
    message: str = ""

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


def almost_equal(a: float, b: float) -> bool:
    """Prometheus' test comparison: both NaN, equal, or relative difference below 1e-6."""
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    diff = abs(a - b)
    if a == 0 or b == 0 or diff < _MIN_NORMAL:
        return diff < _EPSILON * _MIN_NORMAL
    return diff / (abs(a) + abs(b)) < _EPSILON


class _Mismatch(Exception):
    pass


def compare(cmd: EvalCmd, value: Value) -> None:
    """Raise ``_Mismatch`` when ``value`` is not what ``cmd`` expects."""
    if isinstance(value, Scalar):
        if cmd.scalar is None:
            raise _Mismatch(f"got scalar {value.v} but expected a vector")
        if not almost_equal(cmd.scalar, value.v):
            raise _Mismatch(f"expected scalar {cmd.scalar} but got {value.v}")
        return
    if not isinstance(value, list) or (value and not isinstance(value[0], Sample)):
        raise _Mismatch("received range result on instant evaluation")
    vec: Vector = value  # type: ignore[assignment]
    seen: set[Labels] = set()
    for pos, s in enumerate(vec, start=1):
        exp = cmd.expected.get(s.labels)
        if exp is None:
            raise _Mismatch(f"unexpected metric {s.labels} in result (value {s.v})")
        if cmd.ordered and exp.pos != pos:
            raise _Mismatch(f"expected metric {s.labels} at position {exp.pos} but was at {pos}")
        if not almost_equal(exp.value, s.v):
            raise _Mismatch(f"expected {exp.value} for {s.labels} but got {s.v}")
        seen.add(s.labels)
    for labels, exp in cmd.expected.items():
        if labels not in seen:
            raise _Mismatch(f"expected metric {labels} with {exp.value} not found")
    if cmd.scalar is not None:
        raise _Mismatch(f"expected scalar {cmd.scalar} but got a vector")


def _middle_point(mat: Matrix, t: int, scalar: bool) -> Value:
    out: Vector = []
    for series in mat:
        hit = np.flatnonzero(series.timestamps == t)
        if hit.size:
            out.append(Sample(series.labels, t, float(series.values[hit[0]])))
    if scalar:
        if not out:
            raise _Mismatch("range query returned no point at the evaluation time")
        return Scalar(t, out[0].v)
    return out


def _check_query(engine: Engine, cmd: EvalCmd, expr: str, t: int) -> None:
    """One instant query (+ its range-mode twin); raise ``_Mismatch`` on any difference."""
    try:
        res = engine.instant_query(expr, t)
    except PromQLError as e:
        if cmd.fail:
            return
        raise _Mismatch(f"error evaluating query {expr!r} at {t}ms: {e}") from None
    if cmd.fail:
        raise _Mismatch(f"expected error evaluating query {expr!r} at {t}ms but got none")
    try:
        if res.result_type in (ValueType.MATRIX, ValueType.STRING):
            raise _Mismatch(f"received {res.result_type.value} result on instant evaluation")
        compare(cmd, res.value)
    except _Mismatch as e:
        raise _Mismatch(f"{expr!r} at {t}ms: {e}") from None
    try:
        rng = engine.range_query(expr, t - 60_000, t + 60_000, 60_000)
    except PromQLError as e:
        raise _Mismatch(f"error evaluating query {expr!r} at {t}ms in range mode: {e}") from None
    if cmd.ordered:
        return
    try:
        compare(cmd, _middle_point(rng.value, t, isinstance(res.value, Scalar)))  # type: ignore[arg-type]
    except _Mismatch as e:
        raise _Mismatch(f"{expr!r} at {t}ms in range mode: {e}") from None


def run_eval(engine: Engine, cmd: EvalCmd) -> None:
    """Run one eval with all the harness' re-runs; raise ``_Mismatch`` on failure."""
    queries = [(cmd.expr, cmd.t_ms), *at_modifier_test_cases(cmd.expr, cmd.t_ms)]
    for expr, t in queries:
        _check_query(engine, cmd, expr, t)


def run_range_eval(engine: Engine, cmd: RangeEvalCmd) -> None:
    """Run a range eval; every expected series must match point for point."""
    try:
        res = engine.range_query(cmd.expr, cmd.start_ms, cmd.end_ms, cmd.step_ms)
    except PromQLError as e:
        if cmd.fail:
            return
        raise _Mismatch(f"error evaluating range query {cmd.expr!r}: {e}") from None
    if cmd.fail:
        raise _Mismatch(f"expected error evaluating range query {cmd.expr!r} but got none")
    got = {s.labels: s for s in res.value if isinstance(s, Series)}  # type: ignore[union-attr]
    for labels in got.keys() - cmd.expected.keys():
        raise _Mismatch(f"unexpected metric {labels} in result")
    for labels, values in cmd.expected.items():
        series = got.get(labels)
        if series is None:
            raise _Mismatch(f"expected metric {labels} not found")
        want = [(cmd.start_ms + k * cmd.step_ms, v) for k, v in enumerate(values) if v is not None]
        have = list(zip(series.timestamps.tolist(), series.values.tolist(), strict=True))
        same = len(want) == len(have) and all(
            tw == th and almost_equal(vw, vh) for (tw, vw), (th, vh) in zip(want, have, strict=True)
        )
        if not same:
            raise _Mismatch(f"{labels}: expected points {want[:6]}... but got {have[:6]}...")


def _load(storage: MemoryStorage, cmd: LoadCmd) -> None:
    for labels, values in cmd.series.items():
        ts = [k * cmd.step_ms for k, v in enumerate(values) if v is not None]
        vs = [v for v in values if v is not None]
        if ts:
            storage.add(labels, ts, vs)


def run_script(
    script: Script,
    engine_factory: EngineFactory = default_engine,
    skips: Mapping[int, str] | None = None,
) -> list[EvalResult]:
    """Run every command in order; ``skips`` maps eval line numbers to a reason."""
    storage = MemoryStorage()
    engine = engine_factory(storage)
    results: list[EvalResult] = []
    broken = ""
    for cmd in script.commands:
        if isinstance(cmd, ClearCmd):
            storage = MemoryStorage()
            engine = engine_factory(storage)
        elif isinstance(cmd, LoadCmd):
            try:
                _load(storage, cmd)
            except ValueError as e:
                broken = f"load at line {cmd.line} failed: {e}"
        else:
            results.append(_run_one(script.source, engine, cmd, broken, (skips or {}).get(cmd.line)))
    return results


def _run_one(
    source: str, engine: Engine, cmd: EvalCmd | RangeEvalCmd, broken: str, skip: str | None
) -> EvalResult:
    if skip is not None:
        return EvalResult(source, cmd.line, cmd.expr, Outcome.SKIPPED, skip)
    if broken:
        return EvalResult(source, cmd.line, cmd.expr, Outcome.FAILED, broken)
    try:
        if isinstance(cmd, RangeEvalCmd):
            run_range_eval(engine, cmd)
        else:
            run_eval(engine, cmd)
    except _Mismatch as e:
        return EvalResult(source, cmd.line, cmd.expr, Outcome.FAILED, str(e))
    except Exception as e:  # noqa: BLE001 - an engine crash is a failed eval, not a crashed run
        return EvalResult(source, cmd.line, cmd.expr, Outcome.FAILED, f"crash: {type(e).__name__}: {e}")
    return EvalResult(source, cmd.line, cmd.expr, Outcome.PASSED)


def read_skips(text: str) -> dict[str, dict[int, str]]:
    """Parse a skip list: lines ``<file>.test:<line> <reason>`` (``#`` comments).

    Returns file name -> eval line -> reason. A line without a reason is an error: every
    skip must say why.
    """
    out: dict[str, dict[int, str]] = {}
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where, _, reason = line.partition(" ")
        name, _, num = where.rpartition(":")
        if not name or not num.isdigit() or not reason.strip():
            raise ValueError(f"skip list line {n} must be '<file>.test:<line> <reason>', got {raw!r}")
        out.setdefault(name, {})[int(num)] = reason.strip()
    return out
