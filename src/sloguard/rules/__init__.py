"""Prometheus-compatible recording and alerting rules, alert state machine, templates."""
