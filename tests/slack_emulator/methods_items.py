"""Things attached to channels and messages: pins, bookmarks and reactions."""

from __future__ import annotations

import re
import time
from typing import Any

from .args import Args
from .errors import SlackError
from .registry import method
from .state import Bookmark, Pin, Workspace

PINS_MAX = 100
BOOKMARKS_MAX = 100
_LINK = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_EMOJI_NAME = re.compile(r"^[a-z0-9_+'-]{1,100}(::skin-tone-[2-6])?$")


@method("pins.add")
def pins_add(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.visible_channel(args.text("channel"))
    message = ws.message_at(channel, args.text("timestamp"), missing="no_item_specified")
    ws.require_member(channel)
    if any(p.ts == message.ts for p in channel.pins):
        raise SlackError("already_pinned")
    if len(channel.pins) >= PINS_MAX:
        raise SlackError("too_many_pins")
    channel.pins.append(Pin(ts=message.ts, created=int(time.time()), created_by=ws.bot_user_id))
    return {}


@method("pins.list")
def pins_list(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.visible_channel(args.text("channel"))
    items = []
    for pin in reversed(channel.pins):
        message = channel.message(pin.ts)
        if message is not None:
            items.append({
                "type": "message", "created": pin.created, "created_by": pin.created_by, "channel": channel.id,
                "message": ws.message_json(channel, message, metadata=False),
            })
    return {"items": items}


@method("bookmarks.add")
def bookmarks_add(ws: Workspace, args: Args) -> dict[str, Any]:
    """Add a link bookmark. ``not_in_channel``/``is_archived`` here are this emulator's guess."""
    channel = ws.visible_channel(args.text("channel_id"))
    title = args.text("title", required=True)
    if args.text("type") != "link":
        raise SlackError("invalid_bookmark_type")
    link = args.text("link") or ""
    if not _LINK.match(link):
        raise SlackError("invalid_link")
    emoji = args.text("emoji")
    if emoji is not None and not re.match(r"^:[a-z0-9_+'-]+:$", emoji):
        raise SlackError("invalid_emoji")
    ws.require_active(channel)
    ws.require_member(channel)
    if len(channel.bookmarks) >= BOOKMARKS_MAX:
        raise SlackError("too_many_bookmarks")
    bookmark = Bookmark(
        id=ws.new_id("Bk"), channel_id=channel.id, title=str(title), link=link, type="link", emoji=emoji,
        created=int(time.time()), created_by=ws.bot_user_id,
    )
    channel.bookmarks.append(bookmark)
    return {"bookmark": bookmark.to_api(ws.team_id)}


@method("bookmarks.list")
def bookmarks_list(ws: Workspace, args: Args) -> dict[str, Any]:
    channel = ws.visible_channel(args.text("channel_id"))
    return {"bookmarks": [b.to_api(ws.team_id) for b in channel.bookmarks]}


@method("reactions.add")
def reactions_add(ws: Workspace, args: Args) -> dict[str, Any]:
    """React as the bot. Names are emoji short names without colons (``eyes``, ``+1``)."""
    channel = ws.visible_channel(args.text("channel"))
    message = ws.message_at(channel, args.text("timestamp"), missing="no_item_specified")
    ws.require_active(channel)
    name = args.text("name", required=True, error="invalid_name") or ""
    if not _EMOJI_NAME.match(name):
        raise SlackError("invalid_name")
    users = message.reactions.setdefault(name, [])
    if ws.bot_user_id in users:
        raise SlackError("already_reacted")
    users.append(ws.bot_user_id)
    return {}
