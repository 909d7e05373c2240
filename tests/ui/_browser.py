"""Browser helpers for the UI tests: Debian's chromium driven by Playwright, a recorder of
console errors and failed requests, and screenshots (into docs/screenshots/ with
SLOGUARD_SCREENSHOTS=docs)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
#: The committed screenshots are refreshed only when asked (``SLOGUARD_SCREENSHOTS=docs make test``),
#: so a test run leaves the working tree clean; otherwise they go to a temporary folder.
SCREENSHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots" if os.environ.get("SLOGUARD_SCREENSHOTS") == "docs"
               else Path(tempfile.gettempdir()) / f"sloguard-screenshots-{os.getpid()}")


def missing() -> str | None:
    """Why browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright for Python is not installed (pip install playwright)"
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        return "chromium is not installed (scripts/install-peers installs Debian's chromium)"
    return None


def executable() -> str:
    return CHROMIUM if Path(CHROMIUM).exists() else str(shutil.which("chromium"))


@dataclass
class Recorder:
    """Console errors, uncaught page errors, failed requests and HTTP errors of one page.
    ``allow(status, url_pattern)`` expects an error answer (a test asking for a 404 page).

    A request the browser aborts (``net::ERR_ABORTED``) because the page navigated away, as a
    test's next ``goto`` does to a favicon still loading, is no fault: an abort counts only
    when no navigation of the main frame followed the request."""

    found: list[str] = field(default_factory=list)
    allowed: list[tuple[int, re.Pattern[str]]] = field(default_factory=list)
    _aborted: list[str] = field(default_factory=list)  #: aborts no navigation has explained yet
    _navigations: int = 0
    _issued: dict[int, int] = field(default_factory=dict)  #: id(request) -> navigations before it

    @property
    def problems(self) -> list[str]:
        return [*self.found, *self._aborted]

    def allow(self, status: int, url_pattern: str) -> None:
        self.allowed.append((status, re.compile(url_pattern)))

    def attach(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.found.append(f"page error: {e}"))
        page.on("request", lambda r: self._issued.__setitem__(id(r), self._navigations))
        page.on("requestfailed", self._failed)
        page.on("framenavigated", lambda f: self._navigated(f, page))
        page.on("response", self._response)

    def _failed(self, r: Any) -> None:
        problem = f"request failed: {r.method} {r.url}: {r.failure}"
        if "ERR_ABORTED" not in str(r.failure):
            self.found.append(problem)
        elif self._issued.get(id(r), self._navigations) == self._navigations:
            self._aborted.append(problem)  # a navigation that commits later may still explain it

    def _navigated(self, frame: Any, page: Any) -> None:
        if frame == page.main_frame:
            self._navigations += 1
            self._aborted.clear()

    def _console(self, msg: Any) -> None:
        if msg.type == "error" and not self._allowed_console(msg.text, str(msg.location.get("url", ""))):
            self.found.append(f"console error: {msg.text} ({msg.location})")

    def _allowed_console(self, text: str, url: str) -> bool:
        # Chromium logs every 4xx/5xx answer as a console error; expected ones are allowed
        return any(f"status of {s}" in text and p.search(url) for s, p in self.allowed)

    def _response(self, resp: Any) -> None:
        if resp.status >= 400 and not any(s == resp.status and p.search(resp.url) for s, p in self.allowed):
            self.found.append(f"HTTP {resp.status}: {resp.request.method} {resp.url}")


def shot(page: Any, name: str, full_page: bool = True) -> Path:
    """A screenshot at docs/screenshots/<name>.png (the whole page, or the viewport)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


#: JS: how many pixels of a canvas inside ``el`` have the colour ``rgb`` (within a tolerance).
COUNT_COLOR_JS = """([sel, rgb]) => {
  const c = document.querySelector(sel + ' canvas');
  if (!c) return -1;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 200 && Math.abs(d[i] - rgb[0]) < 40 && Math.abs(d[i + 1] - rgb[1]) < 40 && Math.abs(d[i + 2] - rgb[2]) < 40) n++;
  }
  return n;
}"""


def color_pixels(page: Any, selector: str, rgb: tuple[int, int, int]) -> int:
    """Pixels of the colour ``rgb`` drawn on the chart canvas under ``selector`` (-1: no canvas)."""
    return int(page.evaluate(COUNT_COLOR_JS, [selector, list(rgb)]))


def series_rgb(page: Any, index: int) -> tuple[int, int, int]:
    """The stroke colour of series ``index`` (``SG.seriesColor``) as RGB."""
    hexcolor = str(page.evaluate("i => SG.seriesColor(i)", index)).lstrip("#")
    return int(hexcolor[0:2], 16), int(hexcolor[2:4], 16), int(hexcolor[4:6], 16)
