"""The workspace's routes under ``/ui/``; every one of them passes the guard first."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.web import followups_board, incident_list, postmortem_actions, postmortem_editor, signin

STATIC = Path(__file__).resolve().parent / "static"


async def _to_list(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/ui/")


def add_workspace_routes(app: web.Application) -> None:
    app.router.add_get("/ui", _to_list)
    app.router.add_get("/ui/", incident_list.incidents)
    app.router.add_get("/ui/login", signin.login)
    app.router.add_get("/ui/auth/callback", signin.callback)
    app.router.add_post("/ui/logout", signin.logout)
    app.router.add_get("/ui/incidents/{id}/postmortem", postmortem_editor.editor)
    app.router.add_post("/ui/incidents/{id}/postmortem", postmortem_editor.submit)
    app.router.add_post("/ui/incidents/{id}/postmortem/preview", postmortem_editor.preview)
    app.router.add_post("/ui/incidents/{id}/postmortem/publish", postmortem_actions.publish)
    app.router.add_post("/ui/incidents/{id}/postmortem/review", postmortem_actions.review)
    app.router.add_post("/ui/incidents/{id}/postmortem/owner", postmortem_actions.owner)
    app.router.add_post("/ui/incidents/{id}/postmortem/due", postmortem_actions.due)
    app.router.add_get("/ui/followups", followups_board.board)
    app.router.add_post("/ui/followups/{incident}/{number}/done", followups_board.done)
    app.router.add_post("/ui/followups/{incident}/{number}/drop", followups_board.drop)
    app.router.add_static("/ui/static", STATIC, append_version=False)
