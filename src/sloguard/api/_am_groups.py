"""The alert filter ``GET /api/v2/alerts`` and ``GET /api/v2/alerts/groups`` share, and the
groups' answer, as Alertmanager 0.25 builds them.

An alert is shown when it has not ended, its state passes ``active``/``silenced``/
``inhibited`` (``unprocessed`` is accepted and, as in Alertmanager 0.25, has no effect) and
every ``filter`` matcher holds, with Alertmanager's rule for empty values: ``a=""`` also
holds when ``a`` is absent, ``a!=""`` also when ``a`` is present.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from sloguard.alerting.marker import AlertMark, AlertState
from sloguard.alerting.model import Alert
from sloguard.alerting.service import AlertView, GroupView
from sloguard.api import _am_http
from sloguard.api._am_http import (
    bool_param,
    filter_matchers,
    go_array_text,
    go_text,
    receiver_regex,
)
from sloguard.labels import GoRegex, Labels, Matcher, MatchType

AlertJson = Callable[[Alert, AlertMark, list[str]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """The query's filters; calling it on an alert view says whether it is shown."""

    matchers: tuple[Matcher, ...]
    receiver: GoRegex | None
    active: bool
    silenced: bool
    inhibited: bool
    now_ms: int

    def current(self, alert: Alert) -> bool:
        """Not ended before now: Alertmanager neither shows nor judges an alert that has."""
        return alert.ends_at is None or alert.ends_at >= self.now_ms

    def __call__(self, view: AlertView) -> bool:
        a, mark = view.alert, view.mark
        if not self.current(a):
            return False
        if not self.active and mark.state is AlertState.ACTIVE:
            return False
        if not self.silenced and mark.silenced_by:
            return False
        if not self.inhibited and mark.inhibited_by:
            return False
        return matches_filter(self.matchers, a.labels)


def alert_filter_of(request: Request, now_ms: int) -> AlertFilter:
    """The filter of a request (400 for a bad matcher or receiver regex, in AM's order)."""
    matchers = tuple(filter_matchers(request))
    rx = receiver_regex(request)
    return AlertFilter(matchers, rx, bool_param(request, "active"), bool_param(request, "silenced"),
                       bool_param(request, "inhibited"), now_ms)


def matches_filter(matchers: Sequence[Matcher], labels: Labels) -> bool:
    """Alertmanager's ``matchFilterLabels``."""
    for m in matchers:
        present = labels.has(m.name)
        negative = m.type in (MatchType.NOT_EQUAL, MatchType.NOT_REGEX)
        if m.value == "" and present == negative:
            continue
        if not m.matches(labels.get(m.name)):
            return False
    return True


async def groups_text(groups: Sequence[GroupView], keep: AlertFilter, alert_json: AlertJson) -> str:
    """The groups (in the order given: the service's, Alertmanager's, with each group's alerts
    in notification order) whose receiver passes and that keep an alert; each alert lists the
    receivers of those groups. As JSON text (``go_text``'s), filtered and encoded a slice of
    groups (and of a large group's alerts) per step of the event loop."""
    shown, receivers = await _shown(groups, keep)
    parts = []
    async for part in _am_http.in_slices(shown):
        for g, views in part:
            marks = {v.alert.fingerprint: v.mark for v in views}
            alerts = await go_array_text([v.alert for v in views],
                                         functools.partial(_alert_in_group, alert_json, marks, receivers))
            parts.append(f'{{"alerts":{alerts},"labels":{go_text(g.labels.to_dict())},"receiver":{go_text({"name": g.receiver})}}}')
    return "[" + ",".join(parts) + "]"


def _alert_in_group(alert_json: AlertJson, marks: dict[int, AlertMark], receivers: dict[int, list[str]],
                    a: Alert) -> dict[str, Any]:
    return alert_json(a, marks[a.fingerprint], sorted(receivers[a.fingerprint]))


async def _shown(groups: Sequence[GroupView], keep: AlertFilter) -> tuple[list[tuple[GroupView, list[AlertView]]],
                                                                          dict[int, list[str]]]:
    shown: list[tuple[GroupView, list[AlertView]]] = []
    receivers: dict[int, list[str]] = {}
    async for part in _am_http.in_slices(groups):
        for g in part:
            if keep.receiver is not None and not keep.receiver.matches(g.receiver):
                continue
            views = [v for v in g.alerts if keep(v)]
            for v in views:
                receivers.setdefault(v.alert.fingerprint, []).append(g.receiver)
            if views:
                shown.append((g, views))
    return shown, receivers
