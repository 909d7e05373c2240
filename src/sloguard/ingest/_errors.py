"""The ingest package's base exception."""

from __future__ import annotations


class IngestError(Exception):
    """Base of every error the ingest package raises on bad input (exposition text, remote-write
    bodies, scrape and relabel configs, scrape targets, backfill files). The subclasses for malformed
    text or configs are also ``ValueError``s."""
