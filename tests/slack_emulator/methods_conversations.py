"""conversations.* methods."""

from __future__ import annotations

import re
import time
from typing import Any

from .args import Args
from .errors import SlackError, invalid_arguments
from .registry import method, paginate
from .state import TS_PATTERN, Workspace

NAME_MAX = 80
TOPIC_MAX = 250
INVITE_MAX = 100
_NAME_CHARS = re.compile(r"^[a-z0-9_-]+$")
_CHANNEL_TYPES = frozenset({"public_channel", "private_channel", "mpim", "im"})


def check_channel_name(name: str | None) -> str:
    """The name if Slack would accept it for a new channel, else the Slack error."""
    if not name:
        raise SlackError("invalid_name_required")
    if len(name) > NAME_MAX:
        raise SlackError("invalid_name_maxlength")
    if not _NAME_CHARS.match(name):
        raise SlackError("invalid_name_specials")
    if not name.strip("-_"):
        raise SlackError("invalid_name_punctuation")
    return name


@method("conversations.create")
def create(ws: Workspace, args: Args) -> dict[str, Any]:
    name = check_channel_name(args.text("name"))
    if ws.channel_named(name) is not None:
        raise SlackError("name_taken")
    channel = ws.add_channel(name, creator=ws.bot_user_id, is_private=args.flag("is_private"), members={ws.bot_user_id})
    return {"channel": ws.channel_json(channel)}


