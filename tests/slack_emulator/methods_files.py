"""The files v2 upload flow: getUploadURLExternal, a POST to the upload URL, completeUploadExternal."""

from __future__ import annotations

import time
from typing import Any

from .args import Args
from .errors import SlackError, invalid_arguments
from .methods_chat import Content, check_blocks, post
from .registry import method
from .state import File, Workspace

CHANNELS_MAX = 100


@method("files.getUploadURLExternal")
def get_upload_url(ws: Workspace, args: Args) -> dict[str, Any]:
    filename = args.text("filename", required=True)
    if "length" not in args:
        raise invalid_arguments("missing required field: length")
    length = args.integer("length", 0)
    if length <= 0:
        raise SlackError("missing_argument")
    alt_txt = args.text("alt_txt")
    if alt_txt is not None and len(alt_txt) > 1000:
        raise SlackError("alt_txt_too_large")
    f = File(id=ws.new_id("F"), name=str(filename), length=length, created=int(time.time()))
    ws.files[f.id] = f
    return {"upload_url": f"{ws.base_url}upload/{f.id}", "file_id": f.id}


def receive_upload(ws: Workspace, file_id: str, data: bytes) -> bool:
    """Store the bytes POSTed to an upload URL; False for an unknown file id."""
    f = ws.files.get(file_id)
    if f is None:
        return False
    f.content = data
    return True


@method("files.completeUploadExternal")
def complete_upload(ws: Workspace, args: Args) -> dict[str, Any]:
    """Finish uploads and share them to ``channel_id``/``channels`` in one message each.

    Slack shares asynchronously; here the message exists when the call returns.
    """
    entries = args.get("files")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) and e.get("id") for e in entries):
        raise invalid_arguments('files must be a JSON list of {"id", "title"}')
    files = []
    for entry in entries:
        f = ws.files.get(str(entry["id"]))
        if f is None or f.content is None:
            raise SlackError("file_not_found")
        files.append((f, entry.get("title")))
    targets = args.id_list("channels") or ([args.text("channel_id")] if "channel_id" in args else [])
    if len(targets) > CHANNELS_MAX:
        raise SlackError("channels_limit_exceeded")
    channels = [ws.visible_channel(cid) for cid in targets]
    for channel in channels:
        ws.require_active(channel)
        ws.require_member(channel)
    thread_ts = args.text("thread_ts")
    if thread_ts is not None and any(channel.message(thread_ts) is None for channel in channels):
        raise SlackError("thread_not_found")
    comment = args.text("initial_comment")
    blocks = None if comment else check_blocks(args.get("blocks"))
    for f, title in files:
        f.title = str(title) if title else f.name
        f.shared_to.extend(channel.id for channel in channels)
    for channel in channels:
        post(ws, channel, user=ws.bot_user_id, content=Content(comment, blocks, None, None, []),
             thread_ts=thread_ts, files=[ws.file_json(f) for f, _ in files])
    return {"files": [ws.file_json(f) for f, _ in files]}
