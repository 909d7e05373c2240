"""Scraping: ``ScrapeManager`` runs one ``ScrapeLoop`` per target of every scrape config.

Usage::

    manager = ScrapeManager(storage, scrape_configs, global_config=g, clock=SystemClock())
    await manager.start()
    ...
    manager.targets()          # state for /api/v1/targets (see TargetStatus.to_json)
    await manager.apply_config(new_configs, g)   # reload: unchanged targets keep running
    await manager.stop()

The clock and the HTTP client factory are injected, so tests run simulated time
(``ingest.testing.FakeClock``) against an ``httpx.MockTransport`` or a local server.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from sloguard.ingest._scrape_clock import Clock, SystemClock
from sloguard.ingest._scrape_http import (
    ACCEPT_HEADER,
    HttpClientFactory,
    ScrapeError,
    default_client_factory,
)
from sloguard.ingest._scrape_loop import REPORT_NAMES, ScrapeLoop, ScrapeResult, merge_target_labels
from sloguard.ingest._scrape_target import Target, TargetError, targets_from_config
from sloguard.ingest.scrape_config import (
    GlobalConfig,
    ScrapeConfig,
    check_unique_job_names,
    format_duration,
    resolve,
)
from sloguard.labels import Labels
from sloguard.tsdb import Storage

__all__ = [
    "ACCEPT_HEADER",
    "REPORT_NAMES",
    "Clock",
    "DroppedTarget",
    "HttpClientFactory",
    "ScrapeError",
    "ScrapeLoop",
    "ScrapeManager",
    "ScrapeResult",
    "SystemClock",
    "Target",
    "TargetError",
    "TargetHealth",
    "TargetStatus",
    "merge_target_labels",
    "targets_from_config",
]

_ZERO_TIME = "0001-01-01T00:00:00Z"


class TargetHealth(enum.StrEnum):
    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """A snapshot of one active target, shaped for ``/api/v1/targets``."""

    scrape_pool: str
    discovered_labels: Labels
    labels: Labels
    scrape_url: str
    health: TargetHealth
    last_error: str
    last_scrape: float | None
    last_scrape_duration: float
    scrape_interval_ms: int
    scrape_timeout_ms: int

    def to_json(self) -> dict[str, Any]:
        """Prometheus' JSON for an active target (``labels`` without ``__`` names)."""
        last = _ZERO_TIME
        if self.last_scrape is not None:
            last = dt.datetime.fromtimestamp(self.last_scrape, dt.UTC).isoformat().replace("+00:00", "Z")
        return {
            "discoveredLabels": self.discovered_labels.to_dict(),
            "labels": {n: v for n, v in self.labels if not n.startswith("__")},
            "scrapePool": self.scrape_pool,
            "scrapeUrl": self.scrape_url,
            "globalUrl": self.scrape_url,
            "lastError": self.last_error,
            "lastScrape": last,
            "lastScrapeDuration": self.last_scrape_duration,
            "health": self.health.value,
            "scrapeInterval": format_duration(self.scrape_interval_ms),
            "scrapeTimeout": format_duration(self.scrape_timeout_ms),
        }


@dataclass(frozen=True, slots=True)
class DroppedTarget:
    """A target that relabeling dropped or that could not be built (``reason``)."""

    scrape_pool: str
    discovered_labels: Labels
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"discoveredLabels": self.discovered_labels.to_dict()}


def _status(loop: ScrapeLoop) -> TargetStatus:
    t, last = loop.target, loop.last
    health = TargetHealth.UNKNOWN if last is None else (
        TargetHealth.UP if last.error is None else TargetHealth.DOWN
    )
    return TargetStatus(
        t.job, t.discovered_labels, t.labels, t.url, health,
        "" if last is None or last.error is None else last.error,
        loop.last_scrape_wall, 0.0 if last is None else last.duration_s,
        t.interval_ms, t.timeout_ms,
    )


def _loop_config(sc: ScrapeConfig) -> ScrapeConfig:
    """The part of a config a running loop depends on (targets are compared separately)."""
    return sc.model_copy(update={"static_configs": [], "relabel_configs": []})


