"""What the rollout pages show, shaped from the API's JSON (``/api/v1/rollouts[/{name}]``):
the commands a phase allows, the canary weight over time read from the events, each
metric's measurements as a chart series and each judge verdict as a table row. Pure
functions of the API's data."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Phases after which only ``retry`` (of a Degraded rollout) is allowed.
FINISHED = ("Healthy", "Degraded")
#: Every command of ``POST /api/v1/rollouts/{name}/{action}``, in button order
#: (``promote-full`` is ``promote`` with ``{"full": true}``).
COMMANDS = ("promote", "promote-full", "pause", "resume", "abort", "retry")

_WEIGHT = re.compile(r"takes (\d{1,3})% of the traffic")


def allowed(view: Mapping[str, Any]) -> dict[str, bool]:
    """Which commands the rollout's phase allows (the API refuses the others with 409):
    promote, pause and abort while it runs; resume while a person's hold is on it (an
    inconclusive analysis, a router failure, a pause by a person); retry once aborted.
    None when its stored spec cannot be rebuilt (``strategy`` null): the API refuses all."""
    phase, hold = str(view.get("phase", "")), bool(view.get("hold"))
    running = phase not in FINISHED and view.get("strategy") is not None
    return {"promote": running, "promote-full": running, "pause": running and not hold,
            "resume": running and hold, "abort": running,
            "retry": phase == "Degraded" and view.get("strategy") is not None}


def seconds(stamp: str | None) -> float | None:
    """RFC 3339 (``2026-12-03T21:39:55.549Z``) as Unix seconds; None when absent or unreadable."""
    if not stamp:
        return None
    try:
        t = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).timestamp()


def weight_of(event: Mapping[str, Any]) -> int | None:
    """The canary weight an event set: a completed weight step's, 0 on abort, 100 on promotion."""
    kind = event.get("type")
    if kind == "RolloutAborted":
        return 0
    if kind == "RolloutPromoted":
        return 100
    if kind == "RolloutStepCompleted":
        m = _WEIGHT.search(str(event.get("message", "")))
        return int(m.group(1)) if m else None
    return None


def weight_series(view: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The intended canary weight over time as a step line: 0 from the first event, each
    change at its event's time, then the current weight until ``now`` (or the last update
    of a finished rollout). ``{timestamps, values}`` in Unix seconds and percent."""
    times: list[float] = []
    values: list[float] = []
    weight = 0.0
    for e in view.get("events") or []:
        t, w = seconds(e.get("time")), weight_of(e)
        if t is None:
            continue
        if not times:
            times.append(t)
            values.append(weight)
        if w is not None and w != weight:
            times += [t, t + 0.001]
            values += [weight, float(w)]
            weight = float(w)
    if times:
        end = seconds(view.get("updatedAt")) if view.get("phase") in FINISHED else now
        times.append(max(end or now, times[-1] + 0.001))
        values.append(float(view.get("canaryWeight", weight)))
    return {"timestamps": times, "values": values}


def traffic_query(view: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The ``/api/v1/query_range`` parameters of the requests per second each version got,
    from the built-in proxy's ``http_requests_total{service, version, code}``: from a minute
    before the rollout started until now (or a minute after a finished one's last update),
    at about 200 points, each rate over at least 30 s (the proxy writes every 5 s)."""
    end = now
    if view.get("phase") in FINISHED:
        end = min(now, (seconds(view.get("updatedAt")) or now) + 60)
    start = min((seconds(view.get("createdAt")) or end - 600) - 60, end - 300)
    step = max(2, math.ceil((end - start) / 200))
    service = str(view.get("service", "")).replace("\\", "\\\\").replace('"', '\\"')
    window = max(30, 4 * step)
    query = f'sum by (version) (rate(http_requests_total{{service="{service}"}}[{window}s]))'
    return {"query": query, "start": round(start, 3), "end": round(end, 3), "step": step}


