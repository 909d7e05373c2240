"""``count_values``: series per (group, value), counted per step without expanding rows."""

from __future__ import annotations

import numpy as np

from sloguard.labels import Labels, is_valid_label_name
from sloguard.promql._ast import Aggregate
from sloguard.promql._eval_rows import drop_labels, group_ids, keep_labels
from sloguard.promql._steps import StepVector
from sloguard.promql._value import ErrorType, PromQLError


def count_values(node: Aggregate, vec: StepVector, label: str) -> StepVector:
    """As upstream: the value label is set on each sample's labels, then grouped.

    With ``by``, the group is the ``by`` labels plus the value label; with ``without``,
    all labels but the listed ones and ``__name__`` (the value label too, unless it is
    listed, in which case the value does not split groups at all).
    """
    if not is_valid_label_name(label):
        raise PromQLError(f'invalid label name "{label}"', ErrorType.EXECUTION)
    value_dropped = node.without and label in node.grouping
    if node.without:
        drop = frozenset((*node.grouping, "__name__", label))
        base = [drop_labels(ls, drop) for ls in vec.labels]
    else:
        keep = frozenset(node.grouping) - {label}
        base = [keep_labels(ls, keep) for ls in vec.labels]
    gid, groups = group_ids(base)
    rows, cols = np.nonzero(vec.present)
    uniq, code = np.unique(vec.values[rows, cols], return_inverse=True)
    if value_dropped:
        code = np.zeros_like(code)
    nu = max(len(uniq), 1)
    pair = gid[rows] * nu + code.reshape(-1)
    pairs, first, inv = np.unique(pair, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # series in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    k = vec.present.shape[1]
    counts = np.bincount(rank[inv.reshape(-1)] * k + cols, minlength=len(pairs) * k).reshape(len(pairs), k)
    texts = [format_value(float(u)) for u in uniq.tolist()]
    labels: list[Labels] = []
    for p in pairs[order].tolist():
        g = groups[p // nu]
        assert isinstance(g, Labels)  # group_ids keeps the key objects it was given
        labels.append(g if value_dropped else g.set(label, texts[p % nu]))
    return StepVector(labels, counts.astype(np.float64), counts > 0).prune()


def format_value(v: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'f', -1, 64)``."""
    if np.isnan(v):
        return "NaN"
    if np.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return str(np.format_float_positional(v, trim="-"))
