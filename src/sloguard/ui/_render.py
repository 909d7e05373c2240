"""The Jinja2 environment (autoescape on, templates from the package) and filters shared
by every page: times as ``<time datetime>`` in UTC, percentages, durations."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from sloguard import __version__


def iso_time(value: float | str | None) -> Markup:
    """A ``<time>`` element: ``datetime`` and text in UTC (the browser script rewrites the
    text into the viewer's zone and keeps UTC in ``title``). Seconds or RFC3339 in."""
    if value is None or value == "":
        return Markup("-")
    if isinstance(value, str):
        stamp = value
        shown = value.replace("T", " ").replace("Z", " UTC")
    else:
        t = dt.datetime.fromtimestamp(float(value), dt.UTC)
        stamp = t.isoformat(timespec="seconds").replace("+00:00", "Z")
        shown = t.strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup('<time datetime="{0}" title="{1}">{1}</time>').format(stamp, shown)


def pct(value: float | None, digits: int = 2) -> str:
    """``0.99912`` -> ``99.91%``; None/NaN -> ``no data``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no data"
    return f"{value * 100:.{digits}f}%"


def num(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}f}"


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("sloguard.ui", "templates"),
        autoescape=select_autoescape(["html", "xml"], default=True),
        trim_blocks=True, lstrip_blocks=True, enable_async=False,
    )
    env.filters.update(time=iso_time, pct=pct, num=num)
    env.globals.update(version=__version__)
    return env


ENV = _env()


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """``template`` with ``values`` plus ``request``, ``nav_items`` (the header's entries)
    and ``nav`` (the current entry's path, given by the page)."""
    from sloguard.ui.pages import nav_items

    page = ENV.get_template(template).render(request=request, nav_items=nav_items(request), **values)
    return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})


def render_error(request: Request, status: int, message: str, title: str = "Error") -> HTMLResponse:
    """A page that says what went wrong in one sentence (never a stack trace)."""
    return render(request, "error.html", status=status, title=title, message=message)
