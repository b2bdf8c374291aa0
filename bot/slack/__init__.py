"""Slack: the Web API gateway, pacing, and what incidents look like there."""
