"""How each outbox action kind is carried out in Slack, exactly once in effect.

Slack calls are not idempotent, so every action that creates something can find what
an earlier, interrupted attempt created: a channel by name, a message by the
metadata that carries the action id (:mod:`bot.delivery.posting`), a bookmark by its
link, an uploaded draft by its title. Errors that mean "already done"
(``already_pinned``, ``already_in_channel``) count as success. The larger actions have
modules of their own: trace links, the postmortem upload, the triage notice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from sqlalchemy.orm import Session

from bot.adapters import prometheus as traces
from bot.clock import Clock
from bot.delivery.direct_messages import DirectMessages
from bot.delivery.incident_reads import IncidentReads
from bot.delivery.outcome import Done, MissingPrerequisite, NotReady
from bot.delivery.posting import Poster
from bot.delivery.postmortem_publish import PostmortemPublish
from bot.delivery.postmortem_upload import PostmortemUpload
from bot.delivery.trace_links import TraceLinks
from bot.delivery.triage_notice import TriageNotice
from bot.domain.kinds import ActionKind
from bot.playbook import PlaybookSet
from bot.slack import blocks
from bot.slack.gateway import SlackGateway, SlackPermanentError
from storage import incidents as store
from storage import outbox
from storage.database import Database
from storage.outbox import ClaimedAction

__all__ = ["Done", "MissingPrerequisite", "NotReady", "SlackActions"]

MAX_NAME_SUFFIX = 20
BATCH_TEXT_LIMIT = 3500

Handler = Callable[[ClaimedAction], Awaitable[Done]]


class SlackActions:
    def __init__(self, db: Database, gateway: SlackGateway, playbooks: Callable[[], PlaybookSet], clock: Clock,
                 prometheus: traces.PrometheusClient | None = None, playbooks_dir: Path | None = None,
                 public_url: str | None = None) -> None:
        self._db = db
        self._slack = gateway
        self._poster = Poster(gateway)
        self._reads = IncidentReads(db, playbooks, clock, public_url)
        self._handlers: dict[ActionKind, Handler] = {
            ActionKind.CHANNEL_CREATE: self._create_channel,
            ActionKind.CHANNEL_TOPIC: self._set_topic,
            ActionKind.CHANNEL_PURPOSE: self._set_purpose,
            ActionKind.CHANNEL_INVITE: self._invite,
            ActionKind.MESSAGE_HEADER: self._post_header,
            ActionKind.MESSAGE_PIN_HEADER: self._pin_header,
            ActionKind.MESSAGE_UPDATE_HEADER: self._update_header,
            ActionKind.MESSAGE_POST: self._post,
            ActionKind.MESSAGE_POST_TO: self._post_to,
            ActionKind.BOOKMARK_ADD: self._add_bookmark,
            ActionKind.CHANNEL_ARCHIVE: self._archive,
            ActionKind.MESSAGE_TRACE_LINKS: TraceLinks(db, self._reads, self._poster, playbooks, prometheus),
            ActionKind.FILE_POSTMORTEM: PostmortemUpload(db, self._reads, gateway, playbooks,
                                                         playbooks_dir or Path("playbooks")),
            ActionKind.TRIAGE_NOTICE: TriageNotice(db, gateway, self._poster, playbooks),
            ActionKind.MESSAGE_DIRECT: DirectMessages(gateway, self._poster),
            ActionKind.POSTMORTEM_PUBLISH: PostmortemPublish(db, self._reads, gateway, self._poster, playbooks,
                                                             playbooks_dir or Path("playbooks")),
        }

    def prefetch(self, session: Session, action: ClaimedAction) -> ClaimedAction:
        """What the action's handler reads, read in the transaction that leases it (the outbox worker's hook)."""
        return self._reads.prefetch(session, action)

    @property
    def handlers(self) -> Mapping[str, Handler]:
        return {str(kind): handler for kind, handler in self._handlers.items()}

    # -- channel ---------------------------------------------------------------

    async def _create_channel(self, action: ClaimedAction) -> Done:
        incident = await self._reads.incident(action)
        if incident.channel_id:
            return Done({"channel_id": incident.channel_id, "name": incident.channel_name})
        base = incident.channel_name
        for attempt in range(1, MAX_NAME_SUFFIX + 1):
            name = base if attempt == 1 else _suffixed(base, attempt)
            try:
                created = await self._slack.call("conversations.create", name=name, is_private=False)
            except SlackPermanentError as exc:
                if exc.error != "name_taken":
                    raise
                adopted = await self._adoptable(name)
                if adopted is not None:
                    return Done({"channel_id": adopted, "name": name, "adopted": True},
                                {"channel_id": adopted, "channel_name": name})
                continue
            channel_id = str(created["channel"]["id"])
            return Done({"channel_id": channel_id, "name": name}, {"channel_id": channel_id, "channel_name": name})
        raise SlackPermanentError("conversations.create", f"name_taken for {base} and {MAX_NAME_SUFFIX - 1} suffixes")

    async def _adoptable(self, name: str) -> str | None:
        """A channel this bot created under that name that no incident owns: an earlier,
        interrupted attempt of this very action."""
        bot_user = await self._slack.bot_user_id()
        async for channel in self._poster.channels():
            if channel.get("name") == name and channel.get("creator") == bot_user:
                async with self._db.reading() as session:
                    owner = await session.run_sync(store.incident_id_for_channel, channel["id"])
                return str(channel["id"]) if owner is None else None
        return None

    async def _set_topic(self, action: ClaimedAction) -> Done:
        view, channel = await self._reads.row_view(action)
        await self._slack.call("conversations.setTopic", channel=channel, topic=blocks.topic(view))
        return Done()

    async def _set_purpose(self, action: ClaimedAction) -> Done:
        view, channel = await self._reads.row_view(action)
        await self._slack.call("conversations.setPurpose", channel=channel, purpose=blocks.purpose(view))
        return Done()

    async def _invite(self, action: ClaimedAction) -> Done:
        _, channel = await self._reads.channel_only(action)
        try:
            await self._slack.call("conversations.invite", channel=channel, users=action.payload["user"])
        except SlackPermanentError as exc:
            if exc.error not in ("already_in_channel", "cant_invite_self"):
                raise
        return Done()

    # -- messages --------------------------------------------------------------

    async def _post_header(self, action: ClaimedAction) -> Done:
        incident, view, channel = await self._reads.with_channel(action)
        if incident.header_ts:
            return Done({"ts": incident.header_ts})
        ts = await self._poster.post_once(action, channel, blocks.header_text(view), blocks.header_blocks(view))
        return Done({"ts": ts}, {"header_ts": ts})

    async def _pin_header(self, action: ClaimedAction) -> Done:
        incident, channel = await self._reads.channel_only(action)
        if not incident.header_ts:
            raise MissingPrerequisite(action.kind, "the header message was never posted")
        try:
            await self._slack.call("pins.add", channel=channel, timestamp=incident.header_ts)
        except SlackPermanentError as exc:
            if exc.error != "already_pinned":
                raise
        return Done()

    async def _update_header(self, action: ClaimedAction) -> Done:
        async with self._db.reading() as session:
            later = await session.run_sync(outbox.pending_after, action.ordering_key, action.id, action.kind)
        if later:  # the last later update will show the same state or newer: skip this one and those between
            return Done({"superseded_by": later[-1][0]}, absorbed=[action_id for action_id, _ in later[:-1]])
        incident, view, channel = await self._reads.with_channel(action)
        if not incident.header_ts:
            raise MissingPrerequisite(action.kind, "the header message was never posted")
        await self._slack.call("chat.update", channel=channel, ts=incident.header_ts,
                               text=blocks.header_text(view), blocks=blocks.header_blocks(view))
        return Done()

    async def _post(self, action: ClaimedAction) -> Done:
        _, channel = await self._reads.channel_only(action)
        text, absorbed = str(action.payload["text"]), list[int]()
        if action.payload.get("purpose") == "changes":
            text, absorbed = await self._batched_changes(action, text)
        ts = await self._poster.post_once(action, channel, text, action.payload.get("blocks"))
        return Done({"ts": ts, **({"batched": len(absorbed)} if absorbed else {})}, absorbed=absorbed)

    async def _post_to(self, action: ClaimedAction) -> Done:
        """A message to another channel (stakeholders), by id or #name."""
        channel = await self._poster.channel_id(str(action.payload["channel"]))
        ts = await self._poster.post_once(action, channel, str(action.payload["text"]))
        return Done({"ts": ts, "channel": channel})

    async def _batched_changes(self, action: ClaimedAction, text: str) -> tuple[str, list[int]]:
        """Fold change lines queued behind this one into the same message, so a burst of
        deliveries reads as a few messages instead of hundreds."""
        async with self._db.reading() as session:
            later = await session.run_sync(outbox.pending_after, action.ordering_key, action.id,
                                           ActionKind.MESSAGE_POST)
        absorbed = []
        for action_id, payload in later:
            if payload.get("purpose") != "changes":
                continue
            addition = str(payload["text"])
            if len(text) + len(addition) + 1 > BATCH_TEXT_LIMIT:
                break
            text += "\n" + addition
            absorbed.append(action_id)
        return text, absorbed

    async def _add_bookmark(self, action: ClaimedAction) -> Done:
        _, channel = await self._reads.channel_only(action)
        link = str(action.payload["link"])
        if action.attempts > 1:
            existing = await self._slack.call("bookmarks.list", channel_id=channel)
            if any(b.get("link") == link for b in existing.get("bookmarks", [])):
                return Done()
        await self._slack.call("bookmarks.add", channel_id=channel, title=str(action.payload["title"]),
                               type="link", link=link)
        return Done()

    async def _archive(self, action: ClaimedAction) -> Done:
        _, channel = await self._reads.channel_only(action)
        try:
            await self._slack.call("conversations.archive", channel=channel)
        except SlackPermanentError as exc:
            if exc.error != "already_archived":
                raise
        return Done()

def _suffixed(name: str, n: int) -> str:
    suffix = f"-{n}"
    return name[: 80 - len(suffix)].rstrip("-_") + suffix
