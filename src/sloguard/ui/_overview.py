"""Overview (``/``): one row per SLO (per label set of its grouping) with its SLI, budget,
fastest burn rate and alert state, and the rollout in progress for its service; worst
first, sortable and filterable through the query string (``q``, ``sort``, ``dir``), which
the browser script also does in place. The first :data:`PAGE_ROWS` rows of the filtered and
sorted list are rendered (a thousand SLOs' page would be half a megabyte of HTML to paint);
``limit=all`` (the "show all" link) renders every row, and only then does the script sort
and filter in place, since it sees only the rows it was given."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sloguard.ui._api import api_get
from sloguard.ui._recorded import slos_with_budgets
from sloguard.ui._render import render

#: Alert states, worst first.
ALERT_RANK = {"firing": 0, "pending": 1, "ok": 2}
#: Sortable columns and the row attribute each sorts by.
SORT_KEYS = ("rank", "service", "slo", "objective", "sli", "budget", "burn", "alert")
#: Rows rendered at first (the worst, after the filter and sort); ``?limit=all`` shows every row.
PAGE_ROWS = 100


def page_limit(raw: str) -> int | None:
    """How many rows to render: ``PAGE_ROWS`` by default, a positive number, or None (``all``)."""
    if raw == "all":
        return None
    return int(raw) if raw.isdigit() and int(raw) > 0 else PAGE_ROWS


@dataclass(frozen=True, slots=True)
class Row:
    """One SLO's label set as the overview shows it; None where there is no data."""

    service: str
    slo: str
    labels: dict[str, str]
    objective: float
    period: str
    status: str
    sli: float | None
    budget: float | None
    burn: float | None
    burn_window: str
    alert: str
    alert_text: str
    rollout: Mapping[str, Any] | None = None
    rank: tuple[float, ...] = field(default=())


def _alert(alerts: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    states = sorted(alerts, key=lambda a: (ALERT_RANK.get(str(a.get("state")), 3), str(a.get("tier"))))
    if not states:
        return "ok", "ok"
    worst = str(states[0].get("state"))
    texts = dict.fromkeys(f"{a.get('tier')} {a.get('state')}" for a in states)  # one per tier and state
    return worst, ", ".join(texts)


def _fastest(b: Mapping[str, Any]) -> tuple[float | None, str]:
    rates = [(w["burnRate"], w["window"]) for w in b.get("burnRates", []) if w.get("burnRate") is not None]
    if not rates:
        return None, ""
    return max(rates, key=lambda r: float(r[0]))


def _finite(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and math.isfinite(x) else None


def _row(slo: Mapping[str, Any], b: Mapping[str, Any] | None, rollout: Mapping[str, Any] | None) -> Row:
    b = b or {}
    alert, text = _alert(list(b.get("alerts", slo.get("alerts", []))))
    burn, window = _fastest(b)
    remaining = _finite(b.get("errorBudget", {}).get("remainingRatio"))
    return Row(
        service=str(slo.get("service", "")), slo=str(slo["name"]), labels=dict(b.get("labels", {})),
        objective=float(slo.get("objective", 0)), period=str(slo.get("period", "")),
        status=str(b.get("status", "no data")), sli=_finite(b.get("sli")), budget=remaining,
        burn=_finite(burn), burn_window=window, alert=alert, alert_text=text, rollout=rollout,
        rank=(ALERT_RANK.get(alert, 3), math.inf if remaining is None else remaining, -(_finite(burn) or 0.0)),
    )


def rows_of(slos: Sequence[Mapping[str, Any]], rollouts: Sequence[Mapping[str, Any]]) -> list[Row]:
    """Every SLO's rows, worst first: firing, then pending, then the least budget left."""
    active = in_progress(rollouts)
    rows: list[Row] = []
    for slo in slos:
        roll = active.get(str(slo.get("service", "")))
        budgets = slo.get("budgets") or [None]
        rows.extend(_row(slo, b, roll) for b in budgets)
    return sorted(rows, key=lambda r: (r.rank, r.service, r.slo))


def in_progress(rollouts: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The latest unfinished rollout of each service."""
    out: dict[str, Mapping[str, Any]] = {}
    for r in sorted(rollouts, key=lambda r: str(r.get("updatedAt") or "")):
        if r.get("phase") not in ("Healthy", "Degraded"):
            out[str(r.get("service", ""))] = r
    return out


def _sort_value(row: Row, key: str) -> Any:
    return getattr(row, key if key != "alert" else "alert_text", None)


def arrange(rows: list[Row], q: str, sort: str, desc: bool) -> list[Row]:
    """Rows containing every word of ``q`` (service, SLO, labels, alerts), sorted by ``sort``
    (``rank``: worst first); rows without a value for ``sort`` come last."""
    words = q.lower().split()
    kept = [r for r in rows if all(w in _haystack(r) for w in words)]
    if sort == "rank":
        return kept
    known = [r for r in kept if _sort_value(r, sort) is not None]
    empty = [r for r in kept if _sort_value(r, sort) is None]  # rows without data stay last either way
    return sorted(known, key=lambda r: _sort_value(r, sort), reverse=desc) + empty


def _haystack(row: Row) -> str:
    labels = " ".join(f"{k}={v}" for k, v in row.labels.items())
    return f"{row.service} {row.slo} {labels} {row.alert_text} {row.status}".lower()


async def overview_page(request: Request) -> Response:
    slos = await slos_with_budgets(request)
    rollouts = await api_get(request, "/api/v1/rollouts")
    q = request.query_params.get("q", "")
    sort = request.query_params.get("sort", "rank")
    sort = sort if sort in SORT_KEYS else "rank"
    desc = request.query_params.get("dir", "asc") == "desc"
    rows = rows_of(slos.data or [], rollouts.data if rollouts.ok else [])
    matched = arrange(rows, q, sort, desc)
    limit = page_limit(request.query_params.get("limit", ""))
    shown = matched if limit is None else matched[:limit]
    return render(request, "overview.html", nav="/", title="Overview", rows=shown, matched=len(matched),
                  total=len(rows), error=None if slos.ok else slos.error, q=q, sort=sort, desc=desc,
                  slo_count=len(slos.data or []), limit=limit)
