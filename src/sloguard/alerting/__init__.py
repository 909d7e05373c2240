"""Alertmanager-compatible alerting: routing, grouping, silences, inhibition and receivers."""
