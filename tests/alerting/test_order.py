"""Alertmanager's orders as sort keys: ``LabelSet.Before`` (groups, then receiver) and
``AlertSlice.Less`` (alerts in a notification) give the order of a comparison written as
Go writes them, on random label sets made to share names, prefixes and values."""

from __future__ import annotations

import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from sloguard.alerting.model import Alert, labels_before, sort_alerts
from sloguard.alerting.service import GroupView, group_order
from sloguard.labels import Labels

NAMES = st.sampled_from(["a", "ab", "b", "job", "instance", "i", "é", "a_b", "Z"])
VALUES = st.sampled_from(["", "0", "1", "10", "x", "xy", "é", "Z"])
LABELS = st.dictionaries(NAMES, VALUES, max_size=4).map(Labels.from_dict)


def go_before(a: Labels, b: Labels) -> bool:
    """``model.LabelSet.Before``, step by step over the sorted union of names."""
    if len(a) != len(b):
        return len(a) < len(b)
    da, db = dict(a), dict(b)
    for name in sorted(da.keys() | db.keys()):
        if name not in da:
            return True
        if name not in db:
            return False
        if da[name] != db[name]:
            return da[name] < db[name]
    return False


def go_alert_less(a: Alert, b: Alert) -> bool:
    """``types.AlertSlice.Less``: job, then instance (having one first), then label sets."""
    for name in ("job", "instance"):
        has_a, has_b = a.labels.has(name), b.labels.has(name)
        if has_a != has_b:
            return has_a
        if has_a and a.labels.get(name) != b.labels.get(name):
            return a.labels.get(name) < b.labels.get(name)
    return go_before(a.labels, b.labels)


def _cmp(less: object) -> object:
    return functools.cmp_to_key(lambda x, y: -1 if less(x, y) else (1 if less(y, x) else 0))  # type: ignore[operator]


@settings(max_examples=300, deadline=None)
@given(LABELS, LABELS)
def test_labels_before_is_go_before(a: Labels, b: Labels) -> None:
    assert labels_before(a, b) == go_before(a, b)
    assert labels_before(b, a) == go_before(b, a)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(LABELS, st.sampled_from(["web", "db", "w"])), max_size=12))
def test_groups_sort_as_alertmanagers_dispatcher(groups: list[tuple[Labels, str]]) -> None:
    views = [GroupView(labels, receiver, "r", "k", ()) for labels, receiver in groups]

    def less(x: GroupView, y: GroupView) -> bool:
        return x.receiver < y.receiver if x.labels == y.labels else go_before(x.labels, y.labels)

    assert sorted(views, key=group_order) == sorted(views, key=_cmp(less))  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.lists(LABELS, max_size=12))
def test_alerts_sort_as_alertmanagers_alert_slice(label_sets: list[Labels]) -> None:
    alerts = [Alert(labels) for labels in label_sets]
    assert sort_alerts(alerts) == sorted(alerts, key=_cmp(go_alert_less))  # type: ignore[arg-type]
