"""auth.test, users.*, usergroups.users.list, views.open and canvases.create."""

from __future__ import annotations

import json
import time
from typing import Any

from .args import Args
from .blocks import MAX_VIEW_BLOCKS, block_errors
from .errors import SlackError, invalid_arguments
from .registry import method
from .state import TRIGGER_LIFETIME, Workspace

CANVAS_MAX_BYTES = 1024 * 1024


@method("auth.test")
def auth_test(ws: Workspace, args: Args) -> dict[str, Any]:
    return {
        "url": f"https://{ws.team_domain}.slack.com/", "team": ws.team_name, "user": ws.bot_name,
        "team_id": ws.team_id, "user_id": ws.bot_user_id, "bot_id": ws.bot_id, "is_enterprise_install": False,
    }


@method("users.info")
def users_info(ws: Workspace, args: Args) -> dict[str, Any]:
    user = args.text("user")
    if user not in ws.users:
        raise SlackError("user_not_found")
    return {"user": ws.user_json(str(user))}


@method("users.lookupByEmail")
def users_lookup_by_email(ws: Workspace, args: Args) -> dict[str, Any]:
    email = (args.text("email") or "").lower()
    for user_id in ws.users:
        if user_id != ws.bot_user_id and ws.email_of(user_id).lower() == email:
            return {"user": ws.user_json(user_id)}
    raise SlackError("users_not_found")


@method("usergroups.users.list")
def usergroups_users_list(ws: Workspace, args: Args) -> dict[str, Any]:
    group = args.text("usergroup")
    if group not in ws.usergroups:
        raise SlackError("no_such_subteam")
    return {"users": list(ws.usergroups[str(group)])}


def _view_problems(view: Any) -> list[str]:
    if not isinstance(view, dict):
        return ["view must be a JSON object [json-pointer:/view]"]
    problems = []
    if view.get("type") not in ("modal", "home"):
        problems.append("must be modal or home [json-pointer:/view/type]")
    if view.get("type") == "modal":
        title = view.get("title")
        title_text = str(title.get("text", "")) if isinstance(title, dict) else ""
        if not isinstance(title, dict) or title.get("type") != "plain_text" or not 0 < len(title_text) <= 24:
            problems.append("must be plain_text of 1 to 24 characters [json-pointer:/view/title]")
        blocks = view.get("blocks", [])
        if any(isinstance(b, dict) and b.get("type") == "input" for b in blocks or []) and not view.get("submit"):
            problems.append("submit is required when there are input blocks [json-pointer:/view/submit]")
    if len(str(view.get("callback_id", ""))) > 255:
        problems.append("must be at most 255 characters [json-pointer:/view/callback_id]")
    if len(str(view.get("private_metadata", ""))) > 3000:
        problems.append("must be at most 3000 characters [json-pointer:/view/private_metadata]")
    return problems + block_errors(view.get("blocks"), max_blocks=MAX_VIEW_BLOCKS, root="/view/blocks")


@method("views.open")
def views_open(ws: Workspace, args: Args) -> dict[str, Any]:
    """Open a modal: the trigger must be known, unused and at most 3 seconds old."""
    trigger_id = args.text("trigger_id", required=True, error="invalid_trigger_id")
    trigger = ws.triggers.get(str(trigger_id))
    if trigger is None:
        raise SlackError("invalid_trigger_id")
    if trigger.used:
        raise SlackError("exchanged_trigger_id")
    if time.monotonic() - trigger.issued_at > TRIGGER_LIFETIME:
        raise SlackError("expired_trigger_id")
    view = args.get("view")
    problems = _view_problems(view)
    if problems:
        raise invalid_arguments(*problems)
    trigger.used = True
    opened = {
        **view, "id": ws.new_id("V"), "team_id": ws.team_id, "app_id": ws.app_id, "bot_id": ws.bot_id,
        "state": {"values": {}}, "hash": f"{int(time.time())}.{len(ws.views):08d}",
        "private_metadata": view.get("private_metadata", ""), "callback_id": view.get("callback_id", ""),
    }
    ws.views.append(opened)
    return {"view": opened}


@method("canvases.create")
def canvases_create(ws: Workspace, args: Args) -> dict[str, Any]:
    document = args.get("document_content")
    if document is not None:
        if not isinstance(document, dict) or document.get("type") != "markdown":
            raise invalid_arguments('document_content must be {"type": "markdown", "markdown": ...}')
        if len(json.dumps(document).encode()) > CANVAS_MAX_BYTES:
            raise SlackError("canvas_creation_failed")
    channel_id = args.text("channel_id")
    if channel_id is not None:
        ws.require_member(ws.visible_channel(channel_id))
    canvas_id = ws.new_id("F")
    ws.canvases[canvas_id] = {"title": args.text("title") or "", "document_content": document, "channel_id": channel_id}
    return {"canvas_id": canvas_id}
