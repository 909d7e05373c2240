"""Alertmanager-compatible alerting: routing, inhibition, silences, time intervals."""
