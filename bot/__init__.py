"""incident-bot: an incident-command bot for Slack driven by Prometheus Alertmanager."""

__version__ = "0.1.0"
