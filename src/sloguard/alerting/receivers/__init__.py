"""Receiver integrations (one module each): webhook, Slack, PagerDuty, email."""
