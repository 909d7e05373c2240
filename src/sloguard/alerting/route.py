"""The routing tree: Alertmanager's ``dispatch.Route``, built from a ``RouteConfig``.

Each node carries its resolved ``RouteOpts`` (a child inherits receiver, group_by and the
timings its config leaves unset; mute and active time intervals are not inherited, as in
Alertmanager 0.25). ``Route.match(labels)`` walks depth-first: a node that matches tries its
children in order, stops after the first child that matched unless that child has
``continue: true``, and is itself the result when none of its children matched.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from sloguard.alerting._matchers import format_matchers, matches_all
from sloguard.alerting._routecfg import RouteConfig
from sloguard.durations import format_duration_ms
from sloguard.labels import Labels, Matcher

DEFAULT_GROUP_WAIT_MS = 30_000
DEFAULT_GROUP_INTERVAL_MS = 5 * 60_000
DEFAULT_REPEAT_INTERVAL_MS = 4 * 3_600_000


@dataclass(frozen=True, slots=True)
class RouteOpts:
    """What a matched route decides for an alert's aggregation group. ``group_by_all`` means
    ``group_by: ['...']`` (group by every label); then ``group_by`` is empty."""

    receiver: str = ""
    group_by: frozenset[str] = frozenset()
    group_by_all: bool = False
    group_wait_ms: int = DEFAULT_GROUP_WAIT_MS
    group_interval_ms: int = DEFAULT_GROUP_INTERVAL_MS
    repeat_interval_ms: int = DEFAULT_REPEAT_INTERVAL_MS
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        """The labels that name an alert's group on this route (all of them for ``...``)."""
        if self.group_by_all:
            return dict(labels)
        return {k: v for k, v in labels.items() if k in self.group_by}

    def group_label_set(self, labels: Labels) -> Labels:
        """:meth:`group_labels` of a label set, as one (its pairs kept in order: no sort)."""
        if self.group_by_all:
            return labels
        group_by = self.group_by
        return Labels._sorted_unchecked(tuple([p for p in labels if p[0] in group_by]))

    def describe(self) -> str:
        group = "..." if self.group_by_all else ",".join(sorted(self.group_by))
        return (f"receiver={self.receiver} group_by=[{group}] group_wait={format_duration_ms(self.group_wait_ms)} "
                f"group_interval={format_duration_ms(self.group_interval_ms)} "
                f"repeat_interval={format_duration_ms(self.repeat_interval_ms)}")


@dataclass(frozen=True, slots=True, eq=False)
class Route:
    """A node of the routing tree. ``key`` is Alertmanager's route key (the matchers of every
    node from the root, ``{}/{owner="team-A"}/{env="production"}``), which with the group
    labels names an aggregation group; ``id`` adds each node's index among its siblings,
    so it is unique in the tree."""

    matchers: tuple[Matcher, ...]
    opts: RouteOpts
    continue_: bool
    key: str
    id: str
    routes: tuple[Route, ...] = field(default=())

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """The routes an alert with ``labels`` goes to, in tree order (empty if none)."""
        if not matches_all(self.matchers, labels):
            return []
        found: list[Route] = []
        for child in self.routes:
            matched = child.match(labels)
            found += matched
            if matched and not child.continue_:
                break
        return found or [self]

    def walk(self) -> Iterator[Route]:
        """This node and every node below it, depth-first."""
        yield self
        for child in self.routes:
            yield from child.walk()

    def matchers_text(self) -> str:
        return format_matchers(self.matchers)


def build_route(cfg: RouteConfig) -> Route:
    """The tree for a validated config's ``route`` (its root has no matchers)."""
    return _build(cfg, RouteOpts(), None, "", 0)


def _inherit(cfg: RouteConfig, base: RouteOpts) -> RouteOpts:
    group_by, group_by_all = base.group_by, base.group_by_all
    if cfg.group_by is not None:
        group_by, group_by_all = frozenset(cfg.group_by), False
    elif cfg.group_by_all:
        group_by_all = True
    return RouteOpts(
        receiver=cfg.receiver or base.receiver,
        group_by=group_by,
        group_by_all=group_by_all,
        group_wait_ms=base.group_wait_ms if cfg.group_wait_ms is None else cfg.group_wait_ms,
        group_interval_ms=base.group_interval_ms if cfg.group_interval_ms is None else cfg.group_interval_ms,
        repeat_interval_ms=base.repeat_interval_ms if cfg.repeat_interval_ms is None else cfg.repeat_interval_ms,
        mute_time_intervals=cfg.mute_time_intervals,
        active_time_intervals=cfg.active_time_intervals,
    )


def _build(cfg: RouteConfig, base: RouteOpts, parent_key: str | None, parent_id: str, index: int) -> Route:
    """A node and its subtree. Its ``id`` is Alertmanager's: the parent's id, its matchers
    and its index among the parent's children (``{}/{env="prod"}/0``); the root's is ``{}``."""
    opts = _inherit(cfg, base)
    own = format_matchers(cfg.matchers)
    key = own if parent_key is None else f"{parent_key}/{own}"
    node_id = own if parent_key is None else f"{parent_id}/{own}/{index}"
    children = tuple(_build(child, opts, key, node_id, i) for i, child in enumerate(cfg.routes))
    return Route(cfg.matchers, opts, cfg.continue_, key, node_id, children)
