"""Checks every spec format shares: objective range, PromQL that parses, unique names."""

from __future__ import annotations

from sloguard.labels import is_valid_label_name
from sloguard.slo._reader import Reader
from sloguard.slo._sli import SLIError, error_rate, parse_promql, total_rate
from sloguard.slo.model import SLO


def check_objective(r: Reader, path: str, ratio: float | None) -> float | None:
    if ratio is None:
        return None
    if not 0 < ratio < 1:
        r.problem(
            path,
            f"objective {ratio * 100:g}% is out of range: it must be above 0% and below 100% "
            "(a 100% objective leaves no error budget)",
        )
        return None
    return ratio


def check_slo(r: Reader, path: str, slo: SLO) -> None:
    """Build the SLI's PromQL for a short and a long window and parse it."""
    for g in slo.grouping:
        if not is_valid_label_name(g):
            r.problem(f"{path}.grouping", f"{g!r} is not a valid label name")
    try:
        exprs = [error_rate(slo, 300_000), total_rate(slo, 300_000)]
    except SLIError as e:
        r.problem(f"{path}.sli", str(e))
        return
    for expr in exprs:
        try:
            parse_promql(expr, "sli")
        except SLIError as e:
            r.problem(f"{path}.sli", str(e).removeprefix("sli: "))
            return


def check_unique(r: Reader, slos: list[tuple[str, SLO]]) -> None:
    seen: dict[str, str] = {}
    for path, slo in slos:
        if slo.name in seen:
            r.problem(f"{path}.name", f"duplicate SLO name {slo.name!r} (first defined at {seen[slo.name]})")
        else:
            seen[slo.name] = f"{slo.source}: {path}"
