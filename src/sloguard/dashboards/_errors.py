"""The dashboards package's one exception."""

from __future__ import annotations


class DashboardError(Exception):
    """A dashboard could not be built, checked or written; the message says which and why."""
