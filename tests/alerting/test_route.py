"""The routing tree: inheritance of options, depth-first matching with `continue`, keys and ids."""

from __future__ import annotations

from sloguard.alerting import Route, build_route, parse_config

TREE = """
route:
  receiver: root
  group_by: ['...']
  group_wait: 10s
  routes:
  - matchers: [team=a]
    group_by: [alertname]
    repeat_interval: 1h
    routes:
    - matchers: [sev=page]
      receiver: a-pager
      continue: true
      mute_time_intervals: [night]
    - matchers: [sev=~"page|ticket"]
      receiver: a-ticket
  - matchers: [team=a]
    receiver: never
  - matchers: [team=b]
    receiver: b
time_intervals: [{name: night, time_intervals: [{times: [{start_time: '00:00', end_time: '06:00'}]}]}]
receivers: [{name: root}, {name: a-pager}, {name: a-ticket}, {name: never}, {name: b}]
"""


def _root() -> Route:
    return build_route(parse_config(TREE, "t.yml").route)


def test_children_inherit_unset_options() -> None:
    routes = _root().match({"team": "a", "sev": "ticket"})
    assert [r.opts.receiver for r in routes] == ["a-ticket"]
    opts = routes[0].opts
    assert opts.group_by == frozenset({"alertname"}) and not opts.group_by_all
    assert (opts.group_wait_ms, opts.group_interval_ms, opts.repeat_interval_ms) == (10_000, 300_000, 3_600_000)


def test_a_node_without_receiver_uses_its_parents() -> None:
    routes = _root().match({"team": "a", "sev": "none"})
    assert [r.opts.receiver for r in routes] == ["root"]
    assert routes[0].key == '{}/{team="a"}'


def test_continue_lets_later_siblings_match_and_the_first_match_stops_the_rest() -> None:
    routes = _root().match({"team": "a", "sev": "page"})
    assert [r.opts.receiver for r in routes] == ["a-pager", "a-ticket"]
    assert routes[0].opts.mute_time_intervals == ("night",)
    assert routes[1].opts.mute_time_intervals == ()  # not inherited, as in Alertmanager 0.25


def test_no_child_match_falls_back_to_the_root_with_wildcard_grouping() -> None:
    (route,) = _root().match({"team": "z", "x": "1"})
    assert route.opts.receiver == "root" and route.opts.group_by_all
    assert route.opts.group_labels({"team": "z", "x": "1"}) == {"team": "z", "x": "1"}


def test_ids_tell_apart_siblings_with_equal_matchers() -> None:
    root = _root()
    first, second = root.routes[0], root.routes[1]
    assert first.key == second.key == '{}/{team="a"}'
    assert (first.id, second.id) == ('{}/{team="a"}/0', '{}/{team="a"}/1')
    assert len({r.id for r in root.walk()}) == 6
