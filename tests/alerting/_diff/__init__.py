"""The differential harness: the same scenario into Alertmanager 0.25 and sloguard over HTTP,
and the notification sequences compared (see docs/alerting.md)."""
