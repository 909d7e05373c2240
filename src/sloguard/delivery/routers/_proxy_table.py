"""The built-in proxy's routing table: an immutable snapshot swapped whole on every change,
so a request sees one consistent set of weights and routes (and a change made from another
thread is one reference assignment)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from sloguard.delivery.routers._proxy_http import Request
from sloguard.delivery.routers._proxy_pool import Pool
from sloguard.delivery.routers._types import HeaderRoute, MatchKind, MirrorRoute, RouteMatch
from sloguard.labels import compile_go

Predicate = Callable[[Request], bool]


def _value_test(m: RouteMatch) -> Callable[[str], bool]:
    if m.kind is MatchKind.EXACT:
        return m.value.__eq__
    if m.kind is MatchKind.PREFIX:
        return lambda s: s.startswith(m.value)
    return compile_go(m.value).matches


def compile_match(m: RouteMatch) -> Predicate:
    """A predicate on a request for one match (a missing header or cookie never matches)."""
    test = _value_test(m)
    if m.cookie:
        name = m.name

        def cookie_matches(req: Request) -> bool:
            v = req.cookies().get(name)
            return v is not None and test(v)

        return cookie_matches
    key = m.name.lower().encode("latin-1")

    def header_matches(req: Request) -> bool:
        v = req.header(key)
        return v is not None and test(v.decode("latin-1"))

    return header_matches


def compile_all(matches: tuple[RouteMatch, ...]) -> Predicate:
    tests = [compile_match(m) for m in matches]
    return lambda req: all(t(req) for t in tests)


@dataclass(frozen=True, slots=True)
class CompiledRoute:
    name: str
    matches: Predicate
    percentage: int = 100


@dataclass(frozen=True, slots=True)
class RoutingTable:
    """Where requests go. Weights are percent; ``stable`` takes what the canary and
    ``extra`` pools leave. Header routes win over stickiness, stickiness over weights."""

    stable: Pool
    canary: Pool | None
    canary_weight: int = 0
    extra: tuple[tuple[Pool, int], ...] = ()
    header_routes: tuple[HeaderRoute, ...] = ()
    mirror_routes: tuple[MirrorRoute, ...] = ()
    compiled_headers: tuple[CompiledRoute, ...] = ()
    compiled_mirrors: tuple[CompiledRoute, ...] = ()

    def weighted(self) -> list[tuple[Pool, int]]:
        out = [(self.stable, 100 - self.canary_weight - sum(w for _, w in self.extra))]
        if self.canary is not None:
            out.append((self.canary, self.canary_weight))
        return out + list(self.extra)

    def choose(self, req: Request, rng: random.Random, sticky_cookie: str | None) -> tuple[Pool, bool]:
        """The pool for ``req``, and whether a sticky cookie should be set for it."""
        canary = self.canary
        if canary is not None:
            for route in self.compiled_headers:
                if route.matches(req):
                    return canary, False
        if sticky_cookie is not None:
            pinned = req.cookies().get(sticky_cookie)
            if pinned is not None:
                for pool, weight in self.weighted():
                    if pool.name == pinned and weight > 0:
                        return pool, False
        return self._by_weight(rng.random() * 100.0), sticky_cookie is not None

    def _by_weight(self, x: float) -> Pool:
        if self.canary is not None:
            if x < self.canary_weight:
                return self.canary
            x -= self.canary_weight
        for pool, weight in self.extra:
            if x < weight:
                return pool
            x -= weight
        return self.stable

    def mirror(self, req: Request, rng: random.Random) -> Pool | None:
        """The canary pool if a mirror route copies ``req`` to it."""
        if self.canary is None:
            return None
        for route in self.compiled_mirrors:
            if route.matches(req) and rng.random() * 100.0 < route.percentage:
                return self.canary
        return None


def compile_header_routes(routes: tuple[HeaderRoute, ...]) -> tuple[CompiledRoute, ...]:
    return tuple(CompiledRoute(r.name, compile_all(r.matches)) for r in routes)


def compile_mirror_routes(routes: tuple[MirrorRoute, ...]) -> tuple[CompiledRoute, ...]:
    return tuple(CompiledRoute(r.name, compile_all(r.matches), r.percentage) for r in routes)
