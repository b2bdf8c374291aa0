"""chat.* methods and the message content rules they share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .args import Args
from .blocks import block_errors
from .errors import SlackError
from .registry import method
from .state import TS_PATTERN, Channel, Ephemeral, Message, Workspace

TEXT_MAX = 40_000
_MISSING_TEXT_WARNING = "missing_text_or_fallback_or_attachments"


@dataclass
class Content:
    """Validated message content; ``None`` fields were not given."""

    text: str | None
    blocks: list[dict[str, Any]] | None
    attachments: list[dict[str, Any]] | None
    metadata: dict[str, Any] | None
    warnings: list[str]


def check_blocks(blocks: Any, *, max_blocks: int = 50) -> list[dict[str, Any]] | None:
    """``blocks`` if Block Kit would accept them, else ``invalid_blocks(_format)`` with Slack's ``errors``."""
    if blocks is None:
        return None
    if isinstance(blocks, str):
        raise SlackError("invalid_blocks_format")
    errors = block_errors(blocks, max_blocks=max_blocks)
    if errors:
        messages = [f"[ERROR] {e}" for e in errors]
        raise SlackError("invalid_blocks", errors=errors, response_metadata={"messages": messages})
    return list(blocks)


def check_metadata(metadata: Any) -> dict[str, Any] | None:
    """Message metadata needs a string ``event_type`` and an object ``event_payload``."""
    if metadata is None or metadata == "":
        return None
    if not isinstance(metadata, dict):
        raise SlackError("invalid_metadata_format")
    if not isinstance(metadata.get("event_type"), str) or not metadata["event_type"]:
        raise SlackError("invalid_metadata_schema")
    if not isinstance(metadata.get("event_payload"), dict):
        raise SlackError("invalid_metadata_schema")
    return {"event_type": metadata["event_type"], "event_payload": metadata["event_payload"]}


def check_content(args: Args, *, require: bool = True) -> Content:
    """Text, blocks, attachments and metadata, checked in Slack's terms."""
    text = args.text("text")
    blocks = check_blocks(args.get("blocks"))
    attachments = args.get("attachments")
    if attachments is not None and not isinstance(attachments, list):
        raise SlackError("invalid_attachments")
    if require and not text and not blocks and not attachments:
        raise SlackError("no_text")
    if text is not None and len(text) > TEXT_MAX:
        raise SlackError("msg_too_long")
    warnings = [_MISSING_TEXT_WARNING] if blocks and not text else []
    return Content(text, blocks, attachments, check_metadata(args.get("metadata")), warnings)


def _with_warnings(body: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    if warnings:
        body["warning"] = ",".join(warnings)
        body["response_metadata"] = {"warnings": warnings}
    return body


def _thread_parent(channel: Channel, thread_ts: str | None) -> str | None:
    if thread_ts is None:
        return None
    parent = channel.message(thread_ts) if TS_PATTERN.match(thread_ts) else None
    if parent is None:
        # Slack's behaviour here is undocumented; failing keeps a bad thread_ts from passing silently.
        raise SlackError("thread_not_found")
    return parent.thread_ts or parent.ts


def post(ws: Workspace, channel: Channel, *, user: str, content: Content, thread_ts: str | None = None,
         broadcast: bool = False, files: list[dict[str, Any]] | None = None) -> Message:
    """Append a message to ``channel``; posts by the bot carry its bot_id."""
    is_bot = user == ws.bot_user_id
    message = Message(
        ts=ws.new_ts(), user=user, text=content.text or "", bot_id=ws.bot_id if is_bot else None,
        app_id=ws.app_id if is_bot else None, blocks=content.blocks, attachments=content.attachments,
        metadata=content.metadata, thread_ts=_thread_parent(channel, thread_ts), reply_broadcast=broadcast,
        files=files,
    )
    channel.messages.append(message)
    return message


def _writable_channel(ws: Workspace, args: Args, *, to_user: bool = False) -> Channel:
    ref = args.text("channel")
    if to_user and ref and ref[:1] in ("U", "W") and ref not in ws.channels:
        return ws.im_with(ref)  # a user id posts to the app's direct conversation with them
    channel = ws.visible_channel(ref, by_name=True)
    ws.require_active(channel)
    ws.require_member(channel)
    return channel


@method("chat.postMessage")
def post_message(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = _writable_channel(ws, args, to_user=True)
    content = check_content(args)
    message = post(ws, channel, user=ws.bot_user_id, content=content, thread_ts=args.text("thread_ts"),
                   broadcast=args.flag("reply_broadcast"))
    body = {"channel": channel.id, "ts": message.ts, "message": ws.message_json(channel, message, metadata=True)}
    return _with_warnings(body, content.warnings)


@method("chat.update")
def update(ws: Workspace, args: Args) -> dict[str, Any]:
    """Edit the bot's own message; omitted blocks and metadata are kept, as Slack does."""
    channel = ws.visible_channel(args.text("channel"))
    message = ws.message_at(channel, args.text("ts"))
    if message.user != ws.bot_user_id:
        raise SlackError("cant_update_message")
    content = check_content(args)
    if content.text is not None:
        message.text = content.text
    if content.blocks is not None or "blocks" in args.raw:
        message.blocks = content.blocks or None
    if content.attachments is not None:
        message.attachments = content.attachments
    if content.metadata is not None:
        message.metadata = content.metadata
    message.edited = {"user": ws.bot_user_id, "ts": ws.new_ts()}
    body = {"channel": channel.id, "ts": message.ts, "text": message.text,
            "message": ws.message_json(channel, message, metadata=True)}
    return _with_warnings(body, content.warnings)


@method("chat.postEphemeral")
def post_ephemeral(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = _writable_channel(ws, args)
    user = args.text("user", required=True)
    if user not in channel.members:
        raise SlackError("user_not_in_channel")
    content = check_content(args)
    ts = ws.new_ts()
    ws.ephemerals.append(Ephemeral(channel.id, str(user), content.text or "", content.blocks, ts))
    return _with_warnings({"message_ts": ts}, content.warnings)


@method("chat.getPermalink")
def get_permalink(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.visible_channel(args.text("channel"))
    message = ws.message_at(channel, args.text("message_ts"))
    link = f"https://{ws.team_domain}.slack.com/archives/{channel.id}/p{message.ts.replace('.', '')}"
    if message.is_reply:
        link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
    return {"channel": channel.id, "permalink": link}
