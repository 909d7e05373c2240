"""Ingestion: scrape loop, exposition parsing, relabeling, remote-write decoding, backfill."""
