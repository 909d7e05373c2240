"""Webhook deliveries -> a comparable notification sequence, and the comparison.

What is legitimately instance-specific, and so replaced:
- ``externalURL``: each server's own address (host name and port differ per instance);
- timestamps the server takes from its own clock (``startsAt`` of an alert posted without
  one, ``endsAt`` = receipt + resolve_timeout): they differ by milliseconds between runs.
  Timestamps the scenario posted are kept, as seconds after the scenario's anchor, and
  the Go zero time (a firing alert's ``endsAt``) stays as ``zero``: which of the three a
  field holds is behaviour;
- arrival order *within* one flush moment: groups flushed by the same timer tick race
  each other to the capture server, so deliveries are grouped into "moments" (arrivals
  less than MOMENT_GAP_S apart) and sorted inside each.
Everything else is compared as is: receiver, status, groupLabels, commonLabels,
commonAnnotations, groupKey (derived from the route and group labels: receivers dedupe
on it, so it must match), truncatedAlerts, version, and per alert its status, labels,
annotations, generatorURL and fingerprint, in the order the server sent them. Moment
times are compared within TIME_TOLERANCE_S.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tests.alerting._capture import Captured

MOMENT_GAP_S = 0.5
TIME_TOLERANCE_S = 0.75
ZERO_TIME = "0001-01-01T00:00:00Z"
_TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")

LabelSet = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Notification:
    path: str
    receiver: str
    status: str
    group_labels: LabelSet
    firing: tuple[LabelSet, ...]
    resolved: tuple[LabelSet, ...]
    body: str  # the normalised webhook JSON, keys sorted

    def line(self) -> str:
        def sets(s: tuple[LabelSet, ...]) -> str:
            return "[" + ", ".join("{" + ",".join(f"{k}={v}" for k, v in ls) + "}" for ls in s) + "]"

        group = ",".join(f"{k}={v}" for k, v in self.group_labels)
        return f"{self.receiver} {self.status} group{{{group}}} firing={sets(self.firing)} resolved={sets(self.resolved)}"


@dataclass(frozen=True, slots=True)
class Moment:
    at: float  # seconds after the scenario's start (first arrival in the moment)
    notifications: tuple[Notification, ...]


@dataclass(frozen=True, slots=True)
class Clock:
    """How to read the scenario's timestamps back: the anchor and the offsets it posted."""

    anchor_ms: int
    posted_offsets_ms: frozenset[int]


def sequence(captured: Iterable[Captured], start: float, clock: Clock) -> tuple[Moment, ...]:
    arrivals = sorted(captured, key=lambda c: c.at)
    moments: list[list[Captured]] = []
    for c in arrivals:
        if moments and c.at - moments[-1][-1].at < MOMENT_GAP_S:
            moments[-1].append(c)
        else:
            moments.append([c])
    return tuple(
        Moment(round(m[0].at - start, 2), tuple(sorted((notification(c, clock) for c in m), key=_order)))
        for m in moments
    )


def _order(n: Notification) -> tuple[str, str]:
    return n.path, n.body


def notification(c: Captured, clock: Clock) -> Notification:
    raw = json.loads(c.body)
    body = normalise_body(raw, clock)
    alerts = raw.get("alerts", [])
    return Notification(
        c.path, str(raw.get("receiver")), str(raw.get("status")), _labels(raw.get("groupLabels")),
        tuple(sorted(_labels(a["labels"]) for a in alerts if a.get("status") == "firing")),
        tuple(sorted(_labels(a["labels"]) for a in alerts if a.get("status") == "resolved")),
        json.dumps(body, sort_keys=True),
    )


def normalise_body(raw: dict[str, Any], clock: Clock) -> dict[str, Any]:
    body = dict(raw, externalURL="<externalURL>")
    body["alerts"] = [
        dict(a, startsAt=timestamp(a.get("startsAt", ""), clock), endsAt=timestamp(a.get("endsAt", ""), clock))
        for a in raw.get("alerts", [])
    ]
    return body


def timestamp(text: str, clock: Clock) -> str:
    """``zero``, ``+Ns`` (a time the scenario posted) or ``<server time>``."""
    if text == ZERO_TIME:
        return "zero"
    m = _TS.match(text)
    if m is None:
        return f"<unparseable {text!r}>"
    base = dt.datetime.fromisoformat(m[1] + ("+00:00" if m[3] == "Z" else m[3]))
    frac = (m[2] or "").ljust(9, "0")
    total_ns = int(base.timestamp()) * 1_000_000_000 + int(frac)
    offset_ms, sub_ms = divmod(total_ns - clock.anchor_ms * 1_000_000, 1_000_000)
    if sub_ms == 0 and offset_ms in clock.posted_offsets_ms:
        return f"+{offset_ms / 1000:g}s"
    return "<server time>"


def _labels(d: dict[str, str] | None) -> LabelSet:
    return tuple(sorted((d or {}).items()))


def differences(expected: Sequence[Moment], got: Sequence[Moment], tolerance_s: float = TIME_TOLERANCE_S) -> list[str]:
    """Human-readable differences between two sequences (empty: the same)."""
    out: list[str] = []
    for i, (e, g) in enumerate(zip(expected, got, strict=False)):
        if abs(e.at - g.at) > tolerance_s:
            out.append(f"moment {i}: at {g.at:.2f} s, expected {e.at:.2f} s (+-{tolerance_s} s)")
        if e.notifications != g.notifications:
            out.append(f"moment {i} (at {e.at:.2f} s): got\n{render_moment(g)}\nexpected\n{render_moment(e)}")
            out.extend(_body_diffs(e, g))
    if len(expected) != len(got):
        extra = got[len(expected):] or expected[len(got):]
        which = "unexpected" if len(got) > len(expected) else "missing"
        out.append(f"{len(got)} moments, expected {len(expected)}; {which}:\n" + "\n".join(render_moment(m) for m in extra))
    return out


def _body_diffs(e: Moment, g: Moment) -> list[str]:
    return [f"  body got      {gn.body}\n  body expected {en.body}"
            for en, gn in zip(e.notifications, g.notifications, strict=False) if en.body != gn.body]


def render_moment(m: Moment) -> str:
    return "\n".join(f"  t={m.at:5.2f}s {n.line()}" for n in m.notifications)


def render(moments: Sequence[Moment]) -> str:
    return "\n".join(render_moment(m) for m in moments) or "  (no notifications)"
