"""Clients of the peers the bot calls besides Slack: Alertmanager (silences, reconciliation) and Prometheus (exemplars)."""
