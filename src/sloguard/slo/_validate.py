"""Checks every spec format shares: objective range, PromQL that parses, unique names."""

from __future__ import annotations

from sloguard.labels import is_valid_label_name
from sloguard.slo._reader import Reader
from sloguard.slo._sli import SLIError, error_rate, parse_promql, total_rate
from sloguard.slo.model import SLO
from sloguard.slo.rulegen import RESERVED_LABEL_PREFIX


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
    check_labels(r, path, slo)
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


def check_labels(r: Reader, path: str, slo: SLO) -> None:
    """Refuse user labels the generated rules would have to overwrite: another value for
    ``slo`` or ``service``, or a name with sloguard's own ``sloguard_`` prefix."""
    own = {"slo": slo.name, "service": slo.service}
    levels = [("labels", slo.labels), ("alerting.labels", slo.alerting.labels)]
    levels += [(f"alerting.{t.name}.labels", t.labels) for t in slo.alerting.tiers]
    for where, labels in levels:
        for k, v in labels:
            if k.startswith(RESERVED_LABEL_PREFIX):
                r.problem(f"{path}.{where}.{k}", f"label {k!r} uses the prefix {RESERVED_LABEL_PREFIX!r} that "
                          "sloguard reserves for its own alert labels (sloguard_tier, sloguard_long, "
                          "sloguard_short); rename it")
            elif k in own and v != own[k]:
                r.problem(f"{path}.{where}.{k}", f"label {k}={v!r} would overwrite the {k} label {own[k]!r} that "
                          f"sloguard sets on every rule of this SLO; remove it or rename it")
