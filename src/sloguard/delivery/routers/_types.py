"""The shapes every traffic router shares: features, route matches, header and mirror routes,
weight destinations, and the package's one exception."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace


class RouterError(Exception):
    """A router could not do what it was asked. ``retryable`` says whether trying the same
    call again later may succeed (a reload that timed out) or not (a config it refuses)."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class Feature(enum.Enum):
    """What a rollout step may ask of a router; ``TrafficRouter.supports`` answers per feature."""

    WEIGHT = "setWeight"
    HEADER_ROUTE = "setHeaderRoute"
    COOKIE_ROUTE = "cookie match in setHeaderRoute"
    MIRROR = "setMirrorRoute"
    STICKY = "sticky sessions"
    ADDITIONAL_DESTINATIONS = "additional weighted destinations (a baseline)"


class MatchKind(enum.Enum):
    """How a route match compares a value: whole value, prefix, or an RE2 regex (search)."""

    EXACT = "exact"
    PREFIX = "prefix"
    REGEX = "regex"


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """One condition on a request: header ``name`` (case-insensitive) or, with
    ``cookie=True``, the cookie ``name`` compares to ``value`` by ``kind``."""

    name: str
    value: str
    kind: MatchKind = MatchKind.EXACT
    cookie: bool = False

    def describe(self) -> str:
        where = "cookie" if self.cookie else "header"
        return f"{where} {self.name!r} {self.kind.value} {self.value!r}"


@dataclass(frozen=True, slots=True)
class HeaderRoute:
    """A named route sending requests that match ALL of ``matches`` to the canary (Argo's
    ``setHeaderRoute``). A route with no matches removes the route of that name."""

    name: str
    matches: tuple[RouteMatch, ...] = ()

    @property
    def uses_cookies(self) -> bool:
        return any(m.cookie for m in self.matches)


@dataclass(frozen=True, slots=True)
class MirrorRoute:
    """A named route copying ``percentage`` percent of the requests that match ALL of
    ``matches`` (every request when empty) to the canary; the copy's response is dropped.
    A percentage of 0 removes the route of that name."""

    name: str
    matches: tuple[RouteMatch, ...] = ()
    percentage: int = 100


@dataclass(frozen=True, slots=True)
class WeightDestination:
    """An extra version (a baseline, an experiment) taking ``weight`` percent of traffic
    beside the canary; the stable version gets what is left."""

    version: str
    weight: int


def check_weights(canary_weight: int, additional: tuple[WeightDestination, ...], where: str) -> int:
    """The stable weight left once the canary and ``additional`` have theirs; RouterError
    naming ``where`` if a weight is outside 0..100 or they sum above 100."""
    for name, w in (("canary", canary_weight), *((d.version, d.weight) for d in additional)):
        if not 0 <= w <= 100:
            raise RouterError(f"{where}: weight {w} for {name!r} is outside 0..100.")
    rest = 100 - canary_weight - sum(d.weight for d in additional)
    if rest < 0:
        raise RouterError(f"{where}: the canary weight {canary_weight} and additional weights sum above 100.")
    return rest


def check_route_name(name: str, where: str) -> None:
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise RouterError(f"{where}: route name {name!r} must be non-empty letters, digits, '-', '_' or '.'.")


def check_match(m: RouteMatch, where: str) -> None:
    """RouterError if a match's name or value cannot be routed on safely."""
    if not m.name or not all(c.isalnum() or c in "-_" for c in m.name):
        raise RouterError(f"{where}: {m.describe()}: the name must be letters, digits, '-' or '_'.")
    if any(ord(c) < 0x20 or c == "\x7f" for c in m.value):
        raise RouterError(f"{where}: {m.describe()}: the value holds a control character.")
    if m.kind is MatchKind.REGEX:
        from sloguard.labels import GoRegexError, compile_go

        try:
            compile_go(m.value)
        except GoRegexError as e:
            raise RouterError(f"{where}: {m.describe()}: not a valid RE2 regex: {e}") from e


@dataclass(frozen=True, slots=True)
class Desired:
    """What a file-rendering router has been asked for so far (it renders this whole)."""

    canary_weight: int = 0
    additional: tuple[WeightDestination, ...] = ()
    header_routes: tuple[HeaderRoute, ...] = ()
    mirror_routes: tuple[MirrorRoute, ...] = ()

    @property
    def stable_weight(self) -> int:
        return 100 - self.canary_weight - sum(d.weight for d in self.additional)

    def with_weight(self, canary_weight: int, additional: tuple[WeightDestination, ...], where: str) -> Desired:
        check_weights(canary_weight, additional, where)
        return replace(self, canary_weight=canary_weight, additional=additional)

    def with_header_route(self, route: HeaderRoute, where: str) -> Desired:
        check_route_name(route.name, where)
        for m in route.matches:
            check_match(m, where)
        kept = tuple(r for r in self.header_routes if r.name != route.name)
        return replace(self, header_routes=kept + ((route,) if route.matches else ()))

    def with_mirror_route(self, route: MirrorRoute, where: str) -> Desired:
        check_route_name(route.name, where)
        if not 0 <= route.percentage <= 100:
            raise RouterError(f"{where}: percentage {route.percentage} is outside 0..100.")
        for m in route.matches:
            check_match(m, where)
        kept = tuple(r for r in self.mirror_routes if r.name != route.name)
        return replace(self, mirror_routes=kept + ((route,) if route.percentage else ()))

    def without_routes(self) -> Desired:
        return replace(self, header_routes=(), mirror_routes=())
