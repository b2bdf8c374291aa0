"""The incident page's timeline forms: mark or unmark a key moment, correct an entry's text
or time, hide it as noise or show it again. Each POSTs (with the CSRF token), goes through
:class:`bot.incident.timeline_editor.TimelineEditor` as Slack's menus do (same permission,
same checks, same words) with the viewer as actor and source ``web``, and redirects back
to the entry with what was done or why not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog
from aiohttp import web

from bot.incident.timeline_editor import TimelineEditError, TimelineEditor
from bot.slack.mrkdwn_text import mrkdwn_to_text
from bot.slack.timeline_listing import correction
from bot.web.incident_reads import before_of, event_id_of, incident_id_of
from bot.web.keys import WORKSPACE
from bot.web.render import redirect_with
from bot.web.sessions import viewer_of
from bot.web.timeline_view import MENTION, current_text, people_in
from bot.web.workspace import Workspace
from storage import alerting
from storage.errors import StorageError

log = structlog.get_logger(__name__)
GONE = "That entry is not on this incident's timeline, or cannot be changed."
DATABASE_DOWN = "The database is not answering, so nothing was changed. Try again in a moment."
TIME_HELP = "Give the time as YYYY-MM-DD HH:MM (seconds optional), in UTC."

Edit = Callable[[TimelineEditor, int, int, str, dict[str, str]], Awaitable[str]]


def _field(form: dict[str, str], name: str, limit: int = 2000) -> str:
    return form.get(name, "")[:limit]


def parse_input_time(raw: str) -> datetime | None:
    """A time from ``<input type="datetime-local">`` (``2026-11-22T10:05`` or with seconds)
    or typed as in Slack's form (a space for the T), read as UTC; None if it is not one."""
    text = raw.strip().replace(" ", "T", 1)
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


async def as_text(workspace: Workspace, mrkdwn: str) -> str:
    """The editor's words as Slack shows them (``<@U1>`` as ``@name``), as text for the page."""
    names = await workspace.people.names(set(MENTION.findall(mrkdwn)))
    return mrkdwn_to_text(mrkdwn, lambda user: names.get(user, user))


def _back(incident_id: int, form: dict[str, str], event_id: int) -> str:
    try:
        before = before_of(form.get("before"))
    except web.HTTPBadRequest:
        before = None
    return f"/ui/incidents/{incident_id}" + (f"?before={before}" if before else "") + f"#e{event_id}"


def _handler(edit: Edit) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        workspace = request.app[WORKSPACE]
        viewer = viewer_of(request)
        incident_id, event_id = incident_id_of(request), event_id_of(request)
        if await workspace.db.read(alerting.get_incident, incident_id) is None:
            raise web.HTTPNotFound(text=f"There is no incident #{incident_id}.")
        form = {k: str(v) for k, v in (await request.post()).items()}
        back = _back(incident_id, form, event_id)
        try:
            done = await edit(workspace.editor, incident_id, event_id, viewer.user_id, form)
        except TimelineEditError as exc:
            return redirect_with(workspace, back, await as_text(workspace, str(exc)), "refused")
        except StorageError as exc:
            log.error("timeline edit from the web failed: database unavailable", error=str(exc), incident=incident_id)
            return redirect_with(workspace, back, DATABASE_DOWN, "refused")
        log.info("timeline edited from the web", incident=incident_id, event_id=event_id,
                 user=viewer.user_id)
        return redirect_with(workspace, back, done)

    return handle


async def _mark(editor: TimelineEditor, incident_id: int, event_id: int, user: str, form: dict[str, str]) -> str:
    return await editor.mark(incident_id, event_id, _field(form, "moment", 40), actor=user, source="web",
                             reason=_field(form, "reason"))


async def _unmark(editor: TimelineEditor, incident_id: int, event_id: int, user: str, form: dict[str, str]) -> str:
    return await editor.unmark(incident_id, event_id, _field(form, "moment", 40), actor=user, source="web",
                               reason=_field(form, "reason"))


async def _hide(editor: TimelineEditor, incident_id: int, event_id: int, user: str, form: dict[str, str]) -> str:
    return await editor.hide(incident_id, event_id, actor=user, source="web", reason=_field(form, "reason"))


async def _show(editor: TimelineEditor, incident_id: int, event_id: int, user: str, form: dict[str, str]) -> str:
    return await editor.show(incident_id, event_id, actor=user, source="web", reason=_field(form, "reason"))


def _correct(workspace: Workspace) -> Edit:
    async def correct(editor: TimelineEditor, incident_id: int, event_id: int, user: str,
                      form: dict[str, str]) -> str:
        found = await editor.entry(incident_id, event_id)
        if found is None:
            raise TimelineEditError(GONE)
        event, edits = found
        when = parse_input_time(_field(form, "time", 40))
        if when is None:
            raise TimelineEditError(TIME_HELP, "time")
        names = await workspace.people.names(people_in([event], edits))
        text, new_time = correction(current_text(event, edits, names), edits.time_of(event),
                                    _field(form, "text", 5000), when)
        return await editor.correct(incident_id, event_id, actor=user, source="web", text=text,
                                    occurred_at=new_time, reason=_field(form, "reason"))
    return correct


mark = _handler(_mark)
unmark = _handler(_unmark)
hide = _handler(_hide)
show = _handler(_show)


async def correct(request: web.Request) -> web.StreamResponse:
    return await _handler(_correct(request.app[WORKSPACE]))(request)
