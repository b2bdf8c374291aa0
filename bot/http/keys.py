"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from aiohttp import web
from apscheduler.schedulers.base import BaseScheduler

from bot.clock import Clock
from bot.http.auth import WebhookAuth
from bot.incident.ingest import Ingestor
from bot.observability.metrics import Metrics
from bot.playbook import PlaybookSet
from bot.settings import Settings
from storage.database import Database

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
METRICS = web.AppKey("metrics", Metrics)
INGESTOR = web.AppKey("ingestor", Ingestor)
WEBHOOK_AUTH = web.AppKey("webhook_auth", WebhookAuth)
SCHEDULER = web.AppKey("scheduler", BaseScheduler)
PLAYBOOKS = web.AppKey("playbooks", PlaybookSet)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")  # the time the bot runs on (a test moves it)
