"""Alerts (``/alerts``): the alert groups as the pipeline holds them, read from
``GET /api/v2/alerts/groups`` (receiver, group labels, each alert with its labels,
annotations and state), with what mutes a suppressed alert: the silences (from
``GET /api/v2/silences``, linked) and the inhibiting alerts (from ``GET /api/v2/alerts``).

The query string is the view, so a link reopens it: ``filter`` is matcher text as in
Alertmanager's UI (``{severity="page", team=~"db|web"}``), ``receiver`` a regex,
``silenced`` / ``inhibited`` whether suppressed alerts are shown (default: shown).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response

from sloguard.alerting import MatcherParseError, format_matchers, parse_matchers
from sloguard.labels import Matcher
from sloguard.ui._am_client import am_call
from sloguard.ui._render import render

#: The range of the SLO page an SLO alert links to, centred on the alert's start.
SLO_RANGE, SLO_RANGE_S = "6h", 6 * 3600


@dataclass(frozen=True, slots=True)
class AlertView:
    """The query string's view: the filter text as typed, its matchers, and the toggles."""

    text: str
    matchers: tuple[Matcher, ...]
    receiver: str
    silenced: bool
    inhibited: bool
    error: str = ""

    def api_params(self) -> dict[str, str | list[str]]:
        params: dict[str, str | list[str]] = {
            "filter": [format_matchers([m])[1:-1] for m in self.matchers],
            "silenced": str(self.silenced).lower(), "inhibited": str(self.inhibited).lower()}
        if self.receiver:
            params["receiver"] = self.receiver
        return params


@dataclass(frozen=True, slots=True)
class Muter:
    """What suppresses an alert: a silence (``kind`` "silence", linked to the silences
    page) or an inhibiting alert (``kind`` "inhibitor", linked to it when shown here)."""

    kind: str
    id: str
    text: str
    href: str = ""
    author: str = ""
    until: str = ""


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One alert of a group, as the page shows it."""

    fingerprint: str
    anchor: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str
    state: str
    muted_by: list[Muter]
    generator_url: str
    silence_href: str
    slo_href: str = ""


@dataclass(frozen=True, slots=True)
class Group:
    receiver: str
    labels: dict[str, str]
    alerts: list[AlertRow] = field(default_factory=list)

    @property
    def suppressed(self) -> int:
        return sum(a.state == "suppressed" for a in self.alerts)


def view_of(request: Request) -> AlertView:
    """The view a query string asks for (a filter that does not parse is kept with its error)."""
    q = request.query_params
    text = " ".join(t.strip() for t in q.getlist("filter") if t.strip())
    matchers: list[Matcher] = []
    error = ""
    try:
        for t in q.getlist("filter"):
            matchers.extend(parse_matchers(t) if t.strip() else [])
    except MatcherParseError as e:
        error = f"The filter {text!r} is not matcher text such as {{severity=\"page\"}}: {e}."
    if len([t for t in q.getlist("filter") if t.strip()]) > 1 and not error:
        text = format_matchers(matchers)  # one text the box can send back
    return AlertView(text, tuple(matchers), q.get("receiver", "").strip(),
                     _toggle(q.getlist("silenced")), _toggle(q.getlist("inhibited")), error)


def _toggle(values: list[str]) -> bool:
    """A checkbox after a hidden ``false``: the last value wins; absent means shown."""
    return not values or values[-1].lower() in ("true", "1", "on", "yes")


def silence_href(labels: Mapping[str, str]) -> str:
    """The new-silence form pre-filled with an alert's labels as matchers."""
    text = format_matchers([Matcher.equal(k, v) for k, v in sorted(labels.items())])
    return "/silences/new?" + urlencode({"filter": text})


def filter_href(view: AlertView) -> Any:
    """For the template: ``href(name, value)`` is this view with ``name="value"`` added to its filter."""

    def href(name: str, value: str) -> str:
        text = format_matchers([*view.matchers, Matcher.equal(name, value)])
        return "/alerts?" + urlencode({"filter": text, "receiver": view.receiver,
                                       "silenced": str(view.silenced).lower(), "inhibited": str(view.inhibited).lower()})

    return href


def label_text(labels: Mapping[str, str]) -> str:
    return format_matchers([Matcher.equal(k, v) for k, v in sorted(labels.items())])


