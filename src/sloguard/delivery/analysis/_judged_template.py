"""``provider.judge`` in an AnalysisTemplate (sloguard's own provider): a judge metric.

    provider:
      judge:
        name: exact                      # a judge of sloguard.delivery.judges
        settings: {alpha: 0.05, min_exposure: 500}
        events: sum(increase(http_requests_total{code=~"5..",$ARM}[$WINDOW]))
        exposure: sum(increase(http_requests_total{$ARM}[$WINDOW]))
        # or, for a histogram judge:  buckets: sum by (le) (increase(x_bucket{$ARM}[$WINDOW]))
        sequential: {method: sequential, settings: {alpha: 0.05}}   # or alpha-spending; optional
        arms: {label: version, baseline: baseline, canary: canary, fallback: stable}
        insufficientDataLimit: 4
        correction: holm                      # holm, benjamini-hochberg or none
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sloguard.delivery.analysis._errors import AnalysisError
from sloguard.delivery.analysis._judged_inputs import ARM, Arms
from sloguard.delivery.analysis._judged_look import DEFAULT_INSUFFICIENT_LIMIT, JudgeConfig
from sloguard.delivery.analysis._template_fields import DEFERRED, Reader
from sloguard.delivery.judges import Correction, JudgeError, judge_by_name, wrapper_settings
from sloguard.delivery.judges.sequential import SequentialSettings

JUDGE_KEYS = {"name", "settings", "events", "exposure", "buckets", "sequential", "arms",
              "insufficientDataLimit", "correction"}  # fmt: skip
ARMS_KEYS = {"label", "baseline", "canary", "fallback"}


def read_judge(r: Reader, node: Mapping[str, Any], path: str) -> Any:
    """The ``JudgeConfig`` at ``path``; None with problems added to ``r``; ``DEFERRED``
    when a query depends on arguments given at use."""
    _keys(r, node, path, JUDGE_KEYS)
    name = r.text(node, "name", f"{path}.name", required=True)
    texts = {k: r.text(node, k, f"{path}.{k}") for k in ("events", "exposure", "buckets")}
    arms = _arms(r, node.get("arms"), f"{path}.arms")
    limit = r.integer(node, "insufficientDataLimit", f"{path}.insufficientDataLimit", 0)
    if DEFERRED in (name, arms, limit, *texts.values()):
        return DEFERRED
    if name is None or not isinstance(arms, Arms):
        return None
    try:
        settings = judge_by_name(str(name), f"{path}.name").settings(_mapping(node, "settings"), f"{path}.settings")
        method, method_settings = _method(node.get("sequential"), f"{path}.sequential")
        correction = Correction(str(node.get("correction", "holm")))
    except JudgeError as e:
        where, _, said = str(e).partition(": ")
        r.problem(*((where, said) if where.startswith(path) and said else (path, str(e))))
        return None
    except ValueError:
        known = ", ".join(c.value for c in Correction)
        r.problem(f"{path}.correction", f"{node.get('correction')!r} is not one of {known}")
        return None
    for key, text in texts.items():
        if text and ARM not in str(text):
            r.problem(f"{path}.{key}", f"{text!r} does not contain {ARM}, so it cannot tell the canary from the baseline")
    try:
        return JudgeConfig(
            str(name), settings, str(texts["events"] or ""), str(texts["exposure"] or ""), str(texts["buckets"] or ""),
            method, method_settings, arms, DEFAULT_INSUFFICIENT_LIMIT if limit is None else int(str(limit)), correction,
        )
    except AnalysisError as e:
        r.problem(path, str(e))
        return None


def _keys(r: Reader, node: Mapping[str, Any], path: str, known: set[str]) -> None:
    for key in node:
        if key not in known:
            r.problem(f"{path}.{key}", f"is not a field of a judge metric (known: {', '.join(sorted(known))})")


def _mapping(node: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = node.get(key)
    if value is not None and not isinstance(value, Mapping):
        raise JudgeError(f"{key} must be a mapping, not {value!r}.")
    return value


def _method(node: Any, path: str) -> tuple[str | None, Any]:
    if node is None:
        return None, None
    if not isinstance(node, Mapping) or not isinstance(node.get("method"), str):
        raise JudgeError(f"{path} must be a mapping with a method (sequential or alpha-spending).")
    unknown = sorted(set(node) - {"method", "settings"})
    if unknown:
        raise JudgeError(f"{path}: unknown key(s) {unknown}; known keys are method and settings.")
    return node["method"], wrapper_settings(node["method"], _mapping(node, "settings"), f"{path}.settings")


def _arms(r: Reader, node: Any, path: str) -> Arms | None | object:
    if node is None:
        return Arms()
    if not isinstance(node, Mapping):
        r.problem(path, "must be a mapping with label, baseline, canary and fallback")
        return None
    _keys(r, node, path, ARMS_KEYS)
    got = {k: r.text(node, k, f"{path}.{k}") for k in ARMS_KEYS}
    if DEFERRED in got.values():
        return DEFERRED
    d = Arms()
    fallback = d.fallback if "fallback" not in node else (None if got["fallback"] in (None, "") else str(got["fallback"]))
    return Arms(str(got["label"] or d.label), str(got["baseline"] or d.baseline), str(got["canary"] or d.canary), fallback)


def with_planned_looks(provider: Any, metric: Mapping[str, Any], count: Any) -> Any:
    """A sequential judge metric with ``count`` measurements knows its horizon: its
    ``looks`` default to the count (the planned-looks design, which spends all of alpha by
    the last look), unless its settings give ``looks`` (0 keeps the mSPRT)."""
    if not isinstance(provider, JudgeConfig) or provider.method != "sequential" or not isinstance(count, int) or count < 1:
        return provider
    judge = (metric.get("provider") or {}).get("judge") or {}
    given = ((judge.get("sequential") or {}).get("settings") or {}) if isinstance(judge, Mapping) else {}
    if not isinstance(given, Mapping) or "looks" in given:
        return provider
    settings = provider.method_settings or SequentialSettings()
    return replace(provider, method_settings=replace(settings, looks=count))
