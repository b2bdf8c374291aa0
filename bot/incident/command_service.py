"""What each /incident subcommand and header button does, in one transaction each.

Who may do what and the replies are decided here; the state changes, the timeline
events that record them (with their actor), the Slack actions that announce them and
the timer keeping are :mod:`bot.incident.transitions`, written together at the end;
the outbox delivers the rest. Every command, allowed or refused, is recorded on the
incident's timeline.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapters.alertmanager import AlertmanagerClient, AlertmanagerError
from bot.clock import Clock
from bot.domain import commands as p
from bot.domain import followup_grammar as fg
from bot.domain.decide import decide_declaration
from bot.domain.kinds import ActionKind, EventKind
from bot.domain.redaction import redactor
from bot.incident import permits, transitions
from bot.incident import timer_schedule as schedule
from bot.incident.change import IncidentChange
from bot.incident.command_reply import Context, Reply
from bot.incident.command_reply import refused as _refused
from bot.incident.followup_desk import FollowUpDesk, UserExists
from bot.incident.postmortem_commands import POSTMORTEM_CHANGES, change_postmortem
from bot.incident.postmortem_edits import PostmortemEdits
from bot.incident.timeline_editor import listed_timeline
from bot.playbook import Playbook, PlaybookSet
from bot.slack.blocks import escape
from bot.slack.texts import draft_update, list_text
from bot.slack.timeline_listing import LISTED, listing
from storage import alerting as repo
from storage import incidents as store
from storage.database import Database

__all__ = ["CommandService", "Context", "GroupMembers", "Reply"]

GroupMembers = permits.GroupMembers
NOT_AN_INCIDENT_CHANNEL = ("This is not an incident channel. Type `{command} declare &lt;title&gt;` to open one, "
                           "or `{command} list` to find one.")


class CommandService:
    def __init__(self, db: Database, playbooks: Callable[[], PlaybookSet], clock: Clock,
                 on_commit: Callable[[], None], command: str = "/incident",
                 group_members: GroupMembers | None = None, alertmanager: AlertmanagerClient | None = None,
                 user_exists: UserExists | None = None) -> None:
        self._db = db
        self.followups = FollowUpDesk(db, playbooks, clock, command, user_exists, group_members)
        self.postmortems = PostmortemEdits(db, playbooks, clock, on_commit, group_members)
        self._alertmanager = alertmanager
        self._playbooks = playbooks
        self._clock = clock
        self._on_commit = on_commit
        self.command = command
        self._group_members = group_members

    def severities(self) -> tuple[str, ...]:
        names: list[str] = []
        for playbook in self._playbooks().playbooks:
            names += [s.name for s in playbook.severities if s.name not in names]
        return tuple(names)

    async def execute(self, command: p.Command, ctx: Context) -> Reply:
        if isinstance(command, p.Help):
            return Reply(p.help_text(self.command, self.severities()))
        if isinstance(command, p.ListIncidents):
            async with self._db.reading() as session:
                return Reply(list_text(await session.run_sync(store.open_incidents)))
        if isinstance(command, p.Declare):
            return await self._declare(command, ctx)
        async with self._db.reading() as session:
            incident_id = await session.run_sync(store.incident_id_for_channel, ctx.channel)
        if incident_id is None:
            return Reply(NOT_AN_INCIDENT_CHANNEL.format(command=self.command))
        return await self._run(incident_id, command, ctx)

    async def execute_in(self, incident_id: int, command: p.Command, ctx: Context) -> Reply:
        """The command for the incident it names, not the channel it was typed in (the web
        workspace): the same checks, changes, replies and recorded command as in Slack."""
        if isinstance(command, (p.Help, p.ListIncidents, p.Declare)):
            return await self.execute(command, ctx)
        if await self._db.read(repo.get_incident, incident_id) is None:
            return Reply(f"There is no incident #{incident_id}.")
        return await self._run(incident_id, command, ctx)

    async def _run(self, incident_id: int, command: p.Command, ctx: Context) -> Reply:
        if isinstance(command, fg.ListFollowUps):
            return Reply(await self.followups.listing(incident_id))
        if isinstance(command, (fg.AddFollowUp, fg.CloseFollowUp)) and \
                (problem := await self.followups.problem(incident_id, command)):
            return Reply(problem)  # bad input: nothing is recorded
        if isinstance(command, p.PostmortemOwner) and \
                (problem := await self.followups.owner_problem(command.user, "postmortem owner @alex")):
            return Reply(problem)
        if isinstance(command, p.Silence):
            reply = await self._silence(incident_id, command, ctx)
        else:
            reply = await self._in_incident(incident_id, command, ctx)
            if reply.extra.get("expire_silences") and self._alertmanager is not None:
                expired = await self._silence(incident_id, p.Silence(None, "incident resolved"), ctx, quiet=True)
                if expired.changed:
                    reply = Reply(f"{reply.text} {expired.text}", changed=True, extra=reply.extra)
        if reply.changed:
            self._on_commit()
        return reply

    async def _silence(self, incident_id: int, command: p.Silence, ctx: Context, quiet: bool = False) -> Reply:
        """Create or expire Alertmanager silences for the incident's alert groups. The
        Alertmanager calls happen outside any database transaction."""
        if self._alertmanager is None:
            return Reply("Silences need ALERTMANAGER_URL to be set on the bot; nothing was silenced.")
        now = self._clock()
        if command.duration is None:
            active = await self._db.read(store.active_silences, incident_id, now)
            if not active:
                return Reply("" if quiet else "There is no active silence for this incident.")
            expired, problems = [], []
            for silence in active:
                try:
                    await self._alertmanager.expire_silence(str(silence["id"]))
                    expired.append(str(silence["id"]))
                except AlertmanagerError as exc:
                    problems.append(str(exc))
            reply = await self._in_incident(incident_id, _SilencesExpired(tuple(expired)), ctx)
            if problems:
                return Reply(f"{reply.text} Could not expire {len(problems)}: {problems[0]}", changed=bool(expired))
            return reply
        groups = await self._db.read(store.group_labels_of, incident_id)
        if not groups:
            return Reply("This incident has no Alertmanager alerts to silence.")
        ends_at, created = now + command.duration, []
        try:
            for labels in groups:
                comment = f"incident #{incident_id}" + (f": {command.comment}" if command.comment else "")
                created.append((await self._alertmanager.create_silence(
                    labels, now, ends_at, f"incident-bot for Slack user {ctx.user}", comment), labels))
        except AlertmanagerError as exc:
            for silence_id, _ in created:  # all or nothing: do not leave half the groups silenced
                with contextlib.suppress(AlertmanagerError):
                    await self._alertmanager.expire_silence(silence_id)
            return Reply(f"Nothing was silenced: {exc}")
        return await self._in_incident(incident_id, _SilencesCreated(tuple(created), ends_at, command.comment), ctx)

    async def draft_update(self, channel: str) -> str:
        """A draft stakeholder update for the incident of this channel (empty if none)."""
        async with self._db.reading() as session:
            incident_id = await session.run_sync(store.incident_id_for_channel, channel)
            if incident_id is None:
                return ""
            incident = await session.run_sync(repo.get_incident, incident_id)
            if incident is None:
                return ""
            last = await session.run_sync(store.last_update_text, incident_id)
            firing = await session.run_sync(store.firing_count, incident_id)
        return draft_update(incident, firing, last, self._clock())

    async def declare_group(self, group_id: int, ctx: Context) -> Reply:
        """The triage notice's Declare button: open an incident that the group then feeds."""
        async with self._db.reading() as session:
            group = await session.run_sync(repo.get_group, group_id)
        if group is None:
            return Reply("That alert group is no longer stored.")
        if group.incident_id is not None:
            async with self._db.reading() as session:
                incident = await session.run_sync(repo.get_incident, group.incident_id)
            if incident is not None and incident.status != "resolved":
                return Reply(f"This group already belongs to incident #{incident.id}.")
        title = str(group.group_labels.get("alertname") or "Declared from triage")
        reply = await self._declare(p.Declare(title), ctx)
        incident_id = reply.extra.get("incident_id")
        if incident_id is not None:
            async with self._db.transaction() as session:
                await session.run_sync(repo.update_group, group_id, incident_id=incident_id)
                await session.run_sync(repo.attach_group_alerts, group_id, incident_id)
        return reply

    async def _declare(self, command: p.Declare, ctx: Context) -> Reply:
        now = self._clock()
        try:
            decision = decide_declaration(command.title, command.severity, ctx.user, self._playbooks(), now)
        except KeyError:
            return Reply(f"`{command.severity}` is not a severity of the playbook that takes declared incidents.")
        async with self._db.transaction() as session:
            incident_id = await session.run_sync(transitions.open_incident, decision, title=command.title,
                                                 labels={"source": "human"}, alerts=[], source="human",
                                                 declared_by=ctx.user, now=now)
            await session.run_sync(store.add_participant, incident_id, ctx.user, now)
        self._on_commit()
        return Reply(f"Declared incident #{incident_id} ({(decision.severity or '').upper()}): "
                     f"{escape(command.title)}. Its channel is being created and you are the commander.",
                     changed=True, extra={"incident_id": incident_id})

    async def _in_incident(self, incident_id: int, command: InIncidentCommand, ctx: Context) -> Reply:
        now = self._clock()
        async with self._db.transaction() as session:
            incident = await session.run_sync(store.lock_incident, incident_id)
            assert incident is not None
            playbook = self._playbook(incident.playbook)
            change = IncidentChange(incident, ctx.user, now)
            await session.run_sync(store.add_participant, incident_id, ctx.user, now)
            reply = await self._apply(session, change, playbook, command)
            refused = reply.extra.get("refused", False)
            change.event(EventKind.COMMAND, {"source": ctx.source, "text": _redact(playbook, ctx.text),
                                             "allowed": not refused})
            await session.run_sync(change.flush)
            if not refused:
                await session.run_sync(schedule.on_human_action, incident_id)
        return reply

    def _playbook(self, name: str) -> Playbook | None:
        try:
            return self._playbooks().get(name)
        except KeyError:
            return None

    async def _may(self, action: str, change: IncidentChange, playbook: Playbook | None) -> str | None:
        """None when allowed, else the refusal that says who can."""
        return await permits.refusal(action, action.replace("_", " "), change.incident, change.actor, playbook,
                                     self._group_members)

    async def _apply(self, session: AsyncSession, change: IncidentChange, playbook: Playbook | None,
                     command: InIncidentCommand) -> Reply:
        if change.actor == change.incident.commander and change.incident.acknowledged_at is None:
            transitions.acknowledge(change)
        incident = change.incident
        if isinstance(command, p.Acknowledge):
            if change.actor != incident.commander:
                return Reply(f"Only the commander (<@{incident.commander}>) can acknowledge; "
                             "press *Take command* to take over." if incident.commander else
                             "There is no commander yet; press *Take command*.")
            return Reply("Acknowledged. You are the commander.", changed=True)
        if isinstance(command, p.RaiseSeverity):
            names = playbook.severity_names if playbook is not None else ()
            if incident.severity not in names or names.index(incident.severity) == 0:
                return Reply(f"{incident.severity.upper()} is already the most severe level.")
            command = p.SetSeverity(names[names.index(incident.severity) - 1], "raised from the header")
        if isinstance(command, p.SetSeverity):
            return await self._severity(change, playbook, command)
        if isinstance(command, p.SetCommander):
            return await self._commander(change, playbook, command.user)
        if isinstance(command, p.AssignRole):
            transitions.assign_role(change, command.role, command.user)
            return Reply(f"<@{command.user}> is now {escape(command.role)}.", changed=True)
        if isinstance(command, p.SetStatus):
            if command.status == "resolved":
                return await self._resolve(change, playbook, "")
            return self._status(change, command.status)
        if isinstance(command, p.PostUpdate):
            return self._update(change, playbook, command.text)
        if isinstance(command, p.AddNote):
            transitions.add_note(change, _redact(playbook, command.text))
            return Reply("Noted on the timeline.", changed=True)
        if isinstance(command, p.Resolve):
            return await self._resolve(change, playbook, command.summary)
        if isinstance(command, p.Reopen):
            if incident.status != "resolved":
                return Reply("This incident is not resolved, so there is nothing to reopen.")
            transitions.reopen(change)
            return Reply("Reopened.", changed=True)
        if isinstance(command, _SilencesCreated):
            transitions.silences_created(change, command.silences, command.ends_at, command.comment)
            return Reply(f"Silenced until {command.ends_at:%H:%M} UTC.", changed=True)
        if isinstance(command, _SilencesExpired):
            transitions.silences_expired(change, command.ids)
            return Reply(f"Expired {len(command.ids)} silence{'s' if len(command.ids) != 1 else ''}.", changed=True)
        if isinstance(command, p.ShowTimeline):
            events, edits, more = await session.run_sync(listed_timeline, incident.id, LISTED)
            text, blocks = listing(incident.id, events, edits, more)
            return Reply(text, extra={"blocks": blocks} if blocks else {})
        if isinstance(command, (fg.AddFollowUp, fg.CloseFollowUp)):
            outcome = await (self.followups.add(session, change, playbook, command) if isinstance(command, fg.AddFollowUp)
                             else self.followups.close(session, change, playbook, command))
            return Reply(outcome.text, changed=outcome.changed, extra={"refused": True} if outcome.refused else {})
        if isinstance(command, p.Postmortem):
            change.action(ActionKind.FILE_POSTMORTEM)
            return Reply("The postmortem draft is being rendered and uploaded to this channel.", changed=True)
        if isinstance(command, POSTMORTEM_CHANGES):
            return await change_postmortem(session, change, playbook, command, slash_command=self.command,
                                           group_members=self._group_members)
        return Reply(f"`{self.command}` cannot do that here.")

    async def _severity(self, change: IncidentChange, playbook: Playbook | None, command: p.SetSeverity) -> Reply:
        incident = change.incident
        if playbook is not None:
            try:
                lower = playbook.severity_rank(command.severity) > playbook.severity_rank(incident.severity)
            except KeyError:
                return Reply(f"`{command.severity}` is not a severity of this incident's playbook "
                             f"({', '.join(playbook.severity_names)}).")
            if lower and (refusal := await self._may("lower_severity", change, playbook)):
                return _refused(refusal)
        if command.severity == incident.severity:
            return Reply(f"The severity is already {command.severity.upper()}.")
        transitions.change_severity(change, command.severity, command.reason)
        return Reply(f"Severity is now {command.severity.upper()}.", changed=True)

    async def _commander(self, change: IncidentChange, playbook: Playbook | None, user: str) -> Reply:
        incident = change.incident
        if user == incident.commander:
            return Reply(f"<@{user}> is already the commander.")
        taking_over = user == change.actor
        if not (taking_over and incident.commander is None) and \
                (refusal := await self._may("change_commander", change, playbook)):
            return _refused(refusal)
        transitions.change_commander(change, user)
        return Reply(f"<@{user}> is now the commander.", changed=True)

    def _status(self, change: IncidentChange, status: str) -> Reply:
        if status == change.incident.status:
            return Reply(f"The status is already {status}.")
        transitions.change_status(change, status)
        return Reply(f"Status is now {status}.", changed=True)

    def _update(self, change: IncidentChange, playbook: Playbook | None, text: str) -> Reply:
        channels = transitions.post_update(change, _redact(playbook, text))
        where = f" and {', '.join(channels)}" if channels else ""
        return Reply(f"Update posted here{where}.", changed=True)

    async def _resolve(self, change: IncidentChange, playbook: Playbook | None, summary: str) -> Reply:
        if change.incident.status == "resolved":
            return Reply("This incident is already resolved.")
        if refusal := await self._may("resolve", change, playbook):
            return _refused(refusal)
        transitions.resolve(change, _redact(playbook, summary), command=self.command)
        expire = playbook is None or playbook.expire_silences_on_resolve
        return Reply("Resolved. The final update is posted.", changed=True,
                     extra={"resolved": True, "expire_silences": expire})


@dataclass(frozen=True)
class _SilencesCreated:
    silences: tuple[tuple[str, dict[str, str]], ...]  # (silence id, matched labels)
    ends_at: datetime
    comment: str


@dataclass(frozen=True)
class _SilencesExpired:
    ids: tuple[str, ...]


InIncidentCommand = p.Command | _SilencesCreated | _SilencesExpired


def _redact(playbook: Playbook | None, text: str) -> str:
    return redactor(playbook.redact_patterns if playbook is not None else ()).redact(text)

