"""Browser helpers for the UI tests: Debian's chromium driven by Playwright, a recorder of
console errors and failed requests, and screenshots into docs/screenshots/."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


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
    ``allow(status, url_pattern)`` expects an error answer (a test asking for a 404 page)."""

    problems: list[str] = field(default_factory=list)
    allowed: list[tuple[int, re.Pattern[str]]] = field(default_factory=list)

    def allow(self, status: int, url_pattern: str) -> None:
        self.allowed.append((status, re.compile(url_pattern)))

    def attach(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.method} {r.url}: {r.failure}"))
        page.on("response", self._response)

    def _console(self, msg: Any) -> None:
        if msg.type == "error" and not self._allowed_console(msg.text, str(msg.location.get("url", ""))):
            self.problems.append(f"console error: {msg.text} ({msg.location})")

    def _allowed_console(self, text: str, url: str) -> bool:
        # Chromium logs every 4xx/5xx answer as a console error; expected ones are allowed
        return any(f"status of {s}" in text and p.search(url) for s, p in self.allowed)

    def _response(self, resp: Any) -> None:
        if resp.status >= 400 and not any(s == resp.status and p.search(resp.url) for s, p in self.allowed):
            self.problems.append(f"HTTP {resp.status}: {resp.request.method} {resp.url}")


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
