"""Web pages: server-rendered HTML (Jinja2) over the same JSON APIs as every client.

The UI is a client: a page asks the HTTP API for its data, either on the server through
the app's own handlers (``api_get``: an in-process request through the whole app, auth
and middleware included, with the caller's credentials) or in the browser
(``SG.getJSON`` in ``static/js/sloguard.js``). There is no private data path.

Adding a page (Alerts, Rollouts, Explore, ...):

1. Write ``ui/_<page>.py`` with ``async def <page>_page(request) -> Response`` that gets
   its data with ``await api_get(request, "/api/v1/...", params)`` (an ``ApiResult``:
   ``.ok``, ``.data``, ``.error``) and returns ``render(request, "<page>.html", nav="/path",
   title=..., **values)``. Bad query parameters: ``render_error(request, 400, sentence)``.
2. Write ``templates/<page>.html``: ``{% extends "base.html" %}`` and fill the blocks
   ``title``, ``main`` (required), and optionally ``head`` (extra CSS/JS) and ``scripts``
   (page scripts, loaded after ``sloguard.js`` and ``uPlot``).
3. Add ``Route("/path", <page>_page)`` to ``PAGE_ROUTES`` in ``ui/pages.py``. The header's
   nav (``pages.NAV``) shows an entry once a route serves its path; ``nav="/path"`` marks it
   as the current page (``aria-current``).
4. Test it in ``tests/ui/`` with the ``page`` fixture (no console error, no failed
   request) and take its screenshot with ``shot(page, "<page>")``.

Browser helpers (``window.SG`` in ``sloguard.js``): ``getJSON(url)``, ``live(el, fn)`` and
``data-live`` regions refreshed every few seconds, ``formatTimes(root)`` for
``<time datetime>`` elements, ``chart(el, spec)`` / ``fromMatrix(result)`` wrapping uPlot
with a "no data" state, ``tableTools(table)`` for sortable, filterable tables.
"""

from __future__ import annotations

from sloguard.ui._api import ApiResult, api_get
from sloguard.ui._render import render, render_error
from sloguard.ui.pages import routes

__all__ = ["ApiResult", "api_get", "render", "render_error", "routes"]
