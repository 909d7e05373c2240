"""The ``route`` tree and ``inhibit_rules`` as written, with Alertmanager's parse-time checks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sloguard.alerting import timeinterval
from sloguard.alerting._errors import AlertingConfigError
from sloguard.alerting._matchers import (
    MatcherParseError,
    new_matcher,
    parse_matchers,
    sort_matchers,
)
from sloguard.alerting._yaml import Node
from sloguard.labels import Matcher, MatchType, is_valid_label_name

_ROUTE_KEYS = (
    "receiver", "group_by", "match", "match_re", "matchers", "mute_time_intervals", "active_time_intervals",
    "continue", "routes", "group_wait", "group_interval", "repeat_interval",
)
_INHIBIT_KEYS = ("source_match", "source_match_re", "source_matchers", "target_match", "target_match_re",
                 "target_matchers", "equal")


@dataclass(frozen=True, slots=True)
class WrittenMatchers:
    """Matchers as the file wrote them, for ``config show``: the legacy ``match`` and
    ``match_re`` maps (regexes without their anchors) and the ``matchers`` lines parsed and
    sorted, each kept apart as Alertmanager keeps them."""

    match: tuple[tuple[str, str], ...] = ()
    match_re: tuple[tuple[str, str], ...] = ()
    matchers: tuple[Matcher, ...] = ()


@dataclass(frozen=True, slots=True)
class RouteConfig:
    """One node of the routing tree as written: unset settings are None (a child inherits them
    from its parent when the tree is built, see ``sloguard.alerting.route``). ``matchers`` holds
    ``match`` (as ``=``), ``match_re`` (as ``=~"^(?:re)$"``) and ``matchers``, sorted."""

    receiver: str | None = None
    group_by: tuple[str, ...] | None = None
    group_by_all: bool = False
    matchers: tuple[Matcher, ...] = ()
    continue_: bool = False
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()
    group_wait_ms: int | None = None
    group_interval_ms: int | None = None
    repeat_interval_ms: int | None = None
    routes: tuple[RouteConfig, ...] = ()
    path: str = "route"
    written: WrittenMatchers = WrittenMatchers()

    def walk(self) -> Iterable[RouteConfig]:
        """This node and every node below it, depth-first."""
        yield self
        for child in self.routes:
            yield from child.walk()


@dataclass(frozen=True, slots=True)
class InhibitRule:
    """A firing alert matching ``source_matchers`` mutes alerts matching ``target_matchers``
    when both have equal values for every label in ``equal``."""

    source_matchers: tuple[Matcher, ...]
    target_matchers: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()
    source_written: WrittenMatchers = WrittenMatchers()
    target_written: WrittenMatchers = WrittenMatchers()


def _matcher(node: Node, key: str, mtype: MatchType, name: str, value: str) -> Matcher:
    if not is_valid_label_name(name):
        raise node.fail(key, f'invalid label name "{name}"')
    try:
        new_matcher(mtype, name, value)  # Go's words for a bad regex, about the regex as written
    except MatcherParseError as e:
        raise node.fail(f"{key}.{name}", str(e)) from None
    return Matcher(mtype, name, f"^(?:{value})$" if mtype is MatchType.REGEX else value)


def read_matchers(node: Node, match: str, match_re: str, new: str) -> tuple[Matcher, ...]:
    """Legacy ``match``/``match_re`` maps and new-style ``matchers`` lines, sorted."""
    for name, value in node.child(match_re).data.items():
        if value is None:
            raise node.fail(f"{match_re}.{name}", f'invalid regexp value for "{name}"')
    out = [_matcher(node, match, MatchType.EQUAL, k, v) for k, v in node.str_map(match).items()]
    out += [_matcher(node, match_re, MatchType.REGEX, k, v) for k, v in node.str_map(match_re).items()]
    for i, line in enumerate(node.str_list(new) or ()):
        try:
            out += parse_matchers(line)
        except MatcherParseError as e:
            raise node.fail(f"{new}[{i}]", str(e)) from None
    return sort_matchers(out)


def written_matchers(node: Node, match: str, match_re: str, new: str) -> WrittenMatchers:
    """What :func:`read_matchers` read, kept per key (call it after ``read_matchers`` checked them)."""
    lines = [m for line in node.str_list(new) or () for m in parse_matchers(line)]
    return WrittenMatchers(tuple(node.str_map(match).items()), tuple(node.str_map(match_re).items()),
                           sort_matchers(lines))


def _group_by(node: Node) -> tuple[tuple[str, ...] | None, bool]:
    written = node.str_list("group_by")
    if written is None:
        return None, False
    names = [n for n in written if n != "..."]
    for name in names:
        if not is_valid_label_name(name):
            raise node.fail("group_by", f'invalid label name "{name}" in group_by list')
    if names and len(names) < len(written):
        raise node.fail("group_by", "cannot have wildcard group_by (`...`) and other other labels at the same time")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise node.fail("group_by", f'duplicated label "{name}" in group_by')
        seen.add(name)
    return (tuple(names) if names else None), len(names) < len(written)


def _nonzero(node: Node, key: str) -> int | None:
    ms = node.duration_ms(key)
    if ms == 0:
        raise node.fail(key, f"{key} cannot be zero")
    return ms


def parse_route(file: str, path: str, value: object) -> RouteConfig:
    node = Node.of(file, path, value, _ROUTE_KEYS)
    children = tuple(parse_route(file, p, v) for p, v in node.items("routes"))
    group_by, group_by_all = _group_by(node)
    return RouteConfig(
        receiver=node.opt_text("receiver") or None, group_by=group_by, group_by_all=group_by_all,
        matchers=read_matchers(node, "match", "match_re", "matchers"), continue_=node.flag("continue", False),
        mute_time_intervals=node.str_list("mute_time_intervals") or (),
        active_time_intervals=node.str_list("active_time_intervals") or (),
        group_wait_ms=node.duration_ms("group_wait"), group_interval_ms=_nonzero(node, "group_interval"),
        repeat_interval_ms=_nonzero(node, "repeat_interval"), routes=children, path=path,
        written=written_matchers(node, "match", "match_re", "matchers"),
    )


def parse_inhibit_rule(file: str, path: str, value: object) -> InhibitRule:
    node = Node.of(file, path, value, _INHIBIT_KEYS)
    equal = node.str_list("equal") or ()
    for name in equal:
        if not is_valid_label_name(name):
            raise node.fail("equal", f'"{name}" is not a valid label name')
    return InhibitRule(
        source_matchers=read_matchers(node, "source_match", "source_match_re", "source_matchers"),
        target_matchers=read_matchers(node, "target_match", "target_match_re", "target_matchers"),
        equal=equal,
        source_written=written_matchers(node, "source_match", "source_match_re", "source_matchers"),
        target_written=written_matchers(node, "target_match", "target_match_re", "target_matchers"),
    )


def parse_time_interval(file: str, path: str, value: object, legacy: bool) -> tuple[str, tuple[dict[str, object], ...]]:
    """A named interval list: its name and the raw interval specs (``times``, ``weekdays``,
    ``days_of_month``, ``months``, ``years``, ``location``), for ``alerting.timeinterval``."""
    node = Node.of(file, path, value, ("name", "time_intervals"))
    specs = []
    for p, spec in node.items("time_intervals"):
        specs.append(dict(Node.of(file, p, spec).data))
        try:
            timeinterval.parse_time_interval(spec, p)  # Alertmanager checks the specs as it reads them
        except timeinterval.TimeIntervalError as e:
            raise AlertingConfigError(file, e.path, e.reason) from None
    if not node.text("name"):
        what = "mute time interval" if legacy else "time interval"
        raise AlertingConfigError(file, path, f"missing name in {what}")
    return node.text("name"), tuple(specs)
