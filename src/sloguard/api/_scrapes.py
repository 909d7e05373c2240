"""The server's view of scraping: start, reconfigure and stop the ingest scrape manager.

``ScrapeService`` adapts ``sloguard.ingest.scrape.ScrapeManager`` to what the server
needs (``apply(config)``, ``stop()``, counters for ``/metrics``, targets for the API).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from sloguard.config import Config
from sloguard.tsdb import Storage

log = logging.getLogger(__name__)


class NullScrapes:
    """Used when the ingest scrape manager is not available: scrapes nothing."""

    async def apply(self, config: Config) -> None:
        return None

    async def stop(self) -> None:
        return None

    def scrape_counts(self) -> dict[tuple[str, str], int]:
        return {}

    def targets_json(self) -> tuple[list[Any], list[Any]]:
        return [], []


async def start_scrapes(config: Config, storage: Storage) -> Any:
    """Start scraping ``config.scrape_configs`` into ``storage``; returns the manager."""
    try:
        module = importlib.import_module("sloguard.ingest.scrape")
        adapter = importlib.import_module("sloguard.api._scrape_adapter")
    except ImportError:
        log.warning("scrape manager unavailable; scrape_configs are ignored")
        return NullScrapes()
    service = adapter.ScrapeService(module, storage)
    await service.apply(config)
    return service
