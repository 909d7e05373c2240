"""The base error of ``sloguard.delivery.analysis``."""

from __future__ import annotations


class AnalysisError(Exception):
    """Base of every error raised by the analysis package (conditions, templates, providers)."""
