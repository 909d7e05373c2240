#!/usr/bin/env python3
"""Web UI in headless Chromium (issue 12): time to first paint and to charts drawn, and the
bytes transferred, for the overview with 1,000 SLOs (its first page of the worst rows, and
every row with ``?limit=all``) and an SLO detail page over 30 days.

Data (built in a few seconds with ``import_openmetrics``, the code of ``sloguard import
openmetrics``): 50 services with ``http_requests_total{service,route,code}`` (two routes,
two codes) over one day at a 1-minute scrape interval, and a ``checkout`` service over 30
days at a 1-minute interval. 1,000 native SLOs: 20 per service (availability overall and
per route, at ten objectives, one-day or seven-day windows), plus ``checkout-availability``
over a rolling 30 days. The server evaluates the SLOs' generated rules once at start
(``evaluation_interval: 1h``); the loads start once its CPU is idle.

Each page is loaded three times, each in a fresh browser context (cold cache):
first-contentful-paint from a ``PerformanceObserver('paint')``; "charts drawn" is the
``performance.now()`` at which every ``[data-chart]`` element has its ``data-state`` set by
``SG.chart`` (``chart`` or ``nodata``); bytes are the sum of ``transferSize`` (and decoded
body sizes) of the navigation and every resource. Medians are reported. Not a test.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

import tests.e2e.conftest as e2e  # noqa: E402
from tests.e2e.conftest import SloguardProcess  # noqa: E402
from tests.ui._browser import LAUNCH_ARGS, executable, missing  # noqa: E402

from sloguard.ingest.backfill import import_openmetrics  # noqa: E402
from sloguard.ui._overview import PAGE_ROWS  # noqa: E402

SERVICES, ROUTES, CODES = 50, ("/a", "/b"), (("200", 0.998), ("500", 0.002))
OBJECTIVES = (90, 95, 98, 99, 99.5, 99.8, 99.9, 99.95, 99.99, 99.999)
DETAIL = "checkout-availability"
DETAIL_DAYS, OVERVIEW_DAYS, SCRAPE_S = 30, 1, 60
LOADS = int(os.environ.get("BENCH_UI_LOADS", 3))
TARGET_MS = 1000.0

CONFIG = "global: {evaluation_interval: 1h}\nslo_files: [slos.yml]\n"

#: Injected before any page script: records first-contentful-paint and the moment every chart
#: element has a data-state (a MutationObserver on the attribute, checked after each change).
PROBE_JS = """
window.__sg = {fcp: null, charts: null};
new PerformanceObserver(function (l) {
  l.getEntries().forEach(function (e) { if (e.name === 'first-contentful-paint') window.__sg.fcp = e.startTime; });
}).observe({type: 'paint', buffered: true});
function __sgCheck() {
  var els = document.querySelectorAll('[data-chart]');
  if (els.length && window.__sg.charts === null && Array.prototype.every.call(els, function (e) { return e.dataset.state; })) {
    window.__sg.charts = performance.now();
    window.__sg.states = Array.prototype.map.call(els, function (e) { return e.dataset.state; });
  }
}
new MutationObserver(__sgCheck).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-state']});
"""

BYTES_JS = """() => {
  const all = performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'));
  const nav = performance.getEntriesByType('navigation')[0];
  return {transfer: all.reduce((s, e) => s + e.transferSize, 0), body: all.reduce((s, e) => s + e.decodedBodySize, 0),
          requests: all.length, ttfb: nav.responseStart - nav.requestStart, html: nav.decodedBodySize,
          load: nav.loadEventEnd, dcl: nav.domContentLoadedEventEnd};
}"""


def log(msg: str) -> None:
    print(f"[bench_ui {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def series_text(service: str, start: int, end: int, rps: float) -> list[str]:
    lines = []
    for route in ROUTES:
        for code, share in CODES:
            lines += [f'http_requests_total{{service="{service}",route="{route}",code="{code}"}} '
                      f'{rps * share * (t - start):.0f} {t}' for t in range(start, end + 1, SCRAPE_S)]
    return lines


def openmetrics(end: int) -> str:
    lines = ["# TYPE http_requests counter"]
    for s in range(SERVICES):
        lines += series_text(f"svc-{s}", end - OVERVIEW_DAYS * 86400, end, 10.0 + s)
    lines += series_text("checkout", end - DETAIL_DAYS * 86400, end, 40.0)
    return "\n".join(lines) + "\n# EOF\n"


def slo_specs() -> str:
    out = ["apiVersion: sloguard/v1", "slos:"]
    for s in range(SERVICES):
        svc = f"svc-{s}"
        for grouping in ("", "    grouping: [route]\n"):
            for i, obj in enumerate(OBJECTIVES):
                name = f"{svc}-availability-{obj}{'-by-route' if grouping else ''}"
                out.append(f"  - name: {name}\n    service: {svc}\n    objective: {obj}%\n    period: {'1d' if i % 2 else '7d'}\n{grouping}"
                           f"    sli: {{ratio: {{bad: 'http_requests_total{{service=\"{svc}\",code=\"500\"}}', "
                           f"total: 'http_requests_total{{service=\"{svc}\"}}'}}}}")
    out.append(f"  - name: {DETAIL}\n    service: checkout\n    objective: 99.9%\n    period: 30d\n"
               "    sli: {ratio: {bad: 'http_requests_total{service=\"checkout\",code=\"500\"}', "
               "total: 'http_requests_total{service=\"checkout\"}'}}")
    return "\n".join(out) + "\n"


def build(root: Path) -> tuple[SloguardProcess, int]:
    end = int(time.time()) // 60 * 60
    t0 = time.perf_counter()
    om = root / "ui.om"
    om.write_text(openmetrics(end))
    import_openmetrics(om, root / "data")
    (root / "slos.yml").write_text(slo_specs())
    (root / "sloguard.yml").write_text(CONFIG)
    samples = (SERVICES * OVERVIEW_DAYS + DETAIL_DAYS) * 86400 // SCRAPE_S * len(ROUTES) * len(CODES)
    log(f"data built in {time.perf_counter() - t0:.1f} s ({samples:,} samples)")
    server = SloguardProcess(root / "data", root / "sloguard.yml", root / "sloguard.log")
    e2e.READY_TIMEOUT_S = 600.0  # loading 1,000 SLOs takes a while
    t0 = time.perf_counter()
    server.start()
    log(f"server ready in {time.perf_counter() - t0:.1f} s")
    return server, samples


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int, timeout_s: float = 300.0) -> None:
    """Until the server spends under 5% of a core over two seconds (its rules' first cycle is done)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        before = cpu_s(pid)
        time.sleep(2.0)
        if cpu_s(pid) - before < 0.1:
            return
    log("server never went idle; measuring anyway")


@dataclass
class Load:
    fcp_ms: float
    charts_ms: float | None
    ttfb_ms: float
    load_ms: float
    transfer: int
    body: int
    html: int
    requests: int
    states: list[str]


def load_once(browser: Any, url: str, charts: bool) -> Load:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.add_init_script(PROBE_JS)
    page = ctx.new_page()
    page.set_default_timeout(120_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url, wait_until="load")
    page.wait_for_function("window.__sg.fcp !== null")
    if charts:
        page.wait_for_function("window.__sg.charts !== null")
    probe = page.evaluate("() => window.__sg")
    b = page.evaluate(BYTES_JS)
    ctx.close()
    if errors:
        raise RuntimeError(f"console errors on {url}: {errors}")
    return Load(probe["fcp"], probe["charts"], b["ttfb"], b["load"], b["transfer"], b["body"], b["html"], b["requests"],
                probe.get("states") or [])


def med(xs: list[float]) -> float:
    return float(statistics.median(xs))


def measure(browser: Any, url: str, charts: bool) -> list[Load]:
    load_once(browser, url, charts)  # warm the server's caches (the page's imports, the TSDB's blocks)
    return [load_once(browser, url, charts) for _ in range(LOADS)]


def verdict(ms: float) -> str:
    return "met" if ms < TARGET_MS else "not met"


def row(name: str, loads: list[Load]) -> str:
    fcp = med([x.fcp_ms for x in loads])
    charts = [x.charts_ms for x in loads if x.charts_ms is not None]
    ch = f"{med(charts):,.0f}" if charts else "n/a (no charts)"
    last = med(charts) if charts else fcp
    return (f"| {name} | {med([x.ttfb_ms for x in loads]):,.0f} | {fcp:,.0f} | {ch} | {med([x.load_ms for x in loads]):,.0f} "
            f"| {med([x.transfer for x in loads]) / 1024:,.0f} | {med([x.body for x in loads]) / 1024:,.0f} "
            f"| {med([x.html for x in loads]) / 1024:,.0f} | {loads[0].requests} | {verdict(last)} |")


def report(samples: int, over: list[Load], every: list[Load], detail: list[Load], slos: int, history_points: int,
           load: tuple[float, float]) -> str:
    return "\n".join([
        "## Web UI in headless Chromium (bench_ui.py)", "",
        f"- machine: {os.cpu_count()} cores; load average (1m) before/after: {load[0]:.2f} / {load[1]:.2f} (shared with other jobs)",
        f"- data: {samples:,} samples imported; {slos:,} SLOs; `{DETAIL}`: 30 days at a {SCRAPE_S}s scrape interval, "
        f"history of {history_points} points; server `sloguard serve`, browser Debian's chromium (headless, Playwright)",
        f"- median of {len(over)} loads each, each in a fresh context (cold browser cache) after one warm-up load; times in ms "
        "from navigation start; KiB = transferred (with headers) / decoded bodies / the HTML alone",
        "", "| page | TTFB ms | first contentful paint ms | charts drawn ms | load event ms | KiB transferred | KiB decoded | HTML KiB | requests | < 1 s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        row(f"overview `/`, {slos:,} SLOs (the worst {PAGE_ROWS} rows)", over),
        row(f"overview `/?limit=all`, {slos:,} SLOs (every row)", every),
        row(f"SLO detail `/slos/{DETAIL}`, 30 days", detail), "",
        f"- chart states on the detail page: {', '.join(detail[0].states)}", "",
    ])


def main() -> int:
    reason = missing()
    if reason is not None:
        print(f"## Web UI in headless Chromium (bench_ui.py)\n\nskipped: {reason}\n")
        return 0
    from playwright.sync_api import sync_playwright

    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        server, samples = build(Path(tmp))
        try:
            assert server.proc is not None
            log("waiting for the rules' first cycle")
            wait_idle(server.proc.pid)
            slos = httpx.get(f"{server.url}/api/v1/slos", timeout=600).json()["data"]
            hist = httpx.get(f"{server.url}/api/v1/slos/{DETAIL}/history", timeout=600,
                             params={"start": str(time.time() - 30 * 86400), "end": str(time.time())}).json()["data"]
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=executable(), args=LAUNCH_ARGS)
                log("overview")
                over = measure(browser, f"{server.url}/", charts=False)
                log("overview, every row")
                every = measure(browser, f"{server.url}/?limit=all", charts=False)
                log("SLO detail")
                detail = measure(browser, f"{server.url}/slos/{DETAIL}?range=30d", charts=True)
                browser.close()
        finally:
            server.stop()
    print(report(samples, over, every, detail, len(slos), len(hist["timestamps"]), (load0, os.getloadavg()[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
