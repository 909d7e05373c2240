"""Fixtures of the browser tests (conventions for every page's tests):

* ``ui_world`` (package): a real ``sloguard serve`` on 127.0.0.1 with demo-like data
  (``_world``: live self-scrape, six backfilled hours with an error spike, three SLOs, one
  without data, and a paused rollout); ``ui_world.url``, ``ui_world.api(path, **params)``.
* ``browser`` (package): Debian's chromium through Playwright; the tests skip with the
  reason when either is missing. Both live from the first test of tests/ui to its last
  (the files run together in one xdist worker), not to the end of the session: while
  Playwright's sync API runs, its event loop counts as running in the thread, and every
  later test's ``asyncio.run`` would fail.
* ``page``: a fresh 1280x900 page; console errors, page errors, failed requests and HTTP
  error answers are collected by ``browser_log`` and asserted empty at teardown
  (``browser_log.allow(404, r"/slos/nope")`` expects one).
* ``shot(page, name, full_page=True)`` (from ``tests.ui._browser``): docs/screenshots/<name>.png;
  ``color_pixels(page, selector, rgb)`` and ``series_rgb(page, i)`` check that a chart drew.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.ui._browser import LAUNCH_ARGS, Recorder, executable, missing
from tests.ui._world import World, start_world


@pytest.fixture(scope="package")
def ui_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = start_world(tmp_path_factory.mktemp("ui"))
    try:
        yield world
    finally:
        world.server.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable(), args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture()
def browser_log() -> Recorder:
    return Recorder()


@pytest.fixture()
def page(browser: Any, browser_log: Recorder) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Europe/Paris", locale="en-GB")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    browser_log.attach(pg)
    yield pg
    problems = list(browser_log.problems)  # before closing: requests cut short by the close are no fault
    context.close()
    assert problems == [], "\n".join(problems)
