"""Slack listeners: every slash command, button, modal and event the bot handles.

Each handler acknowledges within Slack's 3 seconds: quick work answers in the ack
itself; slower work acknowledges first and answers through ``respond`` afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.bolt.followup_shortcut import register_followup_shortcut
from bot.domain import commands as p
from bot.incident.capture import TimelineCapture
from bot.incident.command_service import CommandService, Context, Reply
from bot.slack import blocks
from bot.slack.gateway import SlackError, SlackGateway, SlackRateLimited, SlackTransientError
from storage.errors import StorageError

log = structlog.get_logger(__name__)
ACK_BUDGET = 2.0  # seconds of Slack's 3 spent working before acknowledging anyway
DATABASE_DOWN = "incident-bot cannot reach its database right now; nothing changed. Try again in a moment."
DECLARE_VIEW = "incident_declare"
UPDATE_VIEW = "incident_update"

ButtonHandler = Callable[[AsyncAck, dict[str, Any], AsyncRespond], Awaitable[None]]


async def _run(service: CommandService, command: p.Command, ctx: Context) -> Reply:
    try:
        return await service.execute(command, ctx)
    except StorageError as exc:
        log.error("command failed: database unavailable", error=str(exc), user=ctx.user)
        return Reply(DATABASE_DOWN)


async def open_view(gateway: SlackGateway, trigger_id: str, view: dict[str, Any]) -> str | None:
    """Open a modal through the gateway; None once it is open, else why not. A trigger id
    lives 3 seconds, so a transient failure is retried once, at once, and no later."""
    problem = ""
    for _attempt in (1, 2):
        try:
            await gateway.call("views.open", trigger_id=trigger_id, view=view)
            return None
        except SlackError as exc:
            problem = exc.error
            if not isinstance(exc, SlackTransientError) or isinstance(exc, SlackRateLimited):
                break
    log.warning("Slack did not open a modal", callback_id=view.get("callback_id"), error=problem)
    return problem


def register(bolt: AsyncApp, service: CommandService, capture: TimelineCapture, slash_command: str,
             gateway: SlackGateway) -> None:
    async def handle_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        text = str(command.get("text", ""))
        ctx = Context(user=command["user_id"], channel=command["channel_id"], text=f"{slash_command} {text}".strip())
        if text.strip().lower() == "declare":
            problem = await open_view(gateway, command["trigger_id"], _declare_view(service.severities()))
            if problem is None:
                await ack()
            else:
                await ack(text=f"Slack did not open the declare form ({problem}). Try again, or use "
                               f"`{slash_command} declare &lt;title&gt; [severity]`.", response_type="ephemeral")
            return
        try:
            parsed = p.parse_command(text, service.severities(), slash_command)
        except p.CommandError as exc:
            await ack(text=str(exc), response_type="ephemeral")
            return
        work = asyncio.ensure_future(_run(service, parsed, ctx))
        try:
            reply = await asyncio.wait_for(asyncio.shield(work), ACK_BUDGET)
        except TimeoutError:
            await ack(text="Working on it…", response_type="ephemeral")
            reply = await work
            await respond(text=reply.text, response_type="ephemeral", blocks=reply.extra.get("blocks"))
            return
        await ack(text=reply.text, response_type="ephemeral", blocks=reply.extra.get("blocks"))

    bolt.command(slash_command)(handle_command)

    def button(make: Callable[[str], p.Command | str]) -> ButtonHandler:
        async def handle(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
            await ack()
            user, channel = body["user"]["id"], (body.get("channel") or {}).get("id", "")
            action = body["actions"][0]
            ctx = Context(user=user, channel=channel, source="button", text=action["action_id"])
            command = make(user)
            if command == "update-modal":
                draft = await service.draft_update(channel)
                problem = await open_view(gateway, body["trigger_id"], _update_view(channel, draft))
                if problem is not None:
                    await respond(text=f"Slack did not open the update form ({problem}). Try again.",
                                  response_type="ephemeral", replace_original=False)
                return
            if command == "declare-group":
                reply = await service.declare_group(int(action["value"]), ctx)
            else:
                assert not isinstance(command, str), f"no button does {command!r}"
                reply = await _run(service, command, ctx)
            if reply.text and not reply.changed:
                await respond(text=reply.text, response_type="ephemeral", replace_original=False)
        return handle

    bolt.action(blocks.ACTION_ACK)(button(lambda user: p.Acknowledge()))
    bolt.action(blocks.ACTION_TAKE_COMMAND)(button(p.SetCommander))
    bolt.action(blocks.ACTION_RAISE_SEVERITY)(button(lambda user: p.RaiseSeverity()))
    bolt.action(blocks.ACTION_RESOLVE)(button(lambda user: p.Resolve("")))
    bolt.action(blocks.ACTION_POST_UPDATE)(button(lambda user: "update-modal"))
    bolt.action(blocks.ACTION_DECLARE)(button(lambda user: "declare-group"))

    async def page_opened(ack: AsyncAck) -> None:
        await ack()  # Slack opened the link; it still wants the click acknowledged

    bolt.action(blocks.ACTION_OPEN_PAGE)(page_opened)

    async def declare_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        title = str(values["title"]["title"]["value"] or "").strip()
        if not title:
            await ack(response_action="errors", errors={"title": "Give the incident a title."})
            return
        await ack()
        selected = (values.get("severity", {}).get("severity", {}).get("selected_option") or {}).get("value")
        ctx = Context(user=body["user"]["id"], channel="", source="modal", text="declare (modal)")
        await _run(service, p.Declare(blocks.escape(title)[:150], selected), ctx)

    async def update_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        text = str(view["state"]["values"]["update"]["update"]["value"] or "").strip()
        if not text:
            await ack(response_action="errors", errors={"update": "Write the update."})
            return
        await ack()
        ctx = Context(user=body["user"]["id"], channel=view.get("private_metadata", ""), source="modal",
                      text="update (modal)")
        await _run(service, p.PostUpdate(blocks.escape(text)), ctx)

    bolt.view(DECLARE_VIEW)(declare_submitted)
    bolt.view(UPDATE_VIEW)(update_submitted)
    register_followup_shortcut(bolt, service.followups, gateway, slash_command, open_view)

    async def reaction_added(body: dict[str, Any], event: dict[str, Any]) -> None:
        await capture.reaction(str(body.get("event_id")), event, added=True)

    async def reaction_removed(body: dict[str, Any], event: dict[str, Any]) -> None:
        await capture.reaction(str(body.get("event_id")), event, added=False)

    async def member_joined(body: dict[str, Any], event: dict[str, Any]) -> None:
        await capture.member_joined(str(body.get("event_id")), event)

    async def ignore(body: dict[str, Any]) -> None:
        return None

    bolt.event("reaction_added")(reaction_added)
    bolt.event("reaction_removed")(reaction_removed)
    bolt.event("member_joined_channel")(member_joined)
    bolt.event("message")(ignore)


def _declare_view(severities: tuple[str, ...]) -> dict[str, Any]:
    options = [{"text": {"type": "plain_text", "text": s.upper()}, "value": s} for s in severities]
    return {
        "type": "modal", "callback_id": DECLARE_VIEW,
        "title": {"type": "plain_text", "text": "Declare an incident"},
        "submit": {"type": "plain_text", "text": "Declare"},
        "blocks": [
            {"type": "input", "block_id": "title", "label": {"type": "plain_text", "text": "Title"},
             "element": {"type": "plain_text_input", "action_id": "title", "max_length": 150}},
            {"type": "input", "block_id": "severity", "label": {"type": "plain_text", "text": "Severity"},
             "element": {"type": "static_select", "action_id": "severity", "options": options,
                         "initial_option": options[-1]}},
        ],
    }


def _update_view(channel: str, draft: str) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "update", "multiline": True}
    if draft:
        element["initial_value"] = draft[:3000]
    return {
        "type": "modal", "callback_id": UPDATE_VIEW, "private_metadata": channel,
        "title": {"type": "plain_text", "text": "Post an update"},
        "submit": {"type": "plain_text", "text": "Post"},
        "blocks": [{"type": "input", "block_id": "update", "label": {"type": "plain_text", "text": "Update"},
                    "element": element}],
    }