def build_groups(groups: list[Mapping[str, Any]], every: list[Mapping[str, Any]],
                 silences: list[Mapping[str, Any]]) -> list[Group]:
    """The API's groups as rows; ``every`` alert (for inhibitors) and the silences (for
    their comments) name what mutes each suppressed alert."""
    seen: dict[str, int] = {}
    ids: list[list[str]] = []  # each alert's element id: stable while other alerts come and go
    for g in groups:
        ids.append([])
        for a in g.get("alerts", []):
            fp = str(a.get("fingerprint"))
            seen[fp] = seen.get(fp, 0) + 1
            ids[-1].append(f"alert-{fp}" if seen[fp] == 1 else f"alert-{fp}-{seen[fp]}")
    anchors = {fp: f"alert-{fp}" for fp in seen}
    by_fp = {str(a.get("fingerprint")): a for a in every}
    by_id = {str(s.get("id")): s for s in silences}
    out: list[Group] = []
    for g, row_ids in zip(groups, ids, strict=True):
        rows = [_row(a, i, anchors, by_fp, by_id) for a, i in zip(g.get("alerts", []), row_ids, strict=True)]
        out.append(Group(str(g.get("receiver", {}).get("name", "")), dict(g.get("labels", {})), rows))
    return out


def _row(a: Mapping[str, Any], anchor: str, anchors: dict[str, str], by_fp: Mapping[str, Mapping[str, Any]],
         by_id: Mapping[str, Mapping[str, Any]]) -> AlertRow:
    status = a.get("status", {})
    muted = [_silence_muter(str(sid), by_id.get(str(sid))) for sid in status.get("silencedBy", [])]
    muted += [_inhibitor(str(fp), by_fp.get(str(fp)), anchors) for fp in status.get("inhibitedBy", [])]
    labels = dict(a.get("labels", {}))
    return AlertRow(str(a.get("fingerprint")), anchor, labels, dict(a.get("annotations", {})),
                    str(a.get("startsAt", "")), str(status.get("state", "")), muted,
                    safe_url(str(a.get("generatorURL", ""))), silence_href(labels),
                    slo_href(labels, str(a.get("startsAt", "")), time.time()))


def slo_href(labels: Mapping[str, str], starts_at: str, now: float) -> str:
    """An SLO alert's SLO page around the alert's start: the six hours from 3 h before it
    (live while that reaches now); "" for an alert without an ``slo`` label."""
    if not labels.get("slo"):
        return ""
    base = f"/slos/{quote(labels['slo'], safe='')}?range={SLO_RANGE}"
    try:
        start = dt.datetime.fromisoformat(starts_at).timestamp()
    except ValueError:
        return base
    end = start + SLO_RANGE_S / 2
    if end >= now:
        return base
    stamp = dt.datetime.fromtimestamp(end, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return f"{base}&{urlencode({'end': stamp})}"


def safe_url(url: str) -> str:
    """A link the page may show: http(s) or a path on this server (never ``javascript:``)."""
    return url if url.startswith(("http://", "https://", "/")) and not url.startswith("//") else ""


def _silence_muter(sid: str, s: Mapping[str, Any] | None) -> Muter:
    s = s or {}
    return Muter("silence", sid, str(s.get("comment", "")), f"/silences#silence-{sid}",
                 str(s.get("createdBy", "")), str(s.get("endsAt", "")))


def _inhibitor(fp: str, a: Mapping[str, Any] | None, anchors: dict[str, str]) -> Muter:
    text = label_text(a.get("labels", {})) if a else f"alert {fp} (no longer held)"
    return Muter("inhibitor", fp, text, f"#{anchors[fp]}" if fp in anchors else "")


async def alerts_page(request: Request) -> Response:
    view = view_of(request)
    groups: list[Group] = []
    error = ""
    if not view.error:
        answer = await am_call(request, "GET", "/api/v2/alerts/groups", view.api_params())
        every = await am_call(request, "GET", "/api/v2/alerts")
        silences = await am_call(request, "GET", "/api/v2/silences")
        if answer.ok:
            groups = build_groups(answer.data or [], every.data if every.ok else [],
                                  silences.data if silences.ok else [])
        else:
            error = answer.error
    return render(request, "alerts.html", nav="/alerts", title="Alerts", view=view, groups=groups,
                  error=error, filter_href=filter_href(view), alert_count=sum(len(g.alerts) for g in groups))