class ScrapeManager:
    """Owns the scrape loops of all jobs; reloadable; exposes target state."""

    def __init__(
        self,
        storage: Storage,
        configs: Sequence[ScrapeConfig] = (),
        clock: Clock | None = None,
        http_client_factory: HttpClientFactory | None = None,
        global_config: GlobalConfig | None = None,
        on_scrape: Callable[[Target, ScrapeResult], None] | None = None,
    ) -> None:
        """``on_scrape(target, result)`` is called after every scrape (e.g. for metrics)."""
        self._storage = storage
        self._on_scrape = on_scrape
        self._counts: Counter[tuple[str, str]] = Counter()
        self._clock: Clock = clock or SystemClock()
        self._factory = http_client_factory or default_client_factory
        self._global = global_config or GlobalConfig()
        self._configs: list[ScrapeConfig] = self._resolve(configs, self._global)
        self._loops: dict[tuple[str, Labels, str], ScrapeLoop] = {}
        self._clients: dict[str, tuple[ScrapeConfig, httpx.AsyncClient]] = {}
        self._dropped: list[DroppedTarget] = []
        self._started = False

    @staticmethod
    def _resolve(configs: Sequence[ScrapeConfig], g: GlobalConfig) -> list[ScrapeConfig]:
        check_unique_job_names(configs)
        return [resolve(c, g) for c in configs]

    def _seed(self) -> int:
        """Jitter seed from external labels, so HA pairs scrape at different phases."""
        text = ",".join(f"{k}={v}" for k, v in sorted(self._global.external_labels.items()))
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")

    async def start(self) -> None:
        self._started = True
        await self._sync()

    async def apply_config(
        self, configs: Sequence[ScrapeConfig], global_config: GlobalConfig | None = None
    ) -> None:
        """Reload: loops whose target and config are unchanged keep running (and their
        staleness state); removed targets are stopped and their series marked stale."""
        g = global_config or self._global
        self._configs = self._resolve(configs, g)
        self._global = g
        if self._started:
            await self._sync()

    async def _sync(self) -> None:
        wanted: dict[tuple[str, Labels, str], tuple[Target, ScrapeConfig]] = {}
        dropped: list[DroppedTarget] = []
        for sc in self._configs:
            active, gone = targets_from_config(sc)
            dropped.extend(DroppedTarget(sc.job_name, lset, why) for lset, why in gone)
            for t in active:
                wanted[(sc.job_name, t.labels, t.url)] = (t, sc)
        self._dropped = dropped
        carried: dict[tuple[str, Labels, str], ScrapeLoop] = {}
        for key, loop in list(self._loops.items()):
            spec = wanted.get(key)
            if spec is None or _loop_config(spec[1]) != _loop_config(loop.config):
                # A target that stays but whose config changed restarts without end-of-run
                # staleness markers and hands its series over, as Prometheus' reload does.
                await loop.stop(mark_stale=spec is None)
                del self._loops[key]
                if spec is not None:
                    carried[key] = loop
        await self._close_stale_clients()
        for key, (t, sc) in wanted.items():
            if key not in self._loops:
                loop = ScrapeLoop(
                    t, sc, self._storage, self._client(sc), self._clock, self._seed(), self._record
                )
                if key in carried:
                    loop.take_over(carried[key])
                self._loops[key] = loop
                loop.start()
        self._apply_target_limits()

    def _apply_target_limits(self) -> None:
        """Over ``target_limit``, every target of the job fails (as in Prometheus)."""
        per_job: dict[str, list[ScrapeLoop]] = {}
        for lp in self._loops.values():
            per_job.setdefault(lp.target.job, []).append(lp)
        for sc in self._configs:
            loops = per_job.get(sc.job_name, [])
            over = sc.target_limit and len(loops) > sc.target_limit
            msg = f"target_limit exceeded (number of targets: {len(loops)}, limit: {sc.target_limit})"
            for lp in loops:
                lp.forced_error = msg if over else None

    def _client(self, sc: ScrapeConfig) -> httpx.AsyncClient:
        cached = self._clients.get(sc.job_name)
        if cached is not None and cached[0] == _loop_config(sc):
            return cached[1]
        client = self._factory(sc)
        self._clients[sc.job_name] = (_loop_config(sc), client)
        return client

    async def _close_stale_clients(self) -> None:
        current = {c.job_name: _loop_config(c) for c in self._configs}
        for job, (sc, client) in list(self._clients.items()):
            if current.get(job) != sc:
                await client.aclose()
                del self._clients[job]

    async def stop(self) -> None:
        """Stop every loop (writing end-of-run staleness markers) and close the clients."""
        for loop in self._loops.values():
            await loop.stop()
        self._loops.clear()
        for _, client in self._clients.values():
            await client.aclose()
        self._clients.clear()
        self._started = False

    # -- state -----------------------------------------------------------------------

    @property
    def loops(self) -> list[ScrapeLoop]:
        return list(self._loops.values())

    def targets(self) -> list[TargetStatus]:
        return sorted((_status(lp) for lp in self._loops.values()), key=lambda s: (s.scrape_pool, s.scrape_url))

    def dropped_targets(self) -> list[DroppedTarget]:
        return list(self._dropped)

    def targets_json(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(activeTargets, droppedTargets) in ``/api/v1/targets``' JSON shape."""
        return [t.to_json() for t in self.targets()], [d.to_json() for d in self._dropped]

    def _record(self, loop: ScrapeLoop, result: ScrapeResult) -> None:
        self._counts[(loop.target.job, "success" if result.error is None else "failure")] += 1
        if self._on_scrape is not None:
            self._on_scrape(loop.target, result)

    def scrape_counts(self) -> dict[tuple[str, str], int]:
        """Scrapes since start by (job, "success" | "failure"), across reloads (for /metrics)."""
        return dict(self._counts)

    def metadata(self) -> list[tuple[str, str, str, str]]:
        """(metric, type, help, unit) from each active target's last successful scrape,
        as Prometheus' ``/api/v1/metadata`` collects it from its targets' scrape caches."""
        return [
            (name, m.type, m.help, m.unit)
            for loop in self._loops.values()
            for name, m in loop.metadata.items()
        ]

    def scrape_pools(self) -> list[str]:
        return [c.job_name for c in self._configs]
