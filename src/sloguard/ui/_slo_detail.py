"""SLO detail (``/slos/{name}``): SLI and budget burn-down over a time range (the SLO's
window by default), burn rate per alert window pair with its threshold, the alert tiers
with their state, and events drawn on the charts: the rollouts of the SLO's service, the
SLO's alerts fired and resolved and the silences of its alerts (the alert history), and
its pending alerts.

The range is in the query string (``range``: a duration; ``end``: RFC3339 or Unix
seconds, absent for "now, live"), so a link reopens the same view. The page reads
``/api/v1/slos/{name}``, ``/api/v1/slos/{name}/history``, ``/api/v1/rollouts[/…/events]``,
``/api/v1/alerts/history`` and ``/api/v1/alerts``;
the history is embedded for the first paint and re-read by the browser while live."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from sloguard.durations import format_duration_ms, parse_duration_ms
from sloguard.ui._api import api_get
from sloguard.ui._graph_state import parse_time
from sloguard.ui._render import render, render_error

#: Rollouts of the service whose events are read for one page.
MAX_ROLLOUTS = 20
#: Ranges the picker offers (any duration can be typed into the URL).
RANGES = ("1h", "6h", "1d", "7d", "28d", "30d")


class RangeError(ValueError):
    """A ``range``/``end`` query parameter that cannot be read; the message says why."""


@dataclass(frozen=True, slots=True)
class TimeRange:
    """``[start, end]`` in Unix seconds; ``live``: ``end`` is now and follows the clock."""

    start: float
    end: float
    range_text: str
    live: bool

    @property
    def end_iso(self) -> str:
        """``end`` as RFC3339 UTC, whole seconds (what a link pins)."""
        return dt.datetime.fromtimestamp(int(self.end), dt.UTC).isoformat().replace("+00:00", "Z")


def parse_end(text: str) -> float:
    """RFC3339 (``2026-12-03T20:00:00Z``) or Unix seconds (read as Explore reads times)."""
    try:
        return parse_time(text)
    except ValueError:
        raise RangeError(f"end={text!r} is neither RFC3339 (2026-12-03T20:00:00Z) nor Unix seconds") from None


#: A calendar period's default range: its longest length.
CALENDAR_RANGES = {"week": "7d", "month": "31d", "quarter": "92d"}


def default_range(period: str) -> str:
    """The SLO's window as a duration: ``rolling 28d`` -> ``28d``, ``calendar month (UTC)`` -> ``31d``."""
    kind, _, rest = period.partition(" ")
    if kind == "calendar":
        return CALENDAR_RANGES.get(rest.split(" ")[0], "31d")
    return rest or "1d"


def time_range(params: Mapping[str, str], period: str, now: float) -> TimeRange:
    """The page's range from ``range`` (default: the SLO's window) and ``end`` (default: now)."""
    text = params.get("range") or default_range(period)
    try:
        length_ms = parse_duration_ms(text)
    except ValueError as e:
        raise RangeError(f"range={text!r} is not a duration like 6h or 28d: {e}") from None
    if length_ms <= 0:
        raise RangeError(f"range={text!r} must be longer than zero")
    end = parse_end(params["end"]) if params.get("end") else now
    return TimeRange(end - length_ms / 1000, end, format_duration_ms(length_ms), not params.get("end"))


async def rollout_events(request: Request, service: str, start: float, end: float) -> list[dict[str, Any]]:
    """Events of the service's rollouts within ``[start, end]``: ``{time, label, type, rollout}``."""
    listed = await api_get(request, "/api/v1/rollouts")
    if not listed.ok:
        return []
    mine = [r for r in listed.data if r.get("service") == service][-MAX_ROLLOUTS:]
    out = []
    for r in mine:
        got = await api_get(request, f"/api/v1/rollouts/{quote(str(r['name']), safe='')}/events")
        for e in got.data if got.ok else []:
            t = parse_end(str(e["time"]))
            if start <= t <= end:
                out.append({"time": t, "type": e["type"], "kind": "rollout", "rollout": r["name"],
                            "label": f"{r['name']} {e['type'].removeprefix('Rollout')}", "message": e.get("message", "")})
    return sorted(out, key=lambda e: float(e["time"]))


