"""The Explore page's state in Prometheus' own URL parameters (``/graph?g0.expr=...``).

Read as both of Prometheus' UIs read them: ``g<i>.expr`` (one panel per index, from 0 until
one is missing), ``g<i>.tab`` (``0``/``graph`` or ``1``/``table``; a missing or unknown tab
is the table, as in Prometheus), ``g<i>.range_input`` (a duration, default ``1h``),
``g<i>.end_input`` / ``g<i>.moment_input`` (``YYYY-MM-DD HH:mm[:ss]`` in UTC; RFC 3339 and
Unix seconds are read too; absent: now, live), ``g<i>.step_input`` (seconds) or
``g<i>.res_type``/``res_density``/``res_step`` (the new UI's resolution), and
``g<i>.stacked=1`` or ``g<i>.display_mode=stacked``.

Written back (``canonical``) in the form both UIs read: numeric tabs, ``range_input``,
``end_input`` and ``moment_input`` when the end is fixed, ``step_input`` for a fixed step,
``stacked``. The page's buttons send small actions (``g<i>.range_adjust=+``, ``add_panel``
...) that ``apply_actions`` folds into the state; the page then redirects to the canonical
URL, so a reload or a shared link reopens the same view.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from sloguard.durations import DurationError, format_duration_ms, parse_duration_ms

#: The range's default (Prometheus: one hour).
DEFAULT_RANGE_S = 3600
#: The - and + buttons step through these ranges (seconds), like Prometheus' range input.
RANGE_STEPS = (1, 10, 60, 300, 900, 1800, 3600, 7200, 21600, 43200, 86400, 172800, 604800,
               1209600, 2419200, 4838400, 9676800, 15724800, 31536000, 63072000)
#: Ranges offered in the picker.
RANGE_PRESETS = ("5m", "15m", "30m", "1h", "3h", "6h", "12h", "1d", "2d", "7d", "14d", "30d")
#: Points across the range for an automatic step, per density (Prometheus' new UI).
DENSITY = {"low": 100, "medium": 250, "high": 750}
#: Panels one URL may open.
MAX_PANELS = 20
#: Names of the action parameters (not part of the canonical state).
ACTIONS = ("range_adjust", "end_adjust")


@dataclass(frozen=True, slots=True)
class Panel:
    """One query panel; ``end`` None means now (live); ``step`` None means automatic."""

    expr: str = ""
    tab: str = "table"
    range_s: int = DEFAULT_RANGE_S
    end: float | None = None
    step: float | None = None
    density: str = "medium"
    stacked: bool = False

    def step_for(self) -> float:
        """The resolution used for the range query (seconds, at least 1)."""
        if self.step:
            return self.step
        return float(max(math.floor(self.range_s / DENSITY.get(self.density, 250)), 1))

    def window(self, now: float) -> tuple[float, float]:
        """``(start, end)`` of the graph in Unix seconds."""
        end = self.end if self.end is not None else now
        return end - self.range_s, end


@dataclass(frozen=True, slots=True)
class PanelsState:
    """Every panel of the page, and sentences about parameters that could not be read."""

    panels: tuple[Panel, ...]
    problems: tuple[str, ...] = field(default=())


def parse_time(text: str) -> float:
    """``2026-12-03 20:00[:00]`` (UTC, Prometheus' UIs), RFC 3339, or Unix seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a time like 2026-12-03 20:00:00 (UTC), RFC 3339 or Unix seconds") from None
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).timestamp()


