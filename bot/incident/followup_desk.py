"""The follow-up subcommands and the message shortcut: checks before anything is written,
who may close a follow-up, and the transaction the shortcut's form runs in.

Bad input (an unknown number, a past due date, an owner Slack does not know) is answered
before the transaction, so nothing of it is recorded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.domain import due as dues
from bot.domain import followup_grammar as fg
from bot.domain.commands import entities
from bot.domain.permissions import allowed
from bot.domain.redaction import redactor
from bot.incident.change import IncidentChange
from bot.incident.followups import close_followup, create_followup
from bot.incident.permits import responders_of
from bot.playbook import Playbook, PlaybookSet
from bot.slack import followup_texts as words
from storage import alerting, incidents
from storage import followups as store
from storage.database import Database
from storage.rows import FollowUpRow, IncidentRow

UserExists = Callable[[str], Awaitable[bool | None]]
GroupMembers = Callable[[str], Awaitable[frozenset[str]]]
NOT_OPEN = "Follow-up {n} is already {status}."


@dataclass(frozen=True)
class Outcome:
    text: str
    changed: bool = False
    refused: bool = False


class FollowUpDesk:
    def __init__(self, db: Database, playbooks: Callable[[], PlaybookSet], clock: Clock, command: str,
                 user_exists: UserExists | None = None, group_members: GroupMembers | None = None) -> None:
        self._db = db
        self._playbooks = playbooks
        self._clock = clock
        self._command = command
        self._user_exists = user_exists
        self._group_members = group_members

    async def listing(self, incident_id: int) -> str:
        found = await self._db.read(store.of_incident, incident_id)
        return words.listing(found, incident_id, self._clock(), self._command)

    async def problem(self, incident_id: int, command: fg.AddFollowUp | fg.CloseFollowUp) -> str | None:
        """Why this command cannot be done as typed (nothing is then written), or None."""
        if isinstance(command, fg.CloseFollowUp):
            found = await self._db.read(store.by_number, incident_id, command.number)
            if found is None:
                count = len(await self._db.read(store.of_incident, incident_id))
                known = f"numbered 1 to {count}" if count else "none yet"
                return (f"Incident #{incident_id} has no follow-up {command.number} ({known}). "
                        f"Type `{self._command} followups` to see them.")
            return None
        if command.due is not None:
            try:
                dues.due_at(command.due, self._clock())
            except ValueError as exc:
                return f"{exc}. Type `{self._command} {entities(fg.FOLLOWUP_USAGE)}`."
        if command.owner is not None:
            return await self.owner_problem(command.owner)
        return None

    async def owner_problem(self, owner: str, example: str = "followup &lt;text&gt; @alex") -> str | None:
        """Why ``owner`` cannot own something (a follow-up, a postmortem), or None."""
        exists = await self._user_exists(owner) if self._user_exists is not None else True
        if exists is None:
            return f"Slack could not confirm who <@{owner}> is just now; nothing was changed. Try again in a moment."
        if not exists:
            return (f"`{owner}` is not a person in this workspace. Mention the owner with @, e.g. "
                    f"`{self._command} {example}`.")
        return None

    async def add(self, session: AsyncSession, change: IncidentChange, playbook: Playbook | None,
                  command: fg.AddFollowUp) -> Outcome:
        """Inside the command's transaction."""
        due_at = dues.due_at(command.due, change.now) if command.due is not None else None
        text = _redact(playbook, command.text)

        def write(sync: Session) -> FollowUpRow:
            return create_followup(sync, change, text=text, owner=command.owner, due_at=due_at, source="command",
                                   tracker=playbook.followups if playbook is not None else None)
        followup = await session.run_sync(write)
        owner = f"<@{followup.owner}>" if followup.owner else "no owner"
        due = f", due {dues.due_label(due_at)}" if due_at else ""
        return Outcome(f"Added follow-up {followup.number} ({owner}{due}).", changed=True)

    async def close(self, session: AsyncSession, change: IncidentChange, playbook: Playbook | None,
                    command: fg.CloseFollowUp) -> Outcome:
        followup = await session.run_sync(store.by_number, change.incident.id, command.number)
        if followup is None:
            return Outcome(f"There is no follow-up {command.number}.")
        if followup.status != "open":
            return Outcome(NOT_OPEN.format(n=command.number, status=followup.status))
        if not await self._may_close(change, playbook, followup.owner):
            owner = f"its owner (<@{followup.owner}>), " if followup.owner else ""
            commander = f" (<@{change.incident.commander}>)" if change.incident.commander else ""
            return Outcome(f"Only {owner}the commander{commander} or a responder can close follow-up "
                           f"{command.number}.", refused=True)
        reason = _redact(playbook, command.reason)
        open_one = followup

        def write(sync: Session) -> bool:
            return close_followup(sync, change, open_one, command.status, reason)
        if not await session.run_sync(write):
            return Outcome(NOT_OPEN.format(n=command.number, status="closed"))
        verb = "done" if command.status == "done" else "dropped"
        return Outcome(f"Follow-up {command.number} is {verb}.", changed=True)

    async def _may_close(self, change: IncidentChange, playbook: Playbook | None, owner: str | None) -> bool:
        if change.actor == owner:
            return True
        responders = await responders_of(change.incident, playbook, self._group_members)
        return allowed("responders", change.actor, change.incident.commander, responders)

    # -- the message shortcut -------------------------------------------------------------

    async def incident_for_channel(self, channel: str) -> IncidentRow | None:
        async with self._db.reading() as session:
            incident_id = await session.run_sync(incidents.incident_id_for_channel, channel)
            if incident_id is None:
                return None
            return await session.run_sync(alerting.get_incident, incident_id)

    def due_from_date(self, picked: date | None) -> datetime | None:
        """The datepicker's date as a due time; ValueError when that day is over."""
        return dues.due_at(picked, self._clock()) if picked is not None else None

    async def add_from_message(self, incident_id: int, actor: str, text: str, owner: str | None,
                               due_at: datetime | None, message_link: str | None) -> int:
        """The shortcut's form was submitted: add the follow-up in one transaction; its number."""
        now = self._clock()
        async with self._db.transaction() as session:
            incident = await session.run_sync(incidents.lock_incident, incident_id)
            assert incident is not None
            change = IncidentChange(incident, actor, now)
            playbook = self._playbook(incident.playbook)

            def write(sync: Session) -> int:
                followup = create_followup(sync, change, text=_redact(playbook, text), owner=owner, due_at=due_at,
                                           source="shortcut", message_link=message_link,
                                           tracker=playbook.followups if playbook is not None else None)
                change.flush(sync)
                return followup.number
            return await session.run_sync(write)

    def _playbook(self, name: str) -> Playbook | None:
        try:
            return self._playbooks().get(name)
        except KeyError:
            return None


def _redact(playbook: Playbook | None, text: str) -> str:
    return redactor(playbook.redact_patterns if playbook is not None else ()).redact(text)
