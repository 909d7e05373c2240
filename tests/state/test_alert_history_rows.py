"""The alert history's fast paths give what the plain spellings give: an alert event made
slot by slot equals the dataclass made by its constructor, and a row's labels JSON is
``json.dumps(labels, sort_keys=True)`` byte for byte."""

from __future__ import annotations

import json

from sloguard.state import HistoryEvent, HistoryKind
from sloguard.state.alert_history import _to_row, alert_history_event

LABELS = {"zeta": 'quote " and \\ backslash', "alertname": "Burn", "ünï": "cödé 😀", "ctl": "\x00\n\t\x7f", "e": ""}


def test_an_alert_event_made_slot_by_slot_equals_the_constructed_one() -> None:
    fast = alert_history_event(5, HistoryKind.ALERT_RESOLVED, "00000000000000aa", dict(LABELS), 1, 5)
    plain = HistoryEvent(5, HistoryKind.ALERT_RESOLVED, "00000000000000aa", dict(LABELS), starts_at=1, ends_at=5)
    assert fast == plain and hash(fast) == hash(plain) and repr(fast) == repr(plain)


def test_a_rows_labels_are_the_sorted_json_of_the_labels() -> None:
    for labels in (LABELS, {}, {"a": "1"}):
        row = _to_row(HistoryEvent(1, HistoryKind.ALERT_FIRED, "k", labels), 9)
        assert row[3] == json.dumps(labels, sort_keys=True)
        assert json.loads(row[3]) == labels
