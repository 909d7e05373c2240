"""Checks every spec format shares: objective range, names, labels, PromQL that parses, unique SLOs.

The rules follow Sloth's validator (slok/sloth ``pkg/common/validation``) where sloguard
has the same concept: names start and end with an alphanumeric, label keys are valid
Prometheus label names other than ``__name__`` and their values are not empty, annotation
values are not empty, an enabled alert needs a name, SLI queries parse. sloguard is
stricter in one place: a 100% objective leaves no error budget, so it is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sloguard.labels import is_valid_label_name
from sloguard.slo._errors import Problem, Severity
from sloguard.slo._reader import Declared, Reader
from sloguard.slo._sli import SLIError, error_rate, parse_promql, total_rate
from sloguard.slo.model import SLO
from sloguard.slo.rulegen import RESERVED_LABEL_PREFIX

#: Sloth's name rule for SLO names and services, also allowing one character (Sloth asks for two).
NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")


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


def check_name(r: Reader, path: str, name: str) -> None:
    """An SLO or service name: it names recording rules, groups and dashboards."""
    if name and NAME.fullmatch(name) is None:
        r.problem(path, f"{name!r} is not a valid name: it must start and end with a letter or digit, "
                  "with only letters, digits, '.', '_' and '-' between")


def check_labels(r: Reader, path: str, labels: Iterable[tuple[str, str]], *, annotations: bool = False) -> None:
    """Label (or annotation) keys are Prometheus label names; values are not empty."""
    what = "annotation" if annotations else "label"
    for k, v in labels:
        if not is_valid_label_name(k) or (k == "__name__" and not annotations):
            r.problem(f"{path}.{k}", f"{k!r} is not a valid {what} name: use letters, digits and '_', "
                      "not starting with a digit" + ("" if annotations else " (and not __name__)"))
        if v == "":
            r.problem(f"{path}.{k}", f"the {what} value is empty")


def check_grouping(r: Reader, path: str, grouping: Iterable[str]) -> None:
    for i, g in enumerate(grouping):
        if not is_valid_label_name(g):
            r.problem(f"{path}[{i}]", f"{g!r} is not a valid label name")


def check_slo(r: Reader, sli_path: str, slo: SLO) -> None:
    """Build the SLI's PromQL for one window and parse it (for what the per-field checks
    cannot see, such as a latency threshold between buckets); call it only on an SLO whose
    fields passed their own checks, so a problem is never reported twice."""
    check_reserved_labels(r, sli_path.rpartition(".")[0] or sli_path, slo)
    try:
        exprs = [error_rate(slo, 300_000), total_rate(slo, 300_000)]
    except SLIError as e:
        r.problem(sli_path, str(e))
        return
    for expr in exprs:
        try:
            parse_promql(expr, "sli")
        except SLIError as e:
            r.problem(sli_path, str(e).removeprefix("sli: "))
            return


def check_unique(declared: Iterable[Declared]) -> tuple[list[Problem], set[str]]:
    """Duplicate SLOs: the same service and name twice (an error, as in Sloth, whose
    ``sloth_id`` is service and name), or the same name in two services (a warning: sloguard's
    own rules and API tell SLOs apart by name). Returns the problems and the ``source: path``
    of each SLO that repeats an earlier one."""
    problems: list[Problem] = []
    repeats: set[str] = set()
    by_id: dict[tuple[str, str], Declared] = {}
    by_name: dict[str, Declared] = {}
    for d in declared:
        first = by_id.get((d.service, d.name))
        if first is not None:
            problems.append(Problem(d.source, d.name_path, f"duplicate SLO {d.name!r} of service {d.service!r} "
                                    f"(first defined at {_where(first, d)})"))
            repeats.add(f"{d.source}: {d.path}")
            continue
        by_id[(d.service, d.name)] = d
        other = by_name.setdefault(d.name, d)
        if other is not d and other.service != d.service:
            problems.append(Problem(d.source, d.name_path, f"SLO name {d.name!r} is also used by service "
                                    f"{other.service!r} (at {_where(other, d)}); sloguard's rules, reports and "
                                    "API tell SLOs apart by name: rename one", severity=Severity.WARNING))
    return problems, repeats


def _where(first: Declared, d: Declared) -> str:
    return first.name_path if first.source == d.source else f"{first.source}: {first.name_path}"


def check_reserved_labels(r: Reader, path: str, slo: SLO) -> None:
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
