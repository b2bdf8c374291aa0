"""The workspace's routes under ``/ui/``; every one of them passes the guard first.

Each page's module is imported on its first request, not at start-up: the pages with Jinja2,
markdown-it, nh3 and the charts are about a tenth of a second of imports that a bot serving
webhooks, or one without ``SESSION_SECRET``, never needs."""

from __future__ import annotations

import importlib
from pathlib import Path

from aiohttp import web

from bot.web.gate import Handler
from bot.web.keys import WORKSPACE

STATIC = Path(__file__).resolve().parent / "static"


async def _to_list(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/ui/")


async def _end_live_timelines(app: web.Application) -> None:
    """Shutdown has begun: open live timelines end now (the browsers reconnect to whichever
    replica answers), so shutdown does not wait for them."""
    workspace = app.get(WORKSPACE)
    if workspace is not None:
        workspace.wakeups.close()


def page(module: str, name: str) -> Handler:
    """The handler ``name`` of ``bot.web.<module>``, imported when it is first requested."""
    loaded: Handler | None = None

    async def handle(request: web.Request) -> web.StreamResponse:
        nonlocal loaded
        if loaded is None:
            loaded = getattr(importlib.import_module(f"bot.web.{module}"), name)
        return await loaded(request)

    return handle


def add_workspace_routes(app: web.Application) -> None:
    app.router.add_get("/ui", _to_list)
    app.router.add_get("/ui/", page("incident_list", "incidents"))
    app.router.add_get("/ui/insights", page("insights", "insights"))
    app.router.add_get("/ui/login", page("signin", "login"))
    app.router.add_get("/ui/auth/callback", page("signin", "callback"))
    app.router.add_post("/ui/logout", page("signin", "logout"))
    app.router.add_get("/ui/incidents/{incident_id}", page("incident_page", "incident"))
    app.router.add_get("/ui/incidents/{incident_id}/stream", page("timeline_stream", "stream"))
    app.router.add_post("/ui/incidents/{incident_id}/timeline/{event_id}/mark", page("timeline_forms", "mark"))
    app.router.add_post("/ui/incidents/{incident_id}/timeline/{event_id}/unmark", page("timeline_forms", "unmark"))
    app.router.add_post("/ui/incidents/{incident_id}/timeline/{event_id}/correct", page("timeline_forms", "correct"))
    app.router.add_post("/ui/incidents/{incident_id}/timeline/{event_id}/hide", page("timeline_forms", "hide"))
    app.router.add_post("/ui/incidents/{incident_id}/timeline/{event_id}/show", page("timeline_forms", "show"))
    app.router.add_get("/ui/incidents/{incident_id}/postmortem", page("postmortem_editor", "editor"))
    app.router.add_post("/ui/incidents/{incident_id}/postmortem", page("postmortem_editor", "submit"))
    app.router.add_post("/ui/incidents/{incident_id}/postmortem/preview", page("postmortem_editor", "preview"))
    app.router.add_post("/ui/incidents/{incident_id}/postmortem/publish", page("postmortem_actions", "publish"))
    app.router.add_post("/ui/incidents/{incident_id}/postmortem/review", page("postmortem_actions", "review"))
    app.router.add_post("/ui/incidents/{incident_id}/postmortem/owner", page("postmortem_actions", "owner"))
    app.router.add_post("/ui/incidents/{incident_id}/postmortem/due", page("postmortem_actions", "due"))
    app.router.add_get("/ui/followups", page("followups_board", "board"))
    app.router.add_post("/ui/followups/{incident}/{number}/done", page("followups_board", "done"))
    app.router.add_post("/ui/followups/{incident}/{number}/drop", page("followups_board", "drop"))
    app.router.add_static("/ui/static", STATIC, append_version=False)
    app.on_shutdown.append(_end_live_timelines)
