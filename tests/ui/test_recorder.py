"""The browser recorder without a browser: a request aborted because the test navigated
away is no fault; any other failure, and an abort no navigation explains, is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.ui._browser import Recorder


class FakePage:
    """The events of a Playwright page, fired by hand."""

    def __init__(self) -> None:
        self.main_frame = object()
        self.handlers: dict[str, Callable[[Any], None]] = {}

    def on(self, event: str, handler: Callable[[Any], None]) -> None:
        self.handlers[event] = handler

    def fire(self, event: str, arg: Any) -> None:
        self.handlers[event](arg)


class FakeRequest:
    def __init__(self, url: str, failure: str = "net::ERR_ABORTED") -> None:
        self.method, self.url, self.failure = "GET", url, failure


def _recorded(*steps: tuple[str, Any]) -> list[str]:
    page, log = FakePage(), Recorder()
    log.attach(page)
    for event, arg in steps:
        page.fire(event, page.main_frame if arg == "main" else arg)
    return log.problems


def test_an_abort_explained_by_a_navigation_before_or_after_it_is_no_fault() -> None:
    icon = FakeRequest("/ui/static/favicon.svg")
    assert _recorded(("request", icon), ("requestfailed", icon), ("framenavigated", "main")) == []
    assert _recorded(("request", icon), ("framenavigated", "main"), ("requestfailed", icon)) == []


def test_other_failures_and_unexplained_aborts_are_faults() -> None:
    icon, api = FakeRequest("/ui/static/favicon.svg"), FakeRequest("/api/v1/x", "net::ERR_CONNECTION_REFUSED")
    assert _recorded(("request", icon), ("requestfailed", icon)) == [
        "request failed: GET /ui/static/favicon.svg: net::ERR_ABORTED"]
    assert _recorded(("request", api), ("framenavigated", "main"), ("requestfailed", api)) == [
        "request failed: GET /api/v1/x: net::ERR_CONNECTION_REFUSED"]
    other_frame = object()  # an iframe navigating explains nothing of the page's own requests
    assert len(_recorded(("request", icon), ("requestfailed", icon), ("framenavigated", other_frame))) == 1
