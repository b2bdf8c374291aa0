"""Slack I/O and presentation: the paced, metered Web API gateway and what incidents look like there."""
