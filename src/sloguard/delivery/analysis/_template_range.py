"""Argo's ``provider.prometheus.rangeQuery`` (``start``, ``end``, ``step``) read from a template."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sloguard.delivery.analysis._template_fields import DEFERRED, Reader
from sloguard.delivery.analysis._time_expr import RangeQuery, TimeExpr

__all__ = ["read_range"]


def read_range(r: Reader, node: Any, path: str) -> RangeQuery | None | object:
    """The range at ``path`` (None when absent or wrong, with its problems added to ``r``), or
    ``DEFERRED`` when it depends on an argument given at use."""
    if node is None:
        return None
    if not isinstance(node, Mapping):
        r.problem(path, "must be a mapping with start, end and step")
        return None
    r.keys(node, path, {"start", "end", "step"}, {})
    start = _time(r, node, "start", path)
    end = _time(r, node, "end", path)
    step = r.duration_ms(node, "step", f"{path}.step")
    if step is None and "step" not in node:
        r.problem(f"{path}.step", "is required (a duration such as 1m)")
    elif step == 0:
        r.problem(f"{path}.step", "must be more than 0")
        step = None
    if DEFERRED in (start, end, step):
        return DEFERRED
    if not (isinstance(start, TimeExpr) and isinstance(end, TimeExpr) and isinstance(step, int)):
        return None
    return RangeQuery(start, end, step)


def _time(r: Reader, node: Mapping[str, Any], key: str, path: str) -> TimeExpr | None | object:
    return r.compiled(node, key, f"{path}.{key}", TimeExpr.compile, required=True)
