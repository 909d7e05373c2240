"""Rollouts (``/rollouts``): every rollout with its phase, step, weight and last message;
and one rollout (``/rollouts/{name}``): its steps with the current one marked, the canary
weight over time, its analysis runs with their measurements and every judge verdict (the
facts of ``sloguard rollout explain``), its events, and the commands its phase allows.

The pages read ``/api/v1/rollouts``, ``/api/v1/rollouts/{name}`` and ``…/explain``; the
buttons POST to ``/api/v1/rollouts/{name}/{action}`` from the browser (``rollout.js``),
as the CLI does, with the actor: the user the server authenticated, else the name the
person typed (kept in the browser's localStorage)."""

from __future__ import annotations

import time
from dataclasses import asdict
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from sloguard.ui._api import api_get
from sloguard.ui._render import render, render_error
from sloguard.ui._rollout_view import (
    COMMANDS,
    allowed,
    list_order,
    metric_charts,
    traffic_query,
    verdict_rows,
    weight_series,
)

#: Verdicts the table shows (newest first); the explain text below it has every one.
MAX_VERDICTS = 100


async def rollouts_page(request: Request) -> Response:
    listed = await api_get(request, "/api/v1/rollouts")
    rows = list_order(listed.data or []) if listed.ok else []
    return render(request, "rollouts.html", nav="/rollouts", title="Rollouts", rollouts=rows,
                  error=None if listed.ok else listed.error)


def _user(request: Request) -> str | None:
    """The basic-auth user the server checked, who the API records as the actor."""
    from sloguard.api._rollout_body import authenticated_user  # the API's own rule for who acts

    ctx = getattr(request.app.state, "ctx", None)
    return authenticated_user(request, ctx) if ctx is not None else None


async def rollout_page(request: Request) -> Response:
    name = request.path_params["name"]
    path = f"/api/v1/rollouts/{quote(name, safe='')}"
    got = await api_get(request, path)
    if not got.ok:
        return render_error(request, got.status if got.status in (404, 503) else 502, got.error, title=f"Rollout {name}")
    view = got.data
    explained = await api_get(request, f"{path}/explain")
    verdicts, verdict_count = verdict_rows(view, MAX_VERDICTS)
    charts = metric_charts(view)
    now = time.time()
    data = {"name": view["name"], "phase": view.get("phase"), "allowed": allowed(view),
            "weights": weight_series(view, now), "traffic": traffic_query(view, now),
            "charts": [asdict(c) for c in charts]}
    return render(
        request, "rollout.html", nav="/rollouts", title=f"Rollout {name}", r=view, api_path=path,
        allowed=allowed(view), commands=COMMANDS, verdicts=verdicts, verdict_count=verdict_count, charts=charts,
        explain=explained.data.get("text", "") if explained.ok else "", explain_error=explained.error,
        events=list(reversed(view.get("events") or [])), user=_user(request), data=data,
    )  # fmt: skip
