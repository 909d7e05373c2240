"""Web pages: server-rendered HTML (Jinja2) over the same JSON APIs as every client.

The UI is a client: a page asks the HTTP API for its data, either on the server through
the app's own handlers (``api_get``: an in-process request through the whole app, auth
and middleware included, with the caller's credentials) or in the browser
(``SG.getJSON``). There is no private data path. ``create_app`` mounts ``routes()``:
the pages and the package's static files under ``/ui/static/``.

Adding a page (Alerts, Rollouts, Explore, ...):

1. Write ``ui/_<page>.py`` with ``async def <page>_page(request) -> Response`` that gets
   its data with ``await api_get(request, "/api/v1/...", params)`` (an ``ApiResult``:
   ``.ok``, ``.data``, ``.error``, ``.status``) and returns ``render(request, "<page>.html",
   nav="/path", title=..., **values)``. Bad input: ``render_error(request, 400, sentence)``
   (a page with the sentence in ``role=alert``, never a stack trace).
2. Write ``templates/<page>.html``: ``{% extends "base.html" %}`` with the blocks ``main``
   (required), ``title`` (default: the ``title`` value), ``head`` (extra CSS) and
   ``scripts`` (page scripts, after uPlot, ``sloguard.js``, ``chart.js``, ``tables.js``).
   Filters: ``time`` (``<time datetime>`` in UTC, shown in the viewer's zone by the
   script), ``pct``, ``num``. CSS classes: ``table-wrap`` (a table that scrolls sideways on
   a phone), ``num`` (right-aligned figures), ``pill ok|pending|firing``, ``label``,
   ``facts`` (a ``dl`` of key figures), ``charts`` > ``figure.chart`` > ``div.plot``,
   ``notice`` / ``notice error``, ``empty`` / ``empty-row``, ``muted``, ``visually-hidden``.
3. Add ``Route("/path", <page>_page)`` to ``PAGE_ROUTES`` in ``ui/pages.py``. The header's
   nav (``pages.NAV``: Overview, Alerts, Rollouts, Explore ``/graph``, Targets, Rules,
   Status) shows an entry once a route serves its path; ``nav="/path"`` marks it current.
4. Test it in ``tests/ui/`` with the ``page`` fixture (no console error, no failed
   request) against the session's ``ui_world``, and ``shot(page, "<page>")``.

Browser helpers (``window.SG``): ``getJSON(url)`` (the envelope's data, or throws the API's
sentence); ``live(fn, seconds)`` and ``refreshRegions()`` (re-fetch the page and swap every
``[data-live][id]`` element whose HTML changed, then fire ``sg:refreshed`` on it: call
``SG.live(SG.refreshRegions)`` for live pages; data for scripts goes in a
``<script type="application/json">`` inside a ``data-live`` element); ``formatTimes(root)``;
``chart(el, spec)`` (uPlot with threshold lines, event markers, ``onSelect``, and a
"no data" state; ``el.dataset.state`` and ``el.dataset.series`` tell tests what was drawn);
``fromMatrix(result)`` (a ``query_range`` matrix into a chart spec); ``tableTools(table,
form)`` (sort by ``th[data-key]`` links over cells' ``data-value``, filter with the form's
search box, the URL's ``q``/``sort``/``dir`` kept in sync, working without the script).
"""

from __future__ import annotations

from sloguard.ui._api import ApiResult, api_get
from sloguard.ui._render import render, render_error
from sloguard.ui.pages import routes

__all__ = ["ApiResult", "api_get", "render", "render_error", "routes"]
