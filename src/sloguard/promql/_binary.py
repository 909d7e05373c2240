"""Binary operators between scalars and vectors, with Prometheus' vector matching."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable

import numpy as np

from sloguard.labels import Labels
from sloguard.promql._ast import COMPARISON_OPERATORS, Binary, Card, VectorMatching
from sloguard.promql._eval_rows import (
    any_overlap,
    drop_labels,
    group_ids,
    keep_labels,
    merge_rows,
    prom_labels_str,
    segment_reduce,
)
from sloguard.promql._steps import F64, I64, B, StepScalar, StepValue, StepVector
from sloguard.promql._value import ErrorType, PromQLError

_DROPS_NAME = frozenset({"+", "-", "*", "/", "%", "^"})
ONE_TO_ONE_DUP = "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
GROUPING_DUP = "multiple matches for matching labels: grouping labels must ensure unique matches"

SigFunc = Callable[[Labels], Hashable]


def binary(node: Binary, lhs: StepValue, rhs: StepValue) -> StepValue:
    op, rb = node.op, node.return_bool
    match lhs, rhs:
        case StepScalar(), StepScalar():
            value, keep = elem_op(op, lhs.values, rhs.values)
            return StepScalar(keep.astype(np.float64) if op in COMPARISON_OPERATORS else value)
        case StepVector(), StepScalar():
            return vector_scalar(op, lhs, rhs.values, False, rb)
        case StepScalar(), StepVector():
            return vector_scalar(op, rhs, lhs.values, True, rb)
        case StepVector(), StepVector():
            m = node.matching or VectorMatching(Card.ONE_TO_ONE)
            if op in ("and", "or", "unless"):
                return set_operation(op, lhs, rhs, m)
            return vector_vector(op, lhs, rhs, m, rb)
    raise PromQLError(f"binary operator {op!r} is not defined between these operand types", ErrorType.BAD_DATA)


def elem_op(op: str, a: F64, b: F64) -> tuple[F64, B]:
    """Prometheus' ``vectorElemBinop``: the value and whether a comparison keeps it."""
    with np.errstate(all="ignore"):
        match op:
            case "+":
                return a + b, _all(a, b)
            case "-":
                return a - b, _all(a, b)
            case "*":
                return a * b, _all(a, b)
            case "/":
                return a / b, _all(a, b)
            case "^":
                return np.power(a, b), _all(a, b)
            case "%":
                return np.fmod(a, b), _all(a, b)
            case "atan2":
                return np.arctan2(a, b), _all(a, b)
            case "==":
                return _bcast(a, b), a == b
            case "!=":
                return _bcast(a, b), a != b
            case ">":
                return _bcast(a, b), a > b
            case "<":
                return _bcast(a, b), a < b
            case ">=":
                return _bcast(a, b), a >= b
            case "<=":
                return _bcast(a, b), a <= b
    raise PromQLError(f"operator {op!r} not allowed in this context", ErrorType.BAD_DATA)


def _all(a: F64, b: F64) -> B:
    return np.ones(np.broadcast_shapes(a.shape, b.shape), np.bool_)


def _bcast(a: F64, b: F64) -> F64:
    return np.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape)).astype(np.float64)


def vector_scalar(op: str, vec: StepVector, scalar: F64, swap: bool, return_bool: bool) -> StepVector:
    lv, rv = vec.values, scalar[None, :]
    value, keep = elem_op(op, rv, lv) if swap else elem_op(op, lv, rv)
    if op in COMPARISON_OPERATORS and swap:
        value = lv.copy()
    present = vec.present
    if return_bool:
        value = keep.astype(np.float64)
    else:
        present = present & keep
    labels = vec.labels
    if op in _DROPS_NAME or return_bool:
        labels = [ls.drop_metric_name() for ls in labels]
    return merge_rows(labels, value, present).prune()


def signature_func(m: VectorMatching) -> SigFunc:
    """The matching signature: the ``on`` labels, or all but the ``ignoring`` ones and
    ``__name__`` (labels are sorted, so the filtered pairs identify the group)."""
    if m.on:
        keep = frozenset(m.labels)
        return lambda ls: tuple(p for p in ls if p[0] in keep)
    drop = frozenset((*m.labels, "__name__"))
    return lambda ls: tuple(p for p in ls if p[0] not in drop)