def format_time(seconds: float) -> str:
    """Unix seconds -> ``YYYY-MM-DD HH:mm:ss`` in UTC (what Prometheus' UIs write)."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def format_range(seconds: float) -> str:
    return format_duration_ms(int(round(seconds * 1000)))


def _last(params: Mapping[str, Sequence[str]], key: str) -> str | None:
    values = params.get(key)
    return values[-1] if values else None


def _duration_s(text: str) -> float:
    ms = parse_duration_ms(text.strip())
    if ms <= 0:
        raise DurationError(f'{text!r} must be longer than zero')
    return ms / 1000


def _seconds(text: str) -> float | None:
    """A step in seconds (``0``: automatic); anything else is a ValueError."""
    v = float(text)
    if not math.isfinite(v) or v < 0:
        raise ValueError(text)
    return v or None


def _read_panel(params: Mapping[str, Sequence[str]], i: int, problems: list[str]) -> Panel:
    def get(name: str) -> str | None:
        return _last(params, f"g{i}.{name}")

    p = Panel(expr=get("expr") or "")
    tab = get("tab")
    if tab is not None:
        p = replace(p, tab="graph" if tab in ("0", "graph") else "table")
    if (text := get("range_input")):
        try:
            p = replace(p, range_s=max(int(_duration_s(text)), 1))
        except DurationError:
            problems.append(f"g{i}.range_input={text!r} is not a duration like 1h or 30m; showing {format_range(p.range_s)}.")
    for name in ("end_input", "moment_input"):
        if (text := get(name)):
            try:
                p = replace(p, end=parse_time(text))
            except ValueError as e:
                problems.append(f"g{i}.{name}: {e}; showing now.")
    p = _read_resolution(p, get, i, problems)
    stacked = get("stacked")
    mode = get("display_mode")
    return replace(p, stacked=stacked == "1" or (stacked is None and mode == "stacked"))


def _read_resolution(p: Panel, get: Callable[[str], str | None], i: int, problems: list[str]) -> Panel:
    text, res_type = get("step_input"), get("res_type")
    if text:
        try:
            p = replace(p, step=_seconds(text) if text.strip().isdigit() else _duration_s(text))
        except ValueError:
            problems.append(f"g{i}.step_input={text!r} is not a step like 15 (seconds) or 1m; using an automatic step.")
    if res_type == "auto" and get("res_density") in DENSITY:
        p = replace(p, step=None, density=str(get("res_density")))
    elif res_type in ("fixed", "custom") and get("res_step"):
        try:
            p = replace(p, step=_seconds(str(get("res_step"))))
        except ValueError:
            problems.append(f"g{i}.res_step={get('res_step')!r} is not a number of seconds; using an automatic step.")
    return p


def parse_panels(params: Mapping[str, Sequence[str]]) -> PanelsState:
    """The panels named by ``params`` (a multi-dict: name -> values); one empty panel if none."""
    problems: list[str] = []
    panels = []
    for i in range(MAX_PANELS):
        if f"g{i}.expr" not in params:
            break
        panels.append(_read_panel(params, i, problems))
    if f"g{MAX_PANELS}.expr" in params:
        problems.append(f"Only the first {MAX_PANELS} panels are shown.")
    return PanelsState(tuple(panels) or (Panel(),), tuple(problems))


def adjust_range(range_s: int, direction: str) -> int:
    """The next range up (``+``) or down (``-``) in ``RANGE_STEPS``."""
    if direction == "+":
        return next((s for s in RANGE_STEPS if s > range_s), range_s)
    return next((s for s in reversed(RANGE_STEPS) if s < range_s), range_s)


def adjust_end(p: Panel, action: str, now: float) -> float | None:
    """``back``/``forward`` move the end by half the range (forward past now is live); ``now`` clears it."""
    if action == "now":
        return None
    end = p.end if p.end is not None else now
    end += p.range_s / 2 if action == "forward" else -p.range_s / 2
    return None if end >= now else end


def apply_actions(state: PanelsState, params: Mapping[str, Sequence[str]], now: float) -> PanelsState:
    """The state after the buttons' actions in ``params`` (range -/+, end moves, add/remove panel)."""
    panels = list(state.panels)
    for i, p in enumerate(panels):
        if (d := _last(params, f"g{i}.range_adjust")) in ("+", "-"):
            p = replace(p, range_s=adjust_range(p.range_s, str(d)))
        if (a := _last(params, f"g{i}.end_adjust")) in ("back", "forward", "now"):
            p = replace(p, end=adjust_end(p, str(a), now))
        panels[i] = p
    remove = _last(params, "remove_panel")
    if remove is not None and remove.isdigit() and int(remove) < len(panels):
        del panels[int(remove)]
    if _last(params, "add_panel") and len(panels) < MAX_PANELS:
        panels.append(Panel())
    return replace(state, panels=tuple(panels) or (Panel(),))


def has_actions(params: Mapping[str, Sequence[str]]) -> bool:
    return any(k in ("add_panel", "remove_panel") or k.rpartition(".")[2] in ACTIONS for k in params) or any(
        len(v) > 1 for k, v in params.items() if k.startswith("g"))


def canonical_params(panels: Sequence[Panel]) -> list[tuple[str, str]]:
    """The panels as URL parameters both Prometheus UIs read."""
    out: list[tuple[str, str]] = []
    for i, p in enumerate(panels):
        g = f"g{i}."
        out += [(g + "expr", p.expr), (g + "tab", "0" if p.tab == "graph" else "1"),
                (g + "stacked", "1" if p.stacked else "0"), (g + "range_input", format_range(p.range_s))]
        if p.end is not None:
            out += [(g + "end_input", format_time(p.end)), (g + "moment_input", format_time(p.end))]
        if p.step:
            out.append((g + "step_input", f"{p.step:g}"))
        elif p.density != "medium":
            out += [(g + "res_type", "auto"), (g + "res_density", p.density)]
    return out


def canonical_url(panels: Sequence[Panel], path: str = "/graph") -> str:
    return f"{path}?{urlencode(canonical_params(panels))}"
