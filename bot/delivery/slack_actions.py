"""How each outbox action kind is carried out in Slack, exactly once in effect.

Slack calls are not idempotent, so every action that creates something can find what
an earlier, interrupted attempt created: a channel by name, a message by the
metadata that carries the action id, a bookmark by its link. Errors that mean
"already done" (``already_pinned``, ``already_in_channel``) count as success.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.adapters import prometheus as traces
from bot.clock import Clock
from bot.delivery.trace_notice import no_trace_links_text
from bot.domain.decide import alert_detail
from bot.domain.kinds import ActionKind
from bot.domain.links import render_links, render_trace_link
from bot.incident import drafts as postmortems
from bot.playbook import PlaybookSet
from bot.slack import blocks
from bot.slack.gateway import SlackGateway, SlackPermanentError, SlackRateLimited
from storage import alerting as repo
from storage import incidents as store
from storage import outbox
from storage.database import Database
from storage.outbox import ClaimedAction

METADATA_EVENT = "incident_bot_action"
MAX_NAME_SUFFIX = 20
HISTORY_LOOKBACK = 100
BATCH_TEXT_LIMIT = 3500


@dataclass(frozen=True, slots=True)
class Done:
    """What a finished action produced, and what to write back in the same commit."""

    result: dict[str, Any] = field(default_factory=dict)
    incident_updates: dict[str, Any] = field(default_factory=dict)
    group_updates: dict[str, Any] = field(default_factory=dict)
    absorbed: list[int] = field(default_factory=list)  # later actions this one carried out too


class NotReady(SlackRateLimited):
    """An earlier action of another queue has not happened yet: look again shortly, at a
    steady pace rather than with growing backoff, and without counting an attempt."""

    def __init__(self, method: str, reason: str, retry_after: float = 1.0) -> None:
        super().__init__(method, retry_after)
        self.error = reason
        self.args = (f"{method}: {reason}",)


class MissingPrerequisite(SlackPermanentError):
    """An earlier action this one depends on (the channel, the header) never happened."""


@dataclass(frozen=True, slots=True)
class _StoredAlert:
    labels: dict[str, Any]
    annotations: dict[str, Any]
    generator_url: str | None = None


class SlackActions:
    def __init__(self, db: Database, gateway: SlackGateway, playbooks: Callable[[], PlaybookSet], clock: Clock,
                 prometheus: traces.PrometheusClient | None = None, playbooks_dir: Path | None = None) -> None:
        self._prometheus = prometheus
        self._playbooks_dir = playbooks_dir or Path("playbooks")
        self._db = db
        self._slack = gateway
        self._playbooks = playbooks
        self._clock = clock
        self._handlers: dict[ActionKind, Callable[[ClaimedAction], Awaitable[Done]]] = {
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
            ActionKind.MESSAGE_TRACE_LINKS: self._trace_links,
            ActionKind.FILE_POSTMORTEM: self._upload_postmortem,
            ActionKind.TRIAGE_NOTICE: self._triage_notice,
        }

    @property
    def handled_kinds(self) -> frozenset[ActionKind]:
        return frozenset(self._handlers)

    async def run(self, action: ClaimedAction) -> Done:
        try:
            handler = self._handlers[ActionKind(action.kind)]
        except (ValueError, KeyError):
            raise SlackPermanentError(action.kind, "unknown action kind") from None
        return await handler(action)

    # -- state -----------------------------------------------------------------

    async def _view(self, incident_id: int) -> tuple[Any, blocks.IncidentView]:
        async with self._db.reading() as session:
            incident = await session.run_sync(repo.get_incident, incident_id)
            if incident is None:
                raise MissingPrerequisite("incident", f"incident {incident_id} no longer exists")
            firing = await session.run_sync(repo.firing_alert_details, incident_id)
            silences = await session.run_sync(store.active_silences, incident_id, self._clock())
        try:
            rank = self._playbooks().get(incident.playbook).severity_rank(incident.severity)
        except KeyError:
            rank = 9
        lines = [blocks.AlertLine(str(labels.get("alertname", fp)), alert_detail(labels, fp),
                                  str(annotations.get("summary", "")), stale)
                 for labels, annotations, fp, stale in firing]
        view = blocks.IncidentView(
            id=incident.id, title=incident.title, severity=incident.severity, severity_rank=rank,
            status=incident.status, commander=incident.commander, opened_at=incident.opened_at,
            source=incident.source, route=f"{incident.playbook}/{incident.route}", firing=lines,
            acknowledged=incident.acknowledged_at is not None,
            all_alerts_resolved=incident.all_alerts_resolved_at is not None,
            silenced_until=max((datetime.fromisoformat(str(x["ends_at"])) for x in silences), default=None),
        )
        return incident, view

    async def _channel(self, action: ClaimedAction) -> tuple[Any, blocks.IncidentView, str]:
        assert action.incident_id is not None
        incident, view = await self._view(action.incident_id)
        if not incident.channel_id:
            raise MissingPrerequisite(action.kind, "the incident channel was never created")
        return incident, view, incident.channel_id

    async def _bare_channel(self, action: ClaimedAction) -> tuple[Any, str]:
        """The incident and its channel, without the view: a storm incident's view reads
        thousands of alerts, which a plain message, pin or bookmark does not need."""
        assert action.incident_id is not None
        async with self._db.reading() as session:
            incident = await session.run_sync(repo.get_incident, action.incident_id)
        if incident is None:
            raise MissingPrerequisite("incident", f"incident {action.incident_id} no longer exists")
        if not incident.channel_id:
            raise MissingPrerequisite(action.kind, "the incident channel was never created")
        return incident, incident.channel_id

    # -- channel ---------------------------------------------------------------

    async def _create_channel(self, action: ClaimedAction) -> Done:
        assert action.incident_id is not None
        incident, _ = await self._view(action.incident_id)
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
        async for channel in self._channels():
            if channel.get("name") == name and channel.get("creator") == bot_user:
                async with self._db.reading() as session:
                    owner = await session.run_sync(store.incident_id_for_channel, channel["id"])
                return str(channel["id"]) if owner is None else None
        return None

    async def _channels(self, *, archived: bool = False) -> AsyncIterator[dict[str, Any]]:
        cursor = None
        while True:
            page = await self._slack.call("conversations.list", types="public_channel,private_channel",
                                          exclude_archived=not archived, limit=200,
                                          **({"cursor": cursor} if cursor else {}))
            for channel in page.get("channels", []):
                yield channel
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return

    async def _set_topic(self, action: ClaimedAction) -> Done:
        _, view, channel = await self._channel(action)
        await self._slack.call("conversations.setTopic", channel=channel, topic=blocks.topic(view))
        return Done()

    async def _set_purpose(self, action: ClaimedAction) -> Done:
        _, view, channel = await self._channel(action)
        await self._slack.call("conversations.setPurpose", channel=channel, purpose=blocks.purpose(view))
        return Done()

    async def _invite(self, action: ClaimedAction) -> Done:
        _, channel = await self._bare_channel(action)
        try:
            await self._slack.call("conversations.invite", channel=channel, users=action.payload["user"])
        except SlackPermanentError as exc:
            if exc.error not in ("already_in_channel", "cant_invite_self"):
                raise
        return Done()

    # -- messages --------------------------------------------------------------

    async def _post_message(self, action: ClaimedAction, channel: str, text: str,
                            message_blocks: list[dict[str, Any]] | None = None) -> str:
        """Post once: a retry first looks for the message an interrupted attempt posted."""
        if action.attempts > 1:
            found = await self._find_posted(channel, action.id)
            if found is not None:
                return found
        args: dict[str, Any] = {"text": text, "unfurl_links": False, "unfurl_media": False,
                                "metadata": {"event_type": METADATA_EVENT, "event_payload": {"action": action.id}}}
        if message_blocks is not None:
            args["blocks"] = message_blocks
        try:
            response = await self._slack.call("chat.postMessage", channel=channel, **args)
        except SlackPermanentError as exc:
            if exc.error != "not_in_channel":
                raise
            # A public channel the bot was never invited to (triage, stakeholders): join it.
            try:
                await self._slack.call("conversations.join", channel=channel)
            except SlackPermanentError as refused:
                if refused.error in ("is_archived", "channel_not_found"):
                    raise
                raise exc from refused  # it may not join by itself (e.g. a missing scope): still not in the channel
            response = await self._slack.call("chat.postMessage", channel=channel, **args)
        return str(response["ts"])

    async def _find_posted(self, channel: str, action_id: int) -> str | None:
        history = await self._slack.call("conversations.history", channel=channel, limit=HISTORY_LOOKBACK,
                                         include_all_metadata=True)
        for message in history.get("messages", []):
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == METADATA_EVENT and \
                    (metadata.get("event_payload") or {}).get("action") == action_id:
                return str(message["ts"])
        return None

    async def _post_header(self, action: ClaimedAction) -> Done:
        incident, view, channel = await self._channel(action)
        if incident.header_ts:
            return Done({"ts": incident.header_ts})
        ts = await self._post_message(action, channel, blocks.header_text(view), blocks.header_blocks(view))
        return Done({"ts": ts}, {"header_ts": ts})

    async def _pin_header(self, action: ClaimedAction) -> Done:
        incident, channel = await self._bare_channel(action)
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
        incident, view, channel = await self._channel(action)
        if not incident.header_ts:
            raise MissingPrerequisite(action.kind, "the header message was never posted")
        await self._slack.call("chat.update", channel=channel, ts=incident.header_ts,
                               text=blocks.header_text(view), blocks=blocks.header_blocks(view))
        return Done()

    async def _post(self, action: ClaimedAction) -> Done:
        _, channel = await self._bare_channel(action)
        text, absorbed = str(action.payload["text"]), list[int]()
        if action.payload.get("purpose") == "changes":
            text, absorbed = await self._batched_changes(action, text)
        ts = await self._post_message(action, channel, text, action.payload.get("blocks"))
        return Done({"ts": ts, **({"batched": len(absorbed)} if absorbed else {})}, absorbed=absorbed)

    async def _post_to(self, action: ClaimedAction) -> Done:
        """A message to another channel (stakeholders), by id or #name."""
        channel = await self._channel_id(str(action.payload["channel"]))
        ts = await self._post_message(action, channel, str(action.payload["text"]))
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
        _, channel = await self._bare_channel(action)
        link = str(action.payload["link"])
        if action.attempts > 1:
            existing = await self._slack.call("bookmarks.list", channel_id=channel)
            if any(b.get("link") == link for b in existing.get("bookmarks", [])):
                return Done()
        await self._slack.call("bookmarks.add", channel_id=channel, title=str(action.payload["title"]),
                               type="link", link=link)
        return Done()

    async def _trace_links(self, action: ClaimedAction) -> Done:
        """Trace links for the alerts: ids from their labels, and Prometheus exemplars of
        their expressions around their start. Runs on its own ordering key, so a slow
        Prometheus never holds up the incident's other messages."""
        assert action.incident_id is not None
        incident, _ = await self._view(action.incident_id)
        if not incident.channel_id:
            raise NotReady(action.kind, "waiting for the incident channel")
        match = next((m for m in self._playbooks().routes if m.key == (incident.playbook, incident.route)), None)
        if match is None or match.route.trace_url is None:
            return Done({"skipped": "the route has no trace_url"})
        trace_ids: list[str] = []
        problems: list[str] = []
        for alert in action.payload.get("alerts", []):
            trace_ids += [t for t in traces.trace_ids_in(alert.get("labels", {}), alert.get("annotations", {}))
                          if t not in trace_ids]
            expression = traces.expression_from(alert.get("generator_url"))
            if expression and self._prometheus is not None:
                found = await self._prometheus.exemplar_trace_ids(expression,
                                                                  datetime.fromisoformat(alert["starts_at"]))
                trace_ids += [t for t in found.trace_ids if t not in trace_ids]
                if found.problem:
                    problems.append(found.problem)
        links = [link for t in trace_ids[:traces.MAX_TRACES * 2]
                 if (link := render_trace_link(match.route, t)) is not None]
        if links:
            text = "*Traces*\n" + "\n".join(f"• <{link.url}|{blocks.escape(link.title)}>" for link in links)
        else:
            async with self._db.reading() as session:  # an earlier trace-links action of this incident posted
                posted = await session.run_sync(outbox.any_posted, action.ordering_key, action.kind)
            notice = no_trace_links_text(posted, prometheus_configured=self._prometheus is not None, problems=problems)
            if notice is None:
                return Done({"skipped": "no trace links, and the channel already has its trace message"})
            text = notice
        ts = await self._post_message(action, incident.channel_id, text)
        return Done({"ts": ts, "traces": trace_ids})

    async def _upload_postmortem(self, action: ClaimedAction) -> Done:
        """Render the draft from the timeline as it is now and upload it as a file
        (Slack's external upload flow: getUploadURLExternal, upload, completeUploadExternal)."""
        incident, channel = await self._bare_channel(action)
        name = postmortems.filename(incident.id)
        if action.attempts > 1:  # an interrupted attempt may have shared it already
            history = await self._slack.call("conversations.history", channel=channel, limit=HISTORY_LOOKBACK)
            for message in history.get("messages", []):
                if any(f.get("title") == f"{name} ({action.id})" for f in message.get("files") or []):
                    return Done({"ts": message.get("ts"), "found": True})
        try:
            text = await postmortems.postmortem_markdown(self._db, self._playbooks, self._playbooks_dir, incident.id)
        except postmortems.PostmortemError as exc:
            raise SlackPermanentError(action.kind, str(exc)) from None
        if text is None:
            raise MissingPrerequisite(action.kind, f"incident {incident.id} no longer exists")
        result = await self._slack.call("files.upload_v2", channel=channel, content=text, filename=name,
                                        title=f"{name} ({action.id})",
                                        initial_comment="Postmortem draft, rendered from the incident timeline.")
        file_info = result.get("file") or {}
        return Done({"file_id": file_info.get("id")})

    async def _archive(self, action: ClaimedAction) -> Done:
        _, channel = await self._bare_channel(action)
        try:
            await self._slack.call("conversations.archive", channel=channel)
        except SlackPermanentError as exc:
            if exc.error != "already_archived":
                raise
        return Done()

    # -- triage ----------------------------------------------------------------

    async def _triage_notice(self, action: ClaimedAction) -> Done:
        group_id = int(action.payload["group_id"])
        async with self._db.reading() as session:
            group = await session.run_sync(repo.get_group, group_id)
            alerts = await session.run_sync(repo.group_alert_details, group_id)
        if group is None:
            raise MissingPrerequisite(action.kind, f"alert group {group_id} no longer exists")
        playbooks = self._playbooks()
        match = next((m for m in playbooks.routes if f"{m.playbook.name}/{m.route.name}" == group.route), None)
        firing = [(labels, ann, fp) for labels, ann, fp, status in alerts if status == "firing"]
        lines = [blocks.AlertLine(str(labels.get("alertname", fp)), alert_detail(labels, fp), str(a.get("summary", "")))
                 for labels, a, fp in firing]
        severity = "-"
        links = []
        if match is not None:
            severities = ([match.route.severity.severity_for(labels) for labels, _, _ in firing]
                          or [match.route.severity.default])
            severity = min(severities, key=match.playbook.severity_rank)
            links = render_links(match.route, [_StoredAlert(labels, a) for labels, a, _ in firing[:20]])
        title = str(group.group_labels.get("alertname") or group.group_key)
        payload_blocks = blocks.triage_blocks(title, severity, group.route or "-", lines, links, group_id,
                                              resolved=not firing)
        text = f"{blocks.escape(title)}: {len(firing)} firing (not declared)"
        if group.triage_ts and group.triage_channel_id:
            await self._slack.call("chat.update", channel=group.triage_channel_id, ts=group.triage_ts,
                                   text=text, blocks=payload_blocks)
            return Done({"ts": group.triage_ts, "updated": True})
        channel = await self._channel_id(str(action.payload["channel"]))
        ts = await self._post_message(action, channel, text, payload_blocks)
        return Done({"ts": ts, "channel": channel}, group_updates={"triage_ts": ts, "triage_channel_id": channel})

    async def _channel_id(self, channel: str) -> str:
        """A channel id as given, or the id of a ``#name`` (the bot must be able to see it)."""
        if not channel.startswith("#"):
            return channel
        async for found in self._channels(archived=True):  # an archived one is named as such when posting fails
            if found.get("name") == channel[1:]:
                return str(found["id"])
        raise SlackPermanentError("conversations.list", f"channel_not_found: {channel}")


def _suffixed(name: str, n: int) -> str:
    suffix = f"-{n}"
    return name[: 80 - len(suffix)].rstrip("-_") + suffix
