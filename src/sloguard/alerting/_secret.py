"""Secrets of a configuration: :class:`Secret` lives in :mod:`sloguard.httpclient` (re-exported here)."""

from __future__ import annotations

from sloguard.httpclient._secret import SECRET_TOKEN, Secret

__all__ = ["SECRET_TOKEN", "Secret"]
