"""Reading ``strategy.canary.judges``: canary-versus-baseline metrics, each a registered
judge (``delivery.judges``) with its own settings and the PromQL of both sides."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sloguard.delivery._spec_model import JudgeMetric, JudgeQueries
from sloguard.delivery._spec_read import join, known, split_where, suggest
from sloguard.delivery.judges import JUDGES, InputKind, JudgeError, wrapper_settings
from sloguard.delivery.judges.sequential import NAME as SEQUENTIAL
from sloguard.slo._querycheck import check_query
from sloguard.slo._reader import Reader

_QUERY_KEYS = {
    InputKind.COUNTS: ("errors", "total"),
    InputKind.HISTOGRAM: ("buckets",),
    InputKind.SAMPLES: ("samples",),
}
NAMES = set(JUDGES) | {SEQUENTIAL}


def read_judges(r: Reader, items: list[Any], path: str) -> tuple[JudgeMetric, ...]:
    out = []
    for i, raw in enumerate(items):
        j = _judge(r, raw, join(path, i))
        if j is not None:
            out.append(j)
    names = [j.name for j in out]
    for i, n in enumerate(names):
        if names.index(n) != i:
            r.problem(join(join(path, i), "name"), f"duplicate judge metric name {n!r}")
    return tuple(out)


def _judge(r: Reader, raw: Any, where: str) -> JudgeMetric | None:
    d = r.mapping(raw, where)
    known(r, d, where, {"name", "judge", "settings", "baseline", "canary"})
    mark = r.mark()
    name = r.str_(d, "name", where, required=True)
    judge = r.str_(d, "judge", where, required=True)
    if judge and judge not in NAMES:
        r.problem(join(where, "judge"), f"unknown judge {judge!r}{suggest(judge, NAMES)}")
        return None
    if not judge:
        return None
    kind = InputKind.COUNTS if judge == SEQUENTIAL else JUDGES[judge].kind
    settings = _settings(r, judge, d.get("settings"), join(where, "settings"))
    baseline = _queries(r, d.get("baseline"), join(where, "baseline"), kind)
    canary = _queries(r, d.get("canary"), join(where, "canary"), kind)
    if r.errors_since(mark):
        return None
    return JudgeMetric(name, judge, kind, settings, baseline, canary)


def _settings(r: Reader, judge: str, raw: Any, where: str) -> Any:
    values: Mapping[str, Any] = r.mapping(raw, where)
    try:
        if judge == SEQUENTIAL:
            return wrapper_settings(judge, values, where)
        return JUDGES[judge].settings(values, where)
    except JudgeError as e:
        path, message = split_where(str(e), where)
        r.problem(path, message)
        return None


def _queries(r: Reader, raw: Any, where: str, kind: InputKind) -> JudgeQueries:
    if raw is None:
        r.problem(where, f"is required: {' and '.join(_QUERY_KEYS[kind])} PromQL for a {kind.value} judge")
        return JudgeQueries()
    d = r.mapping(raw, where)
    keys = _QUERY_KEYS[kind]
    known(r, d, where, set(keys))
    found = {}
    for k in keys:
        text = r.str_(d, k, where, required=True)
        if text and check_query(r, join(where, k), text):
            found[k] = text
    return JudgeQueries(**found)
