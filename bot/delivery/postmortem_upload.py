"""The postmortem draft as a file in the incident channel, rendered from the timeline as it
is when the action runs (Slack's external upload flow: getUploadURLExternal, upload,
completeUploadExternal, which ``files.upload_v2`` performs)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.delivery.incident_reads import IncidentReads
from bot.delivery.outcome import Done, MissingPrerequisite
from bot.delivery.posting import HISTORY_LOOKBACK
from bot.incident import drafts
from bot.playbook import PlaybookSet
from bot.slack.gateway import SlackGateway, SlackPermanentError
from storage.database import Database
from storage.outbox import ClaimedAction


class PostmortemUpload:
    def __init__(self, db: Database, reads: IncidentReads, gateway: SlackGateway,
                 playbooks: Callable[[], PlaybookSet], playbooks_dir: Path) -> None:
        self._db = db
        self._reads = reads
        self._slack = gateway
        self._playbooks = playbooks
        self._playbooks_dir = playbooks_dir

    async def __call__(self, action: ClaimedAction) -> Done:
        incident, channel = await self._reads.channel_only(action)
        name = drafts.filename(incident.id)
        title = f"{name} ({action.id})"  # the action id in the title lets a retry find an interrupted upload
        if action.attempts > 1:
            history = await self._slack.call("conversations.history", channel=channel, limit=HISTORY_LOOKBACK)
            for message in history.get("messages", []):
                if any(f.get("title") == title for f in message.get("files") or []):
                    return Done({"ts": message.get("ts"), "found": True})
        try:
            text = await drafts.postmortem_markdown(self._db, self._playbooks, self._playbooks_dir, incident.id)
        except drafts.PostmortemError as exc:
            raise SlackPermanentError(action.kind, str(exc)) from None
        if text is None:
            raise MissingPrerequisite(action.kind, f"incident {incident.id} no longer exists")
        result = await self._slack.call("files.upload_v2", channel=channel, content=text, filename=name, title=title,
                                        initial_comment="Postmortem draft, rendered from the incident timeline.")
        file_info = result.get("file") or {}
        return Done({"file_id": file_info.get("id")})
