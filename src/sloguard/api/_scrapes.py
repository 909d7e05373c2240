"""The server's view of scraping: start, reconfigure and stop the ingest scrape manager.

``ScrapeService`` adapts ``sloguard.ingest.scrape.ScrapeManager`` to what the server
needs: ``apply(config)`` (start or reload), ``stop()``, per-job scrape counters for
``/metrics`` and target objects for ``/api/v1/targets``.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from sloguard.config import Config
from sloguard.ingest.scrape import ScrapeLoop, ScrapeManager, ScrapeResult
from sloguard.tsdb import Storage

log = logging.getLogger(__name__)

SUCCESS, FAILURE = "success", "failure"


class ScrapeService:
    """Owns one ``ScrapeManager``; counts every finished scrape by job and result."""

    def __init__(self, storage: Storage, manager_factory: Callable[..., ScrapeManager] = ScrapeManager) -> None:
        self._storage = storage
        self._factory = manager_factory
        self._manager: ScrapeManager | None = None
        self._counts: Counter[tuple[str, str]] = Counter()

    async def apply(self, config: Config) -> None:
        """Start scraping ``config`` or, when running, switch to it (a reload)."""
        if self._manager is None:
            self._manager = self._factory(self._storage, config.scrape_configs, global_config=config.global_)
            await self._manager.start()
        else:
            await self._manager.apply_config(config.scrape_configs, config.global_)
        for loop in self._manager.loops:
            self._count_scrapes(loop)
        log.info("scraping", extra={"jobs": len(config.scrape_configs), "targets": len(self._manager.loops)})

    def _count_scrapes(self, loop: ScrapeLoop) -> None:
        # ScrapeLoop has no counter hook yet; wrap this loop's scrape_once (instance only).
        if getattr(loop, "_sloguard_counted", False):
            return
        inner: Callable[[], Awaitable[ScrapeResult]] = loop.scrape_once
        job = loop.target.job

        @functools.wraps(inner)
        async def counted() -> ScrapeResult:
            result = await inner()
            self._counts[(job, SUCCESS if result.error is None else FAILURE)] += 1
            return result

        loop.scrape_once = counted  # type: ignore[method-assign]
        loop._sloguard_counted = True  # type: ignore[attr-defined]

    async def stop(self) -> None:
        """Stop every loop (writing staleness markers) and close the HTTP clients."""
        if self._manager is not None:
            await self._manager.stop()

    def scrape_counts(self) -> dict[tuple[str, str], int]:
        return dict(self._counts)

    def targets_json(self) -> tuple[list[Any], list[Any]]:
        if self._manager is None:
            return [], []
        active = [t.to_json() for t in self._manager.targets()]
        dropped = [d.to_json() for d in self._manager.dropped_targets()]
        return active, dropped


async def start_scrapes(config: Config, storage: Storage) -> ScrapeService:
    """Start scraping ``config.scrape_configs`` into ``storage``; returns the service."""
    service = ScrapeService(storage)
    await service.apply(config)
    return service