def _sig_presence(ids: I64, n_ids: int, present: B) -> B:
    """Per signature id and step: is any row with that id present."""
    out = np.zeros((n_ids, present.shape[1]), np.bool_)
    if len(ids) == 0:
        return out
    if len(np.unique(ids)) == len(ids):
        out[ids] = present
        return out
    order = np.argsort(ids, kind="stable")
    sids = ids[order]
    starts = np.flatnonzero(np.concatenate(([True], sids[1:] != sids[:-1])))
    out[sids[starts]] = segment_reduce(np.logical_or, present[order], starts)
    return out


def set_operation(op: str, lhs: StepVector, rhs: StepVector, m: VectorMatching) -> StepVector:
    sigf = signature_func(m)
    ids, uniq = group_ids([sigf(ls) for ls in lhs.labels] + [sigf(ls) for ls in rhs.labels])
    lid, rid = ids[: lhs.n], ids[lhs.n :]
    if op == "or":
        lp = _sig_presence(lid, len(uniq), lhs.present)
        rkeep = rhs.present & ~lp[rid]
        used = np.flatnonzero(rkeep.any(axis=1))
        values = np.concatenate([lhs.values, rhs.values[used]])
        present = np.concatenate([lhs.present, rkeep[used]])
        return merge_rows(lhs.labels + [rhs.labels[i] for i in used], values, present).prune()
    rp = _sig_presence(rid, len(uniq), rhs.present)
    hit = rp[lid]
    present = lhs.present & (hit if op == "and" else ~hit)
    return StepVector(lhs.labels, lhs.values, present).prune()


def vector_vector(op: str, lhs: StepVector, rhs: StepVector, m: VectorMatching, return_bool: bool) -> StepVector:
    """Arithmetic and comparison between two vectors (``VectorBinop``)."""
    k = lhs.present.shape[1]
    if lhs.n == 0 or rhs.n == 0:
        return StepVector.empty(k)
    swap = m.card is Card.ONE_TO_MANY
    many, one = (rhs, lhs) if swap else (lhs, rhs)
    sigf = signature_func(m)
    one_index: dict[Hashable, int] = {}
    oid = np.fromiter((one_index.setdefault(sigf(ls), len(one_index)) for ls in one.labels), np.int64, one.n)
    if any_overlap(oid, one.present):
        _raise_one_side_duplicate(one, oid, m, "left" if swap else "right")
    mid = np.fromiter((one_index.get(sigf(ls), -1) for ls in many.labels), np.int64, many.n)
    match_row = _match_rows(one, oid, len(one_index), mid, k)
    matched = many.present & (match_row >= 0)
    ov = one.values[np.maximum(match_row, 0), np.arange(k)[None, :]]
    value, keep = elem_op(op, ov, many.values) if swap else elem_op(op, many.values, ov)
    present = matched if return_bool else matched & keep
    if return_bool:
        value = keep.astype(np.float64)
    return _result_rows(op, many, one, mid, match_row, value, present, m, return_bool)


def _match_rows(one: StepVector, oid: I64, n_sigs: int, mid: I64, k: int) -> I64:
    """For every many-side row and step, the one-side row it matches there (or -1)."""
    if len(oid) == n_sigs:
        # One row per signature (the usual case): the match is that row where present.
        row_of = np.empty(max(n_sigs, 1), np.int64)
        row_of[oid] = np.arange(len(oid))
        rows = row_of[np.maximum(mid, 0)]
        out = np.where(one.present[rows], rows[:, None], -1)
        out[mid < 0] = -1
        return out
    index = np.full((max(n_sigs, 1), k), -1, np.int64)
    rows, cols = np.nonzero(one.present)
    index[oid[rows], cols] = rows
    out = index[np.maximum(mid, 0)]
    out[mid < 0] = -1
    return out


