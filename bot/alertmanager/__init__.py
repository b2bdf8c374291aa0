"""Alertmanager's side of the bot: the webhook payload and its API client."""
