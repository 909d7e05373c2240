"""The Explore page's URL state: Prometheus' classic and new UIs' g<i>.* parameters read,
written back in the form both read, and the page's button actions (no browser needed)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from markupsafe import escape
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sloguard.ui._graph_state import (
    Panel,
    adjust_range,
    apply_actions,
    canonical_params,
    canonical_url,
    has_actions,
    parse_panels,
    parse_time,
)
from sloguard.ui.pages import routes

NOW = 1_796_328_000.0  # 2026-12-03 20:00:00 UTC


def q(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query, keep_blank_values=True)


def test_a_classic_prometheus_link_opens_the_graph_with_its_range_end_step_and_stacking() -> None:
    state = parse_panels(q("/graph?g0.expr=up&g0.tab=0&g0.range_input=6h&g0.end_input=2026-12-03 20:00"
                           "&g0.step_input=30&g0.stacked=1"))
    assert state.panels == (Panel("up", "graph", 6 * 3600, NOW, 30.0, "medium", True),)
    assert state.problems == ()


def test_the_new_uis_tab_names_resolution_and_display_mode_are_read() -> None:
    p = parse_panels(q("/query?g0.expr=up&g0.tab=graph&g0.res_type=auto&g0.res_density=high&g0.display_mode=stacked"
                       "&g0.moment_input=2026-12-03 20:00:00&g1.expr=rate(x[5m])&g1.tab=table&g1.res_type=fixed&g1.res_step=60"))
    assert [(x.tab, x.step, x.density, x.stacked, x.end) for x in p.panels] == [
        ("graph", None, "high", True, NOW), ("table", 60.0, "medium", False, None)]
    assert p.panels[0].step_for() == 4.0  # 3600 s / 750 points


def test_a_generator_url_opens_the_table_of_its_expression() -> None:
    (p,) = parse_panels(q("/graph?g0.expr=sum%28rate%28x%5B5m%5D%29%29+%3E+1&g0.tab=1")).panels
    assert (p.expr, p.tab, p.end) == ("sum(rate(x[5m])) > 1", "table", None)


def test_no_panel_means_one_empty_table_and_the_automatic_step_is_range_over_250() -> None:
    (p,) = parse_panels({}).panels
    assert (p.expr, p.tab, p.range_s, p.step_for()) == ("", "table", 3600, 14.0)


def test_bad_values_fall_back_with_a_sentence_naming_the_parameter() -> None:
    state = parse_panels(q("/graph?g0.expr=up&g0.range_input=yesterday&g0.end_input=soon&g0.step_input=-5"))
    (p,) = state.panels
    assert (p.range_s, p.end, p.step) == (3600, None, None)
    assert state.problems == (
        "g0.range_input='yesterday' is not a duration like 1h or 30m; showing 1h.",
        "g0.end_input: 'soon' is not a time like 2026-12-03 20:00:00 (UTC), RFC 3339 or Unix seconds; showing now.",
        "g0.step_input='-5' is not a step like 15 (seconds) or 1m; using an automatic step.",
    )


def test_times_in_every_accepted_form_are_the_same_instant() -> None:
    assert {parse_time(t) for t in ("2026-12-03 20:00", "2026-12-03 20:00:00", "2026-12-03T20:00:00Z",
                                    "2026-12-03T21:00:00+01:00", str(int(NOW)))} == {NOW}


def test_the_canonical_url_reopens_the_same_panels() -> None:
    panels = (Panel("up", "graph", 7200, NOW, 30.0, "medium", True), Panel('x{a="b c"}', "table"),
              Panel("y", "graph", 60, None, None, "low", False))
    url = canonical_url(panels)
    assert parse_panels(q(url)).panels == panels
    assert ("g0.tab", "0") in canonical_params(panels) and ("g0.end_input", "2026-12-03 20:00:00") in canonical_params(panels)


def test_range_buttons_step_through_prometheus_ranges() -> None:
    assert [adjust_range(3600, "+"), adjust_range(3600, "-"), adjust_range(5400, "+"), adjust_range(5400, "-")] == [
        7200, 1800, 7200, 3600]
    assert adjust_range(1, "-") == 1 and adjust_range(63072000, "+") == 63072000


def test_button_actions_change_the_state_and_are_not_kept() -> None:
    params = q("/graph?g0.expr=up&g0.tab=0&g0.range_adjust=%2B&g1.expr=x&g1.end_adjust=back&g2.expr=z&remove_panel=2&add_panel=1")
    assert has_actions(params)
    got = apply_actions(parse_panels(params), params, NOW)
    assert [(p.expr, p.range_s, p.end) for p in got.panels] == [("up", 7200, None), ("x", 3600, NOW - 1800), ("", 3600, None)]
    assert "adjust" not in canonical_url(got.panels)
    forward = apply_actions(got, {"g1.end_adjust": ["forward"]}, NOW)
    assert forward.panels[1].end is None  # forward to now is live again
    assert not has_actions(q("/graph?g0.expr=up&g0.tab=1"))
    assert has_actions(q("/graph?g0.expr=up&g0.tab=1&g0.tab=0"))  # a tab button after the hidden field


@pytest.fixture()
def client() -> TestClient:
    return TestClient(Starlette(routes=routes()))


def test_prometheus_3s_path_and_the_classic_and_new_paths_redirect_with_their_parameters(client: TestClient) -> None:
    for path in ("/query", "/classic/graph", "/new/graph"):
        r = client.get(path + "?g0.expr=up&g0.tab=1", follow_redirects=False)
        assert r.status_code == 302 and r.headers["location"] == "/graph?g0.expr=up&g0.tab=1", path


def test_a_form_sent_without_javascript_is_redirected_to_the_canonical_url(client: TestClient) -> None:
    r = client.get("/graph", params=[("g0.expr", "up"), ("g0.tab", "1"), ("g0.tab", "0"), ("g0.range_input", "1h"),
                                     ("g0.range_adjust", "-")], follow_redirects=False)
    assert r.status_code == 303
    assert q(r.headers["location"]) == {"g0.expr": ["up"], "g0.tab": ["0"], "g0.stacked": ["0"], "g0.range_input": ["30m"]}


def test_the_api_error_of_a_query_is_rendered_in_place_with_a_200_page() -> None:
    from sloguard.api import ServerContext, create_app
    from sloguard.promql.engine import PromQLEngine
    from sloguard.tsdb.testing import MemoryStorage

    storage = MemoryStorage()
    app = create_app(ServerContext(storage=storage, engine=PromQLEngine(storage)))
    with TestClient(app) as c:
        api = c.get("/api/v1/query", params={"query": "sum("})
        page = c.get("/graph", params={"g0.expr": "sum(", "g0.tab": "1"})
    assert api.status_code == 400 and page.status_code == 200
    error = api.json()["error"]
    assert "parse error" in error and page.text.count(str(escape(error))) == 1
    assert 'role="alert" data-error' in page.text
