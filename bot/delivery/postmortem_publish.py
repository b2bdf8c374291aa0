"""Publishing a postmortem: the final document (the latest version saved in the web
workspace's editor, or the draft when nobody saved one), read when it is sent, as a Slack
canvas tabbed in the incident channel, or, where the workspace allows no canvas, as the
Markdown file; then the announcement, and where it went recorded on the postmortem.

Slack offers no way to find a canvas by something the bot put in it, so the document is
recorded on the postmortem the moment it exists: a retry then announces it (once: the
announcement carries the action id) instead of creating another. Only a crash in the
instant between creating and recording it can leave a second one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.delivery.incident_reads import IncidentReads
from bot.delivery.outcome import Done, MissingPrerequisite
from bot.delivery.posting import Poster
from bot.incident import drafts
from bot.playbook import PlaybookSet
from bot.slack.gateway import SlackGateway, SlackPermanentError
from storage import postmortem_versions, postmortems
from storage.database import Database
from storage.outbox import ClaimedAction

# Canvas errors after which the Markdown file is the published document instead.
NO_CANVAS = frozenset({"missing_scope", "not_allowed_token_type", "canvas_disabled_user_team", "team_tier_cannot_create_canvases",
                       "free_teams_cannot_create_non_tabbed_canvases", "free_team_canvas_tab_already_exists",
                       "channel_canvas_already_exists", "canvas_creation_failed", "restricted_action"})


class PostmortemPublish:
    def __init__(self, db: Database, reads: IncidentReads, gateway: SlackGateway, poster: Poster,
                 playbooks: Callable[[], PlaybookSet], playbooks_dir: Path) -> None:
        self._db = db
        self._reads = reads
        self._slack = gateway
        self._poster = poster
        self._playbooks = playbooks
        self._playbooks_dir = playbooks_dir

    async def __call__(self, action: ClaimedAction) -> Done:
        incident, channel = await self._reads.channel_only(action)
        pending = await self._db.read(postmortems.get, incident.id)
        document: dict[str, object] = dict(pending.document) if pending is not None and pending.document else {}
        if not document:
            document = await self._publish(action, incident.id, incident.title, channel)
            await self._db.write(postmortems.record_document, incident.id, document, action.created_at)
        text = _announcement(incident.id, document, int(action.payload.get("open_followups", 0)))
        ts = await self._poster.post_once(action, channel, text)
        return Done({"ts": ts, **document})

    async def _document(self, action: ClaimedAction, incident_id: int) -> str:
        """The latest version people saved in the editor, else the draft rendered now."""
        saved = await self._db.read(postmortem_versions.latest_version, incident_id)
        if saved is not None:
            return saved.body
        try:
            markdown = await drafts.postmortem_markdown(self._db, self._playbooks, self._playbooks_dir, incident_id)
        except drafts.PostmortemError as exc:
            raise SlackPermanentError(action.kind, str(exc)) from None
        if markdown is None:
            raise MissingPrerequisite(action.kind, f"incident {incident_id} no longer exists")
        return markdown

    async def _publish(self, action: ClaimedAction, incident_id: int, title: str, channel: str) -> dict[str, object]:
        markdown = await self._document(action, incident_id)
        name = f"Postmortem: incident #{incident_id} {title}"[:250]
        try:
            created = await self._slack.call("canvases.create", title=name, channel_id=channel,
                                             document_content={"type": "markdown", "markdown": markdown})
            return {"kind": "canvas", "id": str(created["canvas_id"])}
        except SlackPermanentError as exc:
            if exc.error not in NO_CANVAS:
                raise
        result = await self._slack.call("files.upload_v2", channel=channel, content=markdown,
                                        filename=drafts.filename(incident_id), title=f"{name} ({action.id})",
                                        initial_comment="The published postmortem.")
        return {"kind": "file", "id": str((result.get("file") or {}).get("id"))}


def _announcement(incident_id: int, document: dict[str, object], open_followups: int) -> str:
    where = "as the canvas in this channel's tabs" if document.get("kind") == "canvas" else "as the file above"
    text = f":white_check_mark: The postmortem of incident #{incident_id} is published, {where}."
    if open_followups:
        text += f" {open_followups} follow-up{'s are' if open_followups != 1 else ' is'} still open."
    return text
