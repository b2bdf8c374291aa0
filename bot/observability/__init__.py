"""Logs and metrics of the bot itself."""
