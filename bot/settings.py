"""Typed settings, read once from the environment at start-up.

Each field is read from the environment variable of its name in any case (``PORT`` or
``port``); keyword arguments override the environment, and other variables are ignored.
That is what pydantic-settings did here, done by hand: its import and its environment source
were some 45 ms of every start (bench/startup_phases.py), for a flat set of strings, numbers
and paths that needs none of its parsing (no ``.env`` file, nested or JSON values).

Secrets are ``SecretStr``: they print as ``**********`` in reprs and logs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///incident-bot.db"


class Settings(BaseModel):
    # validate_default as pydantic-settings had it: the defaults pass the validators too.
    model_config = ConfigDict(extra="ignore", validate_default=True)

    database_url: str = DEFAULT_DATABASE_URL
    playbooks_dir: Path = Path("playbooks")
    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=0, le=65535)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_app_token: SecretStr | None = None
    slash_command: str = "/incident"

    alertmanager_webhook_token: SecretStr | None = None
    alertmanager_webhook_user: str | None = None
    alertmanager_webhook_password: SecretStr | None = None
    alertmanager_url: str | None = None
    prometheus_url: str | None = None
    api_token: SecretStr | None = None

    # Issue trackers for follow-ups (a playbook's ``followups.tracker`` picks one).
    github_token: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    jira_url: str | None = None
    jira_user: str | None = None
    jira_api_token: SecretStr | None = None
    tracker_sync_seconds: float = Field(default=300.0, gt=0)

    # Where people reach the bot; links from Slack, PagerDuty, Grafana and webhooks use it.
    public_url: str = "http://localhost:8080"
    # The web workspace: Sign in with Slack (OpenID Connect) and its session cookies.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_oidc_authorize_url: str = "https://slack.com/openid/connect/authorize"
    session_secret: SecretStr | None = None
    # How long a web session lasts from sign-in.
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    grafana_url: str | None = None
    grafana_token: SecretStr | None = None

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    # Not in the public contract's list, but settable: limits and retention.
    # Compresses Slack's rate-limit windows for tests against an emulator that does the
    # same; leave at 1 against real Slack.
    slack_rate_limit_scale: float = Field(default=1.0, gt=0)
    outbox_concurrency: int = Field(default=16, ge=1, le=64)
    # How long a claimed action stays reserved for its worker; after a crash, the work
    # is picked up again at most this long later.
    outbox_lease_seconds: float = Field(default=30.0, gt=0)
    # On SIGTERM, how long Slack calls in flight may take to finish and be recorded; the
    # rest are released to the next start. Keep it within the process manager's stop timeout.
    outbox_shutdown_grace_seconds: float = Field(default=5.0, ge=0)
    # How often due timers (reminders, escalations) are looked for.
    scheduler_tick_seconds: float = Field(default=1.0, gt=0, le=60)
    # How often open incidents' firing alerts are compared with Alertmanager's (needs ALERTMANAGER_URL).
    reconcile_seconds: float = Field(default=60.0, gt=0)
    webhook_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    delivery_retention_days: int = Field(default=30, gt=0)
    incident_retention_days: int = Field(default=365, gt=0)  # resolved incidents, with their timelines

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, values: object) -> object:
        """The environment's values of the fields, overridden by the keyword arguments."""
        if not isinstance(values, dict):
            return values
        fields = cls.model_fields
        environment = {name: value for name, value in ((k.lower(), v) for k, v in os.environ.items())
                       if name in fields}
        return {**environment, **values}

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    def secret_values(self) -> list[str]:
        """Every configured secret, so the log pipeline can scrub them from any line."""
        secrets = [self.slack_bot_token, self.slack_signing_secret, self.slack_app_token,
                   self.alertmanager_webhook_token, self.alertmanager_webhook_password, self.api_token,
                   self.grafana_token, self.github_token, self.jira_api_token, self.slack_client_secret,
                   self.session_secret]
        values = [s.get_secret_value() for s in secrets if s is not None and s.get_secret_value()]
        password = urlsplit(self.database_url).password  # as written, and as a driver may print it
        return values + ([password, unquote(password)] if password else [])