def _result_rows(
    op: str, many: StepVector, one: StepVector, mid: I64, match_row: I64, value: F64,
    present: B, m: VectorMatching, return_bool: bool,
) -> StepVector:
    drop_name = op in _DROPS_NAME or return_bool
    if not m.include:
        labels = [_result_metric(ls, None, m, drop_name) for ls in many.labels]
        rows_mid, out_v, out_p = mid, value, present
    else:
        labels, rows_mid, out_v, out_p = _pairs(many, one, mid, match_row, value, present, m, drop_name)
    if m.card is Card.ONE_TO_ONE:
        if any_overlap(rows_mid, out_p):
            raise PromQLError(ONE_TO_ONE_DUP, ErrorType.EXECUTION)
    else:
        ids, _ = group_ids([(int(g), ls) for g, ls in zip(rows_mid.tolist(), labels, strict=True)])
        if any_overlap(ids, out_p):
            raise PromQLError(GROUPING_DUP, ErrorType.EXECUTION)
    return merge_rows(labels, out_v, out_p).prune()


def _pairs(
    many: StepVector, one: StepVector, mid: I64, match_row: I64, value: F64, present: B,
    m: VectorMatching, drop_name: bool,
) -> tuple[list[Labels], I64, F64, B]:
    """group_x(labels) copies labels from the matched one-side row, which may change from
    step to step: output one row per (many row, one row) pair."""
    k = present.shape[1]
    rows, cols = np.nonzero(present)
    pair = rows.astype(np.int64) * max(one.n, 1) + match_row[rows, cols]
    uniq, inv = np.unique(pair, return_inverse=True)
    labels = [
        _result_metric(many.labels[int(p) // max(one.n, 1)], one.labels[int(p) % max(one.n, 1)], m, drop_name)
        for p in uniq.tolist()
    ]
    out_v = np.zeros((len(uniq), k), np.float64)
    out_p = np.zeros((len(uniq), k), np.bool_)
    out_v[inv, cols] = value[rows, cols]
    out_p[inv, cols] = True
    return labels, mid[uniq // max(one.n, 1)], out_v, out_p


@functools.lru_cache(maxsize=256)
def _metric_filter(m: VectorMatching, drop_name: bool) -> tuple[bool, frozenset[str]] | None:
    """(keep?, names) applied to the many side's labels, or None for no change."""
    name = {"__name__"} if drop_name else set()
    if m.card is Card.ONE_TO_ONE and m.on:
        return True, frozenset(m.labels) - name
    if m.card is Card.ONE_TO_ONE or drop_name:
        return False, frozenset((set(m.labels) if m.card is Card.ONE_TO_ONE else set()) | name)
    return None


def _result_metric(ls: Labels, rs: Labels | None, m: VectorMatching, drop_name: bool) -> Labels:
    f = _metric_filter(m, drop_name)
    if f is not None:
        ls = keep_labels(ls, f[1]) if f[0] else drop_labels(ls, f[1])
    if m.include and rs is not None:
        d = dict(ls)
        for name in m.include:
            v = rs.get(name)
            if v:
                d[name] = v
            else:
                d.pop(name, None)
        ls = Labels(d.items())
    return ls


def _raise_one_side_duplicate(one: StepVector, oid: I64, m: VectorMatching, side: str) -> None:
    """Prometheus' many-to-many error, naming the first pair found at the earliest step."""
    from sloguard.promql._eval_rows import overlap_counts

    _, counts = overlap_counts(oid, one.present)
    step = int(np.flatnonzero((counts > 1).any(axis=0))[0])
    seen: dict[int, int] = {}
    for r in np.flatnonzero(one.present[:, step]).tolist():
        g = int(oid[r])
        if g in seen:
            orig, dup = one.labels[r], one.labels[seen[g]]
            group = orig.keep(*m.labels) if m.on else orig.without(*m.labels, "__name__")
            raise PromQLError(
                f"found duplicate series for the match group {prom_labels_str(group)} on the {side} "
                f"hand-side of the operation: [{prom_labels_str(orig)}, {prom_labels_str(dup)}]"
                ";many-to-many matching not allowed: matching labels must be unique on one side",
                ErrorType.EXECUTION,
            )
        seen[g] = r
