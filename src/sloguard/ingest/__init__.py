"""Ingestion: scrape loop, exposition parsing, relabeling, remote-write decoding, backfill."""

# Exposition parsing, relabeling, scrape configs and the scrape loop (helper H2).
from sloguard.ingest._errors import IngestError
from sloguard.ingest.exposition import (
    NO_TIMESTAMP,
    ExpositionError,
    MetricMetadata,
    ParsedScrape,
    iter_lines,
    parse,
)
from sloguard.ingest.relabel import RelabelConfig, relabel
from sloguard.ingest.scrape import ScrapeLoop, ScrapeManager, SystemClock, Target, TargetStatus
from sloguard.ingest.scrape_config import GlobalConfig, ScrapeConfig, resolve

__all__ = [
    "NO_TIMESTAMP",
    "ExpositionError",
    "GlobalConfig",
    "IngestError",
    "MetricMetadata",
    "ParsedScrape",
    "RelabelConfig",
    "ScrapeConfig",
    "ScrapeLoop",
    "ScrapeManager",
    "SystemClock",
    "Target",
    "TargetStatus",
    "iter_lines",
    "parse",
    "relabel",
    "resolve",
]
