"""Prometheus-compatible HTTP backends: remote write out (``write``) and queries."""

__all__: list[str] = []
