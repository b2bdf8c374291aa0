"""The message shortcut ``followup_from_message``: a form prefilled from the message, whose
submission adds a follow-up to the incident of that channel."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.domain.followup_grammar import MAX_TEXT
from bot.incident.followup_desk import FollowUpDesk
from bot.slack.blocks import link
from bot.slack.gateway import SlackError, SlackGateway
from storage.errors import StorageError

log = structlog.get_logger(__name__)
SHORTCUT = "followup_from_message"
VIEW = "followup_from_message"
NOT_HERE = ("Follow-ups belong to an incident: use *Add follow-up* on a message in an incident channel "
            "(or type `{command} followup &lt;text&gt;` there).")
DATABASE_DOWN = "incident-bot cannot reach its database right now; nothing was added. Try again in a moment."

OpenView = Callable[[SlackGateway, str, dict[str, Any]], Awaitable[str | None]]


def register_followup_shortcut(bolt: AsyncApp, desk: FollowUpDesk, gateway: SlackGateway, slash_command: str,
                               open_view: OpenView) -> None:
    async def shortcut(ack: AsyncAck, shortcut: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        channel = str((shortcut.get("channel") or {}).get("id", ""))
        message = shortcut.get("message") or {}
        try:
            incident = await desk.incident_for_channel(channel)
        except StorageError as exc:
            log.error("follow-up shortcut: database unavailable", error=str(exc))
            await respond(text=DATABASE_DOWN, response_type="ephemeral", replace_original=False)
            return
        if incident is None:
            await respond(text=NOT_HERE.format(command=slash_command), response_type="ephemeral",
                          replace_original=False)
            return
        ts = str(shortcut.get("message_ts") or message.get("ts") or "")
        try:
            permalink = str((await gateway.call("chat.getPermalink", channel=channel, message_ts=ts))["permalink"])
        except (SlackError, KeyError) as exc:
            log.warning("no permalink for the follow-up's message", incident_id=incident.id, error=str(exc))
            permalink = ""
        view = followup_view(incident.id, str(message.get("text", "")), permalink)
        problem = await open_view(gateway, str(shortcut["trigger_id"]), view)
        if problem is not None:
            await respond(text=f"Slack did not open the follow-up form ({problem}). Try again, or type "
                               f"`{slash_command} followup &lt;text&gt;`.", response_type="ephemeral", replace_original=False)

    async def submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        text = str((values.get("text", {}).get("text", {}) or {}).get("value") or "").strip()
        owner = (values.get("owner", {}).get("owner", {}) or {}).get("selected_user") or None
        picked = (values.get("due", {}).get("due", {}) or {}).get("selected_date")
        if not text:
            await ack(response_action="errors", errors={"text": "Write what needs doing."})
            return
        try:
            due_at = desk.due_from_date(date.fromisoformat(picked) if picked else None)
        except ValueError as exc:
            await ack(response_action="errors", errors={"due": f"{exc}. Pick today or a later day."})
            return
        problem = await desk.owner_problem(str(owner)) if owner else None
        if problem is not None:
            await ack(response_action="errors", errors={"owner": "Pick a person of this workspace."})
            return
        metadata = json.loads(view.get("private_metadata") or "{}")
        await ack()
        try:
            await desk.add_from_message(int(metadata["incident"]), body["user"]["id"], text[:MAX_TEXT],
                                        str(owner) if owner else None, due_at, metadata.get("link") or None)
        except StorageError as exc:
            log.error("follow-up from a message not added: database unavailable", error=str(exc),
                      incident_id=metadata.get("incident"))

    bolt.shortcut(SHORTCUT)(shortcut)
    bolt.view(VIEW)(submitted)


def followup_view(incident_id: int, text: str, permalink: str) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "text", "multiline": True,
                               "max_length": MAX_TEXT}
    if text.strip():
        element["initial_value"] = text.strip()[:MAX_TEXT]
    blocks: list[dict[str, Any]] = [
        {"type": "input", "block_id": "text", "label": {"type": "plain_text", "text": "What needs doing"},
         "element": element},
    ]
    if permalink:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"From {link(permalink, 'this message')} in incident #{incident_id}"}]})
    blocks += [
        {"type": "input", "block_id": "owner", "optional": True, "label": {"type": "plain_text", "text": "Owner"},
         "element": {"type": "users_select", "action_id": "owner",
                     "placeholder": {"type": "plain_text", "text": "Who will do it"}}},
        {"type": "input", "block_id": "due", "optional": True, "label": {"type": "plain_text", "text": "Due date"},
         "hint": {"type": "plain_text", "text": "Due at the end of that day, UTC."},
         "element": {"type": "datepicker", "action_id": "due"}},
    ]
    return {
        "type": "modal", "callback_id": VIEW, "title": {"type": "plain_text", "text": "Add a follow-up"},
        "submit": {"type": "plain_text", "text": "Add"}, "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"incident": incident_id, "link": permalink}), "blocks": blocks,
    }
