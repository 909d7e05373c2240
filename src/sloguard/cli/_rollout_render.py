"""Rich renderings of the server's rollout views (``status``, ``list`` and one-line results).

Every value from the server is passed as ``Text`` (never markup), so a ``[`` in a message
or a query prints as it is."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

PHASE_STYLES = {"Healthy": "green", "Degraded": "red", "Paused": "yellow", "Progressing": "cyan", "Pending": "dim"}
STEP_MARKS = {"done": ("✓", "green"), "current": ("▶", "bold cyan"), "pending": (" ", "dim")}
FINISHED = ("Healthy", "Degraded")
LAST_EVENTS = 6


def phase_text(phase: str) -> Text:
    return Text(phase, style=PHASE_STYLES.get(phase, ""))


def _step(view: dict[str, Any]) -> str:
    step, steps = view.get("step"), view.get("steps")
    return f"{step}/{steps}" if step is not None else f"-/{steps}"


def one_line(view: dict[str, Any]) -> str:
    """``NAME: Paused at step 3/5, canary weight 20%. message``"""
    where = f" at step {_step(view)}" if view.get("step") is not None else ""
    line = f"{view['name']}: {view['phase']}{where}, canary weight {view.get('canaryWeight', 0)}%."
    return f"{line} {view['message']}" if view.get("message") else line


def list_table(rows: list[dict[str, Any]]) -> Table:
    t = Table(title=None, box=None, header_style="bold")
    for col in ("NAME", "SERVICE", "STRATEGY", "PHASE", "STEP", "WEIGHT", "STABLE", "CANARY", "UPDATED"):
        t.add_column(col)
    for r in rows:
        t.add_row(Text(r["name"]), Text(r.get("service", "")), Text(r.get("strategy", "")), phase_text(r["phase"]),
                  Text(_step(r)), Text(f"{r.get('canaryWeight', 0)}%"), Text(str(r.get("stable") or "")),
                  Text(str(r.get("canary") or "")), Text(str(r.get("updatedAt") or "")))
    return t


def status_view(view: dict[str, Any]) -> RenderableType:
    """The header, the steps (the current one marked), the analyses and the last events."""
    parts: list[RenderableType] = [_header(view), _steps(view)]
    if view.get("analyses"):
        parts.append(_analyses(view["analyses"]))
    if view.get("events"):
        parts.append(_events(view["events"][-LAST_EVENTS:]))
    return Group(*parts)


def _header(view: dict[str, Any]) -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    proxy = view.get("proxy") or {}
    rows: list[tuple[str, Text]] = [
        ("Rollout", Text(f"{view['name']} (service {view.get('service', '')}, {view.get('strategy', '')})")),
        ("Phase", phase_text(view["phase"]) + Text(f"  {view.get('message') or ''}")),
        ("Step", Text(_step(view))),
        ("Weights", Text(f"stable {view.get('stable', '')}: {100 - int(view.get('canaryWeight') or 0)}%   "
                         f"canary {view.get('canary', '')}: {view.get('canaryWeight', 0)}%")),
    ]
    if proxy.get("port"):
        rows.append(("Proxy", Text(f"127.0.0.1:{proxy['port']}")))
    routes = [f"header {r}" for r in view.get("headerRoutes") or []] + [f"mirror {r}" for r in view.get("mirrorRoutes") or []]
    if routes:
        rows.append(("Routes", Text(", ".join(routes))))
    for key, label in (("hold", "Held"), ("abortReason", "Aborted")):
        if view.get(key):
            rows.append((label, Text(str(view[key]))))
    for label, value in rows:
        t.add_row(label, value)
    return t


def _steps(view: dict[str, Any]) -> Table:
    t = Table(title="Steps", title_justify="left", box=None, header_style="bold")
    for col in ("", "#", "STEP", "STATE"):
        t.add_column(col)
    for s in view.get("stepsDetail") or []:
        mark, style = STEP_MARKS.get(s.get("state", ""), ("?", ""))
        t.add_row(Text(mark, style=style), Text(str(s.get("index", ""))), Text(str(s.get("text", "")), style=style),
                  Text(str(s.get("state", "")), style=style))
    return t


def _analyses(analyses: list[dict[str, Any]]) -> Table:
    t = Table(title="Analyses", title_justify="left", box=None, header_style="bold")
    for col in ("ANALYSIS", "PHASE", "METRIC", "METRIC PHASE", "LAST MEASUREMENT"):
        t.add_column(col)
    for a in analyses:
        metrics = a.get("metrics") or [{}]
        for i, m in enumerate(metrics):
            t.add_row(Text(a.get("key", "") if i == 0 else ""), phase_text(a.get("phase", "")) if i == 0 else Text(""),
                      Text(str(m.get("name", ""))), phase_text(str(m.get("phase", ""))), Text(_last(m)))
    return t


def _last(metric: dict[str, Any]) -> str:
    ms = metric.get("measurements") or []
    if not ms:
        return ""
    m = ms[-1]
    text = f"{m.get('phase', '')} value {m.get('value')!s}"
    v = m.get("verdict")
    if isinstance(v, dict):  # a judge's verdict: its outcome and p-value (explain has the rest)
        text += f": {v.get('judge', '')} {v.get('outcome', '')} p={v.get('p_value')}"
    return text


def _events(events: list[dict[str, Any]]) -> Table:
    t = Table(title="Last events", title_justify="left", box=None, header_style="bold")
    for col in ("TIME", "TYPE", "REASON", "ACTOR", "MESSAGE"):
        t.add_column(col)
    for e in events:
        t.add_row(*(Text(str(e.get(k, "") or "")) for k in ("time", "type", "reason", "actor", "message")))
    return t