def number(value: Any) -> float | None:
    """A measurement's value (``0.97``, ``[0.97]``, a JSON number, ``"NaN"``) as a finite
    float; None for anything else (several values, text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    text = str(value or "").strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1].strip()
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


@dataclass(frozen=True, slots=True)
class MetricChart:
    """One metric's measurements over time for a chart: ``label`` names what ``values``
    hold (the judge's p-value, its likelihood ratio, or the measured value), ``threshold``
    the line it is judged against (alpha, 1/alpha), if any."""

    id: str
    analysis: str
    metric: str
    label: str
    timestamps: list[float]
    values: list[float | None]
    threshold: float | None = None


def _plotted(measurements: Sequence[Mapping[str, Any]]) -> tuple[str, list[float | None], float | None]:
    verdicts = [m.get("verdict") for m in measurements]
    if any(v and number(v.get("p_value")) is not None for v in verdicts):
        alpha = next((number(v.get("alpha")) for v in verdicts if v), None)
        return "p-value", [number(v.get("p_value")) if v else None for v in verdicts], alpha
    if any(v and number(v.get("likelihood_ratio")) is not None for v in verdicts):
        alpha = next((number(v.get("alpha")) for v in verdicts if v), None)
        bound = 1 / alpha if alpha else None
        return "likelihood ratio", [number(v.get("likelihood_ratio")) if v else None for v in verdicts], bound
    return "value", [number(m.get("value")) for m in measurements], None


def metric_charts(view: Mapping[str, Any]) -> list[MetricChart]:
    """A chart for each metric with at least one numeric measurement."""
    out: list[MetricChart] = []
    for a in view.get("analyses") or []:
        for m in a.get("metrics") or []:
            ms = list(m.get("measurements") or [])
            label, values, threshold = _plotted(ms)
            stamps = [seconds(x.get("finishedAt") or x.get("startedAt")) for x in ms]
            kept = [(t, v) for t, v in zip(stamps, values, strict=True) if t is not None]
            if not any(v is not None for _, v in kept):
                continue
            out.append(MetricChart(f"m{len(out)}", str(a.get("key", "")), str(m.get("name", "")), label,
                                   [t for t, _ in kept], [v for _, v in kept], threshold))
    return out


@dataclass(frozen=True, slots=True)
class VerdictRow:
    """One judge verdict as the page's table shows it (figures already formatted)."""

    time: str | None
    analysis: str
    metric: str
    judge: str
    outcome: str
    statistic: str
    p_value: str
    likelihood_ratio: str
    effect: str
    interval: str
    samples: str
    reason: str


def figure(value: Any, digits: int = 4) -> str:
    """A verdict's number: ``4`` significant digits, ``∞`` for ``+Inf``, ``-`` when absent."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        return {"+Inf": "∞", "-Inf": "-∞", "Inf": "∞"}.get(value, value)
    x = float(value)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return "NaN" if math.isnan(x) else f"{x:.{digits}g}"


def _interval(iv: Mapping[str, Any] | None) -> str:
    if not iv:
        return "-"
    level = number(iv.get("level"))
    at = f" at {level:.0%}" if level is not None else ""
    return f"[{figure(iv.get('low'))}, {figure(iv.get('high'))}]{at}"


def verdict_row(analysis: str, metric: str, m: Mapping[str, Any]) -> VerdictRow:
    v = m["verdict"]
    name = str(v.get("statistic_name") or "")
    effect = f"{v.get('effect_name') or 'effect'} = {figure(v.get('effect'))}"
    return VerdictRow(
        time=m.get("finishedAt") or m.get("startedAt"), analysis=analysis, metric=metric,
        judge=str(v.get("judge", "")), outcome=str(v.get("outcome", "")),
        statistic=f"{name} = {figure(v.get('statistic'))}" if name else figure(v.get("statistic")),
        p_value=figure(v.get("p_value"), 3), likelihood_ratio=figure(v.get("likelihood_ratio"), 3),
        effect=effect, interval=_interval(v.get("interval")),
        samples=f"{figure(v.get('baseline_n'), 6)} / {figure(v.get('canary_n'), 6)}", reason=str(v.get("reason", "")),
    )  # fmt: skip


def verdict_rows(view: Mapping[str, Any], limit: int) -> tuple[list[VerdictRow], int]:
    """The newest ``limit`` verdicts of every analysis, newest first, and how many there are."""
    rows = [
        verdict_row(str(a.get("key", "")), str(mt.get("name", "")), m)
        for a in view.get("analyses") or [] for mt in a.get("metrics") or []
        for m in mt.get("measurements") or [] if m.get("verdict")
    ]  # fmt: skip
    rows.sort(key=lambda r: r.time or "", reverse=True)
    return rows[:limit], len(rows)


def list_order(rollouts: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Running rollouts first, then the most recently updated."""
    newest = sorted(rollouts, key=lambda r: str(r.get("updatedAt") or ""), reverse=True)
    return sorted(newest, key=lambda r: r.get("phase") in FINISHED)
