"""Bot-token scopes per emulated method, for workspaces whose app lacks some of them.

An app installed without a scope a method needs gets ``missing_scope`` with ``needed``
(the scope) and ``provided`` (the scopes it has), as Slack answers. Scopes are those of
Slack's method reference for public channels; listing private channels also needs
``groups:read``. Methods that need no scope (auth.test, views.open, chat.getPermalink)
are not listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

METHOD_SCOPES: dict[str, str] = {
    "bookmarks.add": "bookmarks:write",
    "bookmarks.list": "bookmarks:read",
    "canvases.create": "canvases:write",
    "chat.postEphemeral": "chat:write",
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "conversations.archive": "channels:manage",
    "conversations.create": "channels:manage",
    "conversations.history": "channels:history",
    "conversations.info": "channels:read",
    "conversations.invite": "channels:manage",
    "conversations.join": "channels:join",
    "conversations.list": "channels:read",
    "conversations.open": "im:write",
    "conversations.members": "channels:read",
    "conversations.replies": "channels:history",
    "conversations.setPurpose": "channels:manage",
    "conversations.setTopic": "channels:manage",
    "files.completeUploadExternal": "files:write",
    "files.getUploadURLExternal": "files:write",
    "pins.add": "pins:write",
    "pins.list": "pins:read",
    "reactions.add": "reactions:write",
    "usergroups.users.list": "usergroups:read",
    "users.info": "users:read",
    "users.lookupByEmail": "users:read.email",
}
ALL_SCOPES = frozenset(METHOD_SCOPES.values()) | {"groups:read"}


def needed_scopes(method: str, args: Mapping[str, Any]) -> list[str]:
    """The scopes one call needs."""
    needed = [METHOD_SCOPES[method]] if method in METHOD_SCOPES else []
    if method == "conversations.list" and "private_channel" in str(args.get("types") or "").split(","):
        needed.append("groups:read")
    return needed


def missing_scope_body(method: str, args: Mapping[str, Any], revoked: set[str]) -> dict[str, Any] | None:
    """Slack's answer when the app lacks a scope this call needs; None when it has them all."""
    missing = [scope for scope in needed_scopes(method, args) if scope in revoked]
    if not missing:
        return None
    provided = ",".join(sorted(ALL_SCOPES - revoked))
    return {"ok": False, "error": "missing_scope", "needed": missing[0], "provided": provided}