@method("conversations.info")
def info(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.visible_channel(args.text("channel"))
    return {"channel": ws.channel_json(channel, num_members=args.flag("include_num_members"))}


@method("conversations.list")
def list_(ws: Workspace, args: Args) -> dict[str, Any]:
    types = set(args.id_list("types")) or {"public_channel"}
    if not types <= _CHANNEL_TYPES:
        raise SlackError("invalid_types")
    exclude_archived = args.flag("exclude_archived")
    channels = [
        c for c in ws.channels.values()
        if ("im" if c.is_im else "private_channel" if c.is_private else "public_channel") in types
        and (not c.is_private or ws.bot_user_id in c.members)
        and not (exclude_archived and c.is_archived)
    ]
    page, cursor = paginate(channels, args, default=100, maximum=1000)
    return {"channels": [ws.channel_json(c) for c in page], "response_metadata": {"next_cursor": cursor}}


def _set_text(ws: Workspace, args: Args, field: str) -> dict[str, Any]:
    channel = ws.visible_channel(args.text("channel"))
    ws.require_active(channel)
    ws.require_member(channel)
    value = args.text(field) or ""
    if len(value) > TOPIC_MAX:
        raise SlackError("too_long")
    setattr(channel, field, {"value": value, "creator": ws.bot_user_id, "last_set": int(time.time())})
    return {"channel": ws.channel_json(channel)}


@method("conversations.setTopic")
def set_topic(ws: Workspace, args: Args) -> dict[str, Any]:
    return _set_text(ws, args, "topic")


@method("conversations.setPurpose")
def set_purpose(ws: Workspace, args: Args) -> dict[str, Any]:
    return _set_text(ws, args, "purpose")


@method("conversations.invite")
def invite(ws: Workspace, args: Args) -> dict[str, Any]:
    """Invite users; without ``force`` one bad user fails the whole call and invites nobody.

    The error is the first failure's code and ``errors`` lists every failure as
    ``{"user", "ok": false, "error"}``. With ``force=true`` the valid users are invited
    and the call succeeds, still listing the failures in ``errors``.
    """
    channel = ws.visible_channel(args.text("channel"))
    ws.require_active(channel)
    ws.require_member(channel)
    users = list(dict.fromkeys(args.id_list("users")))
    if not users:
        raise SlackError("no_user")
    if len(users) > INVITE_MAX:
        raise SlackError("too_many_users")
    failures = []
    for user in users:
        error = (
            "cant_invite_self" if user == ws.bot_user_id
            else "user_not_found" if user not in ws.users
            else "already_in_channel" if user in channel.members
            else None
        )
        if error:
            failures.append({"user": user, "ok": False, "error": error})
    if failures and not args.flag("force"):
        raise SlackError(failures[0]["error"], errors=failures)
    failed = {f["user"] for f in failures}
    channel.members.update(u for u in users if u not in failed)
    body: dict[str, Any] = {"channel": ws.channel_json(channel)}
    if failures:
        body["errors"] = failures
    return body


@method("conversations.members")
def members(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.visible_channel(args.text("channel"))
    page, cursor = paginate(sorted(channel.members), args, default=100, maximum=1000)
    return {"members": page, "response_metadata": {"next_cursor": cursor}}


@method("conversations.archive")
def archive(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.visible_channel(args.text("channel"))
    if channel.is_archived:
        raise SlackError("already_archived")
    if channel.is_general:
        raise SlackError("cant_archive_general")
    ws.require_member(channel)
    channel.is_archived = True
    return {}


@method("conversations.join")
def join(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.visible_channel(args.text("channel"))
    if channel.is_private:
        raise SlackError("method_not_supported_for_channel_type")
    ws.require_active(channel)
    body: dict[str, Any] = {}
    if ws.bot_user_id in channel.members:
        body = {"warning": "already_in_channel", "response_metadata": {"warnings": ["already_in_channel"]}}
    channel.members.add(ws.bot_user_id)
    return {"channel": ws.channel_json(channel), **body}


def _bound(args: Args, name: str, default: float) -> float:
    value = args.text(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise SlackError(f"invalid_ts_{name}") from exc


@method("conversations.open")
def open_(ws: Workspace, args: Args) -> dict[str, Any]:
    """A direct message with one user (a group DM with several is not emulated)."""
    users = args.id_list("users")
    if args.text("channel") is not None:
        raise invalid_arguments("only users= is emulated")
    if not users:
        raise SlackError("users_list_not_supplied")
    if len(users) > 1:
        raise invalid_arguments("group direct messages are not emulated")
    user = users[0]
    if user not in ws.users or user == ws.bot_user_id:
        raise SlackError("user_not_found")
    if user in ws.deactivated:
        raise SlackError("user_disabled")
    channel = ws.direct_channel(user)
    if args.flag("return_im"):
        return {"channel": ws.channel_json(channel)}
    return {"channel": {"id": channel.id}}


@method("conversations.history")
def history(ws: Workspace, args: Args) -> dict[str, Any]:
    """Top-level messages (and thread broadcasts), newest first; metadata only when asked for."""
    channel = ws.visible_channel(args.text("channel"))
    ws.require_member(channel)
    oldest, latest = _bound(args, "oldest", 0.0), _bound(args, "latest", float("inf"))
    inclusive = args.flag("inclusive")

    def in_range(ts: str) -> bool:
        value = float(ts)
        if inclusive:
            return oldest <= value <= latest
        return oldest < value < latest

    selected = [m for m in reversed(channel.messages) if (not m.is_reply or m.reply_broadcast) and in_range(m.ts)]
    page, cursor = paginate(selected, args, default=100, maximum=999)
    metadata = args.flag("include_all_metadata")
    return {
        "messages": [ws.message_json(channel, m, metadata=metadata) for m in page],
        "has_more": bool(cursor),
        "pin_count": len(channel.pins),
        "response_metadata": {"next_cursor": cursor},
    }


@method("conversations.replies")
def replies(ws: Workspace, args: Args) -> dict[str, Any]:
    """A thread, parent first then replies oldest first."""
    channel = ws.visible_channel(args.text("channel"))
    ws.require_member(channel)
    ts = args.text("ts") or ""
    if not TS_PATTERN.match(ts) or channel.message(ts) is None:
        raise SlackError("thread_not_found")
    thread = [m for m in channel.messages if ts in (m.ts, m.thread_ts)]
    page, cursor = paginate(thread, args, default=100, maximum=1000)
    metadata = args.flag("include_all_metadata")
    return {
        "messages": [ws.message_json(channel, m, metadata=metadata) for m in page],
        "has_more": bool(cursor),
        "response_metadata": {"next_cursor": cursor},
    }
