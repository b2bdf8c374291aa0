"""The postmortem editor's buttons that are ``/incident postmortem`` subcommands: publish,
put up for review, a new owner, a new due time. Each runs as that command for the incident
(:mod:`bot.web.commanding`), so the checks, the changes and the words are Slack's."""

from __future__ import annotations

import re

from aiohttp import web

from bot.web.commanding import run_command
from bot.web.incident_reads import incident_id_of
from bot.web.keys import WORKSPACE
from bot.web.postmortem_editor import editor_url
from bot.web.render import redirect_with
from bot.web.sessions import viewer_of

_MEMBER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


async def _run(request: web.Request, words: str) -> web.Response:
    incident_id = incident_id_of(request)
    return await run_command(request.app[WORKSPACE], viewer_of(request), incident_id, words, editor_url(incident_id))


async def publish(request: web.Request) -> web.Response:
    return await _run(request, "postmortem publish")


async def review(request: web.Request) -> web.Response:
    return await _run(request, "postmortem review")


async def owner(request: web.Request) -> web.Response:
    form = await request.post()
    user = (str(form.get("other", "")).strip() or str(form.get("owner", ""))).upper()
    if not _MEMBER_ID.match(user):
        incident_id = incident_id_of(request)
        return redirect_with(request.app[WORKSPACE], editor_url(incident_id),
                             f"{user[:30] or 'Nobody'} is not a Slack member ID (like U0123ABCD); pick the owner "
                             "from the list or give their member ID (their Slack profile, More, Copy member ID).",
                             kind="refused")
    return await _run(request, f"postmortem owner <@{user}>")


async def due(request: web.Request) -> web.Response:
    """``due``: a date (YYYY-MM-DD, as the date picker sends it) or a duration (``3d``)."""
    value = " ".join(str((await request.post()).get("due", "")).split())[:60]
    return await _run(request, f"postmortem due {value}".rstrip())  # the grammar says what is wrong with it
