"""The UI's routes, mounted by ``sloguard.api.create_app``: the static files under
``/ui/static/`` and one route per page (see ``sloguard.ui``'s docstring for adding one)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from sloguard.ui import _silences as silences
from sloguard.ui._alerts import alerts_page
from sloguard.ui._graph import graph_page, graph_redirect
from sloguard.ui._overview import overview_page
from sloguard.ui._rollouts import rollout_page, rollouts_page
from sloguard.ui._slo_detail import slo_page
from sloguard.ui._status_pages import rules_page, status_page, targets_page

#: Where the package's static files are served.
STATIC_PREFIX = "/ui/static"


@dataclass(frozen=True, slots=True)
class NavItem:
    """One header link; ``path`` is also the ``nav`` value a page passes to mark itself."""

    label: str
    path: str


#: The header's entries, in order; an entry is shown once a route in PAGE_ROUTES serves its path.
NAV = (
    NavItem("Overview", "/"), NavItem("Alerts", "/alerts"), NavItem("Rollouts", "/rollouts"),
    NavItem("Explore", "/graph"), NavItem("Targets", "/targets"), NavItem("Rules", "/rules"),
    NavItem("Status", "/status"),
)

#: One route per page. Add yours here.
PAGE_ROUTES: list[Route] = [
    Route("/", overview_page, methods=["GET"]),
    Route("/slos/{name}", slo_page, methods=["GET"]),
    Route("/alerts", alerts_page, methods=["GET"]),
    Route("/silences", silences.silences_page, methods=["GET"]),
    Route("/silences/new", silences.new_silence_page, methods=["GET"]),
    Route("/silences/new", silences.save_silence, methods=["POST"]),
    Route("/silences/{silence_id}/edit", silences.edit_silence_page, methods=["GET"]),
    Route("/silences/{silence_id}/edit", silences.save_silence, methods=["POST"]),
    Route("/silences/{silence_id}/expire", silences.expire_silence, methods=["POST"]),
    Route("/rollouts", rollouts_page, methods=["GET"]),
    Route("/rollouts/{name}", rollout_page, methods=["GET"]),
    Route("/graph", graph_page, methods=["GET"]),
    *(Route(p, graph_redirect, methods=["GET"]) for p in ("/classic/graph", "/new/graph", "/query")),
    Route("/targets", targets_page, methods=["GET"]),
    Route("/rules", rules_page, methods=["GET"]),
    Route("/status", status_page, methods=["GET"]),
]

_SERVED = frozenset(r.path for r in PAGE_ROUTES)


def nav_items(request: Request | None = None) -> list[NavItem]:
    """The header's entries whose pages exist."""
    return [n for n in NAV if n.path in _SERVED]


def routes() -> list[BaseRoute]:
    """The static files and every page."""
    static = StaticFiles(packages=[("sloguard.ui", "static")])
    return [Mount(STATIC_PREFIX, app=static, name="ui-static"), *PAGE_ROUTES]
