"""Slack listeners for editing the timeline that ``/incident timeline`` lists: each entry's
menu (mark or unmark a key moment, or open the form) and the form's submission, all
through :class:`bot.incident.timeline_editor.TimelineEditor`."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.bolt.listeners import DATABASE_DOWN, open_view
from bot.incident.timeline_editor import TimelineEditError, TimelineEditor
from bot.slack.gateway import SlackGateway
from bot.slack.timeline_listing import (
    EDIT_VIEW,
    ENTRY_ACTION,
    correction,
    current_text,
    edit_view,
    parse_choice,
    parse_utc_time,
)
from storage.errors import StorageError

log = structlog.get_logger(__name__)
GONE = "That entry is no longer on the timeline; type `/incident timeline` to list it again."


def register_timeline(bolt: AsyncApp, editor: TimelineEditor, gateway: SlackGateway) -> None:
    async def entry_chosen(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user = body["user"]["id"]
        selected = (body["actions"][0].get("selected_option") or {}).get("value", "")
        choice = parse_choice(str(selected))
        if choice is None:
            await respond(text=GONE, response_type="ephemeral", replace_original=False)
            return
        try:
            if choice.action == "edit":
                found = await editor.entry(choice.incident_id, choice.event_id)
                if found is None:
                    text = GONE
                else:
                    problem = await open_view(gateway, body["trigger_id"], edit_view(choice.incident_id, *found))
                    if problem is None:
                        return
                    text = f"Slack did not open the form ({problem}). Try again."
            elif choice.action == "mark":
                text = await editor.mark(choice.incident_id, choice.event_id, choice.moment, actor=user,
                                         source="slack")
            else:
                text = await editor.unmark(choice.incident_id, choice.event_id, choice.moment, actor=user,
                                           source="slack")
        except TimelineEditError as exc:
            text = str(exc)
        except StorageError as exc:
            log.error("timeline edit failed: database unavailable", error=str(exc), incident=choice.incident_id)
            text = DATABASE_DOWN
        await respond(text=text, response_type="ephemeral", replace_original=False)

    async def edit_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        incident_id, _, event_id = str(view.get("private_metadata", "")).partition(":")
        if not (incident_id.isdigit() and event_id.isdigit()):
            await ack(response_action="errors", errors={"text": GONE})
            return
        values = view["state"]["values"]
        text = str(values["text"]["text"].get("value") or "")
        when = parse_utc_time(str(values["time"]["time"].get("value") or ""))
        hide = bool(values.get("hidden", {}).get("hidden", {}).get("selected_options"))
        reason = str(values.get("reason", {}).get("reason", {}).get("value") or "")
        if when is None:
            await ack(response_action="errors", errors={"time": "Give the time as YYYY-MM-DD HH:MM:SS, in UTC."})
            return
        problem = await _save(editor, int(incident_id), int(event_id), body["user"]["id"], text, when, hide, reason)
        if problem is None:
            await ack()
        else:
            await ack(response_action="errors", errors={problem[0]: problem[1]})

    bolt.action(re.compile(rf"^{ENTRY_ACTION}:\d+$"))(entry_chosen)
    bolt.view(EDIT_VIEW)(edit_submitted)


async def _save(editor: TimelineEditor, incident_id: int, event_id: int, user: str, text: str, when: datetime,
                hide: bool, reason: str) -> tuple[str, str] | None:
    """Make the changes the form asks for; None when done, else (block, what is wrong)."""
    try:
        found = await editor.entry(incident_id, event_id)
        if found is None:
            return "text", GONE
        event, edits = found
        new_text, new_time = correction(current_text(event, edits), edits.time_of(event), text, when)
        if new_text is None and new_time is None and hide == edits.hidden(event_id):
            return "text", "Nothing changed."
        if new_text is not None or new_time is not None:
            await editor.correct(incident_id, event_id, actor=user, source="slack", text=new_text,
                                 occurred_at=new_time, reason=reason)
        if hide != edits.hidden(event_id):
            change = editor.hide if hide else editor.show
            await change(incident_id, event_id, actor=user, source="slack", reason=reason)
    except TimelineEditError as exc:
        return exc.field or "text", str(exc)
    except StorageError as exc:
        log.error("timeline edit failed: database unavailable", error=str(exc), incident=incident_id)
        return "text", DATABASE_DOWN
    return None
