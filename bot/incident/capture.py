"""Timeline capture from Slack events: pinned messages and participants.

Slack retries events it thinks were not delivered; every event id is handled once,
and a message is on the timeline once however many people react to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from bot.clock import Clock
from bot.domain.kinds import EventKind
from bot.domain.redaction import redactor
from bot.playbook import PlaybookSet
from storage import alerting as repo
from storage import incidents as store
from storage.database import Database
from storage.rows import NewEvent

log = structlog.get_logger(__name__)

# (channel, ts) -> (author, text, permalink), from Slack.
FetchMessage = Callable[[str, str], Awaitable[tuple[str, str, str]]]


class TimelineCapture:
    def __init__(self, db: Database, playbooks: Callable[[], PlaybookSet], clock: Clock, fetch: FetchMessage,
                 on_commit: Callable[[], None]) -> None:
        self._db = db
        self._playbooks = playbooks
        self._clock = clock
        self._fetch = fetch
        self._on_commit = on_commit

    async def _incident_for(self, channel: str) -> tuple[int, str, tuple[str, ...]] | None:
        async with self._db.reading() as session:
            incident_id = await session.run_sync(store.incident_id_for_channel, channel)
            if incident_id is None:
                return None
            incident = await session.run_sync(repo.get_incident, incident_id)
        assert incident is not None
        try:
            playbook = self._playbooks().get(incident.playbook)
            return incident_id, playbook.pin_emoji, playbook.redact_patterns
        except KeyError:
            return incident_id, "pushpin", ()

    async def reaction(self, event_id: str, event: dict[str, Any], added: bool) -> None:
        item = event.get("item") or {}
        if item.get("type") != "message":
            return
        found = await self._incident_for(str(item.get("channel")))
        if found is None or event.get("reaction") != found[1]:
            return
        incident_id, _, patterns = found
        channel, ts, user = str(item["channel"]), str(item["ts"]), str(event.get("user"))
        details = await self._fetch(channel, ts) if added else None
        now = self._clock()
        async with self._db.transaction() as session:
            if not await session.run_sync(store.first_time_seen, event_id, now):
                return
            if added:
                if not await session.run_sync(store.add_pin_reaction, incident_id, ts, user):
                    return
                assert details is not None
                author, text, permalink = details
                text = redactor(patterns).redact(text)
                kind = EventKind.MESSAGE_PINNED
                data = {"ts": ts, "author": author, "text": text, "permalink": permalink, "pinned_by": user}
                occurred = _ts_time(ts) or now
            else:
                if not await session.run_sync(store.remove_pin_reaction, incident_id, ts, user, now):
                    return
                kind, data, occurred = EventKind.MESSAGE_UNPINNED, {"ts": ts, "unpinned_by": user}, now
            await session.run_sync(store.add_participant, incident_id, user, now)
            await session.run_sync(repo.append_events, incident_id, [
                NewEvent(kind, user, data, occurred_at=occurred, recorded_at=now)])

    async def member_joined(self, event_id: str, event: dict[str, Any]) -> None:
        found = await self._incident_for(str(event.get("channel")))
        if found is None:
            return
        user, now = str(event.get("user")), self._clock()
        async with self._db.transaction() as session:
            if not await session.run_sync(store.first_time_seen, event_id, now):
                return
            if await session.run_sync(store.add_participant, found[0], user, now):
                await session.run_sync(repo.append_events, found[0], [
                    NewEvent(EventKind.PARTICIPANT_JOINED, user, {"user": user}, occurred_at=now, recorded_at=now)])


def _ts_time(ts: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(ts), tz=UTC)
    except ValueError:
        return None
