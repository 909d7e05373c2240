"""The demo: what ``sloguard demo`` (and ``make run``) shows.

- ``service``: the demo service in several versions (v1 and v3 healthy, v2 subtly bad),
  one seeded asyncio HTTP server each;
- ``load``: a bounded load generator on loopback;
- ``specs/``: the demo's SLOs and its two rollouts (package data), read by ``specs``;
- ``_target``: the bundled scrape target ``/demo/metrics`` of ``sloguard serve``'s
  example config (its counters are pure functions of time).
"""

from __future__ import annotations

from sloguard.demo._target import (
    BUCKETS,
    CONTENT_TYPE,
    ROUTES,
    WAVE_PERIOD_S,
    DemoRoute,
    DemoService,
    routes,
)
from sloguard.demo.load import LoadConfig, LoadGenerator, LoadStats
from sloguard.demo.service import PROFILES, DemoError, VersionProfile, VersionServer, VersionStats

__all__ = [
    "BUCKETS", "CONTENT_TYPE", "PROFILES", "ROUTES", "WAVE_PERIOD_S", "DemoError", "DemoRoute",
    "DemoService", "LoadConfig", "LoadGenerator", "LoadStats", "VersionProfile", "VersionServer",
    "VersionStats", "routes",
]