async def alert_events(request: Request, slo: str, start: float, end: float) -> list[dict[str, Any]]:
    """The SLO's pending alerts (``/api/v1/alerts``: not sent to the pipeline yet, so not in
    its history) as events at their ``activeAt``."""
    got = await api_get(request, "/api/v1/alerts")
    out = []
    for a in (got.data or {}).get("alerts", []) if got.ok else []:
        labels = a.get("labels", {})
        if labels.get("slo") != slo or a.get("state") != "pending":
            continue
        t = parse_end(str(a["activeAt"]))
        if start <= t <= end:
            out.append({"time": t, "kind": "alert_pending", "label": f"{_alert_name(labels)} pending",
                        "message": labels.get("alertname", "")})
    return out


def _alert_name(labels: Mapping[str, str]) -> str:
    pair = f" {labels['sloguard_long']}/{labels['sloguard_short']}" if "sloguard_long" in labels else ""
    return f"{labels.get('sloguard_tier') or labels.get('alertname', 'alert')}{pair}"


def selectors(slo: str, service: str) -> list[str]:
    """The label sets an SLO's alerts carry: sloguard's rules (``slo``, ``service``) and Sloth's."""
    return [f'{{slo="{_esc(slo)}",service="{_esc(service)}"}}',
            f'{{sloth_slo="{_esc(slo)}",sloth_service="{_esc(service)}"}}']


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def history_event(e: Mapping[str, Any]) -> dict[str, Any]:
    """One ``/api/v1/alerts/history`` event as a chart marker: the alert it names, or the
    silence with its author (and who expired it)."""
    kind = str(e["kind"])
    out: dict[str, Any] = {"time": parse_end(str(e["time"])), "kind": kind}
    if kind.startswith("silence_"):
        what = ", ".join(f"{m['name']}{'=~' if m.get('isRegex') else '='}{m['value']}" for m in e.get("matchers", []))
        verb = kind.removeprefix("silence_")
        who = e.get("createdBy", "") if verb == "created" else e.get("actor", "")
        out["label"] = f"silence {verb} by {who or 'api'}"
        out["message"] = f"{{{what}}}" + (f": {e['comment']}" if e.get("comment") else "")
    else:
        labels = e.get("labels", {})
        out["label"] = f"{_alert_name(labels)} {kind.removeprefix('alert_')}"
        out["message"] = labels.get("alertname", "")
    return out


async def history_events(request: Request, slo: str, service: str, start: float, end: float) -> list[dict[str, Any]]:
    """The SLO's alerts fired and resolved and the silences of its alerts, from the alert history."""
    got = await api_get(request, "/api/v1/alerts/history",
                        {"start": f"{start:.3f}", "end": f"{end:.3f}", "match[]": selectors(slo, service)})
    return [history_event(e) for e in got.data or []] if got.ok else []


def tier_rows(history: Mapping[str, Any] | None, alerts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per alert window pair: tier, windows, threshold and the pair's alert state."""
    rows = []
    for tier in (history or {}).get("alertTiers", []):
        for w in tier["windows"]:
            mine = [a for a in alerts if a.get("tier") == tier["tier"]
                    and a.get("labels", {}).get("sloguard_long") in (None, w["long"])]
            state = "firing" if any(a.get("state") == "firing" for a in mine) else (
                "pending" if mine else "ok")
            rows.append({"tier": tier["tier"], "long": w["long"], "short": w["short"], "factor": w["factor"], "state": state})
    return rows


async def slo_page(request: Request) -> Response:
    name = request.path_params["name"]
    slo = await api_get(request, f"/api/v1/slos/{quote(name, safe='')}")
    if not slo.ok:
        return render_error(request, slo.status if slo.status in (404, 503) else 502, slo.error, title=f"SLO {name}")
    try:
        rng = time_range(request.query_params, str(slo.data["period"]), time.time())
    except RangeError as e:
        return render_error(request, 400, str(e), title=f"SLO {name}")
    history = await api_get(request, f"/api/v1/slos/{quote(name, safe='')}/history",
                            {"start": f"{rng.start:.3f}", "end": f"{rng.end:.3f}"})
    service = str(slo.data.get("service", ""))
    events = sorted(await rollout_events(request, service, rng.start, rng.end)
                    + await history_events(request, name, service, rng.start, rng.end)
                    + await alert_events(request, name, rng.start, rng.end), key=lambda e: float(e["time"]))
    return render(request, "slo.html", nav="/", title=f"SLO {name}", slo=slo.data, rng=rng, ranges=RANGES,
                  history=history.data if history.ok else None, history_error=history.error,
                  tiers=tier_rows(history.data if history.ok else None, slo.data.get("alerts", [])), events=events)
