"""A change from a page done as the Slack command that does it: the command's words parsed
by the same grammar, run by ``CommandService.execute_in`` for the incident the page is
about, and answered with the reply Slack would give, as plain text on the next page."""

from __future__ import annotations

from aiohttp import web

from bot.domain import commands as p
from bot.incident.command_service import Context
from bot.web.render import redirect_with
from bot.web.replies import plain_text
from bot.web.sessions import Viewer
from bot.web.workspace import Workspace


async def run_command(workspace: Workspace, viewer: Viewer, incident_id: int, text: str, back: str) -> web.Response:
    """Run ``text`` (what follows the slash command) on the incident and go ``back``."""
    commands = workspace.commands
    try:
        command = p.parse_command(text, commands.severities(), commands.command)
    except p.CommandError as exc:
        return redirect_with(workspace, back, await plain_text(workspace, str(exc)), kind="refused")
    reply = await commands.execute_in(incident_id, command,
                                      Context(user=viewer.user_id, channel="", source="web", text=text))
    return redirect_with(workspace, back, await plain_text(workspace, reply.text),
                         kind="done" if reply.changed and not reply.refused else "refused")
