"""Typed keys for what the aiohttp application and a request hold for the workspace."""

from __future__ import annotations

from aiohttp import web

from bot.web.workspace import Workspace

WORKSPACE = web.AppKey("workspace", Workspace)
# Why the workspace is off (SESSION_SECRET unset), told on every /ui/ page instead.
WORKSPACE_OFF = web.AppKey("workspace_off", str)
