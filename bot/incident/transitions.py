"""Each incident transition, written once: the state change, the timeline event that
records it, the Slack announcements and the timer keeping.

Commands (:mod:`bot.incident.command_service`), fired timers (:mod:`bot.incident.due_timers`),
reconciliation and Alertmanager deliveries call these over an :class:`IncidentChange`;
whether the actor may do it, and what to reply, is theirs to decide.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import Enum, auto

from sqlalchemy.orm import Session

from bot.domain import policy as pol
from bot.domain.kinds import ActionKind, EventKind
from bot.incident import timer_schedule as schedule
from bot.incident.change import IncidentChange, IncidentUpdate, Payload
from bot.incident.opening import open_incident
from bot.incident.postmortem_tracking import KeepPostmortem
from bot.slack.blocks import escape
from bot.slack.texts import update_text
from storage import alerting as repo
from storage import outbox

__all__ = [
    "AUTO_RESOLVE_SUMMARY", "BOT_AUTHOR", "Announcement", "acknowledge", "add_note", "alerts_all_resolved",
    "alerts_fired_again", "alerts_went_stale", "archive_channel", "assign_role", "change_commander",
    "change_severity", "change_status", "escalate_commander", "open_incident", "post_update", "reopen", "resolve",
    "silences_created", "silences_expired",
]

BOT_AUTHOR = "incident-bot"  # who signs what the bot posts on its own
AUTO_RESOLVE_SUMMARY = "all alerts stayed resolved"
AUTO_RESOLVE_TEXT = "Resolved automatically: every alert stayed resolved for the quiet period."


class Announcement(Enum):
    """How a transition is announced in the incident channel."""

    OWN_LINE = auto()  # its own line, signed by the actor (a person's command)
    IN_BATCH = auto()  # by the caller, in one message for everything it changed (an Alertmanager delivery)


def acknowledge(change: IncidentChange) -> None:
    """The commander (the actor) acknowledges their command."""
    change.set(acknowledged_at=change.now)
    change.event(EventKind.COMMANDER_ACKNOWLEDGED, {"commander": change.actor})
    change.keep_timers(schedule.on_acknowledged)


def change_commander(change: IncidentChange, user: str) -> None:
    """``user`` commands from now on; taking command oneself acknowledges it at once."""
    taking_over = user == change.actor
    old = change.incident.commander
    change.set(commander=user, acknowledged_at=change.now if taking_over else None)
    change.event(EventKind.COMMANDER_CHANGED, {"from": old, "to": user})
    change.invite(user)
    verb = "took command" if taking_over else f"made <@{user}> the commander"
    change.announce(f":bust_in_silhouette: <@{change.actor}> {verb}.", topic=True)
    change.keep_timers(schedule.on_acknowledged)


def escalate_commander(change: IncidentChange) -> None:
    """The commander did not acknowledge in time: the next person down the rotation commands."""
    incident = change.incident
    nxt = pol.next_in_snapshot(incident.policy, incident.commander)
    timeout = pol.ack_timeout(incident.policy, incident.severity) or timedelta(0)
    if nxt is None:
        change.event(EventKind.ESCALATION_EXHAUSTED, {"commander": incident.commander})
        change.announce(f":warning: <@{incident.commander}> has not acknowledged and nobody is left in the "
                        "rotation to escalate to. Anyone can press *Take command*.")
        return
    previous = incident.commander
    change.set(commander=nxt, acknowledged_at=None)
    change.event(EventKind.COMMANDER_ESCALATED, {"from": previous, "to": nxt, "reason": "not acknowledged",
                                                 "timeout_seconds": timeout.total_seconds()})
    change.invite(nxt)
    change.announce(f":rotating_light: <@{nxt}>, you are now the commander: <@{previous}> did not acknowledge "
                    f"within {_minutes(timeout)}. Press *Acknowledge* on the header.", topic=True)
    change.keep_timers(schedule.on_escalated)


def assign_role(change: IncidentChange, role: str, user: str) -> None:
    roles = dict(change.incident.roles or {})
    roles[role] = user
    change.set(roles=roles)
    change.event(EventKind.ROLE_ASSIGNED, {"role": role, "user": user})
    change.invite(user)
    change.announce(f"<@{change.actor}> made <@{user}> *{escape(role)}*.")


def change_severity(change: IncidentChange, severity: str, reason: str, *, automatic: bool = False,
                    announcement: Announcement = Announcement.OWN_LINE) -> None:
    """A new severity, set by the actor or, ``automatic``, raised by a more severe alert."""
    old = change.incident.severity
    change.set(severity=severity)
    change.event(EventKind.SEVERITY_CHANGED, {"from": old, "to": severity, "reason": reason, "automatic": automatic})
    if announcement is Announcement.OWN_LINE:
        because = f": {escape(reason)}" if reason else ""
        change.announce(f":rotating_light: <@{change.actor}> changed severity {old.upper()} → "
                        f"{severity.upper()}{because}", topic=True)
    else:
        change.refresh_topic()
    change.keep_timers(schedule.on_severity_changed)


def change_status(change: IncidentChange, status: str) -> None:
    """A status other than resolved (that is :func:`resolve`)."""
    incident = change.incident
    old = incident.status
    values: IncidentUpdate = {"status": status}
    if status == "monitoring" and incident.mitigated_at is None:
        values["mitigated_at"] = change.now
    if old == "resolved":
        values["resolved_at"] = None
    change.set(**values)
    change.event(EventKind.STATUS_CHANGED, {"from": old, "to": status})
    change.announce(f":large_blue_circle: <@{change.actor}> set the status to *{status}*.", topic=True)


def post_update(change: IncidentChange, text: str) -> list[str]:
    """Post a stakeholder update here and to the stakeholder channels; returns those channels."""
    incident = change.incident
    message = update_text(incident, text, change.actor)
    change.event(EventKind.UPDATE_POSTED, {"text": text})
    change.announce(message)
    channels = pol.stakeholder_channels(incident.policy, incident.severity)  # as in force when it opened
    for channel in channels:
        change.post_elsewhere(channel, message)
    change.keep_timers(schedule.on_update_posted)
    return channels


def add_note(change: IncidentChange, text: str) -> None:
    change.event(EventKind.NOTE_ADDED, {"text": text})


def resolve(change: IncidentChange, summary: str, *, automatic: bool = False, command: str = "/incident") -> None:
    """Resolve the incident, by a person (the actor) or automatically, and post the final
    update here and to the stakeholder channels."""
    incident = change.incident
    values: IncidentUpdate = {"status": "resolved", "resolved_at": change.now}
    if incident.mitigated_at is None:
        values["mitigated_at"] = change.now
    change.set(**values)
    if automatic:
        change.event(EventKind.INCIDENT_RESOLVED, {"summary": AUTO_RESOLVE_SUMMARY, "automatic": True})
        final = update_text(change.incident, AUTO_RESOLVE_TEXT, BOT_AUTHOR, final=True)
    else:
        change.event(EventKind.INCIDENT_RESOLVED, {"summary": summary})
        final = update_text(change.incident, f"Resolved. {summary}".strip(), change.actor, final=True)
    change.announce(final, topic=True)
    for channel in pol.stakeholder_channels(incident.policy, incident.severity):
        change.post_elsewhere(channel, final)
    change.keep_timers(schedule.on_resolved)
    change.keep_timers(KeepPostmortem("resolved", command))


def reopen(change: IncidentChange, *, cause: Payload | None = None,
           announcement: Announcement = Announcement.OWN_LINE) -> None:
    """Reopen a resolved incident: by the actor, or for the ``cause`` the event records
    (an alert that fired again within the reopen window).

    Whether all its alerts are resolved is left as it is: reopening changes no alert.
    An alert that fires again says so itself (:func:`alerts_fired_again`)."""
    change.set(status="investigating", resolved_at=None)
    change.event(EventKind.INCIDENT_REOPENED, {"by": change.actor} if cause is None else cause)
    if announcement is Announcement.OWN_LINE:
        change.announce(f":recycle: <@{change.actor}> reopened the incident.", topic=True)
    else:
        change.refresh_topic()
    change.keep_timers(schedule.on_reopened)
    change.keep_timers(KeepPostmortem("reopened"))


def alerts_all_resolved(change: IncidentChange, data: Payload, occurred_at: datetime) -> None:
    """The last firing alert resolved (at ``occurred_at``): the quiet period before an
    automatic resolve starts now."""
    change.set(all_alerts_resolved_at=change.now)
    change.event(EventKind.ALERTS_ALL_RESOLVED, data, occurred_at=occurred_at)
    change.keep_timers(schedule.on_alerts_all_resolved)


def alerts_fired_again(change: IncidentChange) -> None:
    """New alerts fire: the incident's alerts are no longer all resolved, and a quiet
    period that would have resolved it automatically is over."""
    change.set(all_alerts_resolved_at=None)
    change.keep_timers(schedule.on_alerts_fired)


def silences_created(change: IncidentChange, silences: Sequence[tuple[str, Mapping[str, str]]], ends_at: datetime,
                     comment: str) -> None:
    """Alertmanager silences (id, matched labels) now cover the incident's alerts."""
    for silence_id, labels in silences:
        change.event(EventKind.SILENCE_CREATED, {"id": silence_id, "ends_at": ends_at.isoformat(),
                                                 "matchers": dict(labels), "comment": comment})
    change.refresh_header()
    count = len(silences)
    change.announce(f":mute: <@{change.actor}> silenced this incident's alerts in Alertmanager until "
                    f"{ends_at:%Y-%m-%d %H:%M} UTC ({count} silence{'s' if count != 1 else ''}).")


def silences_expired(change: IncidentChange, ids: Sequence[str]) -> None:
    for silence_id in ids:
        change.event(EventKind.SILENCE_EXPIRED, {"id": silence_id})
    change.refresh_header()
    change.announce(f":loud_sound: <@{change.actor}> ended this incident's silences in Alertmanager.")


def alerts_went_stale(session: Session, change: IncidentChange, fingerprints: Sequence[str]) -> None:
    """Firing alerts Alertmanager no longer knows: marked stale (nobody saw them resolve)."""
    incident = change.incident
    repo.set_stale(session, incident.id, fingerprints, change.now)
    for fingerprint in fingerprints:
        change.event(EventKind.ALERT_STALE, {"fingerprint": fingerprint})
    who = f"<@{incident.commander}>" if incident.commander else "Commander"
    count = len(fingerprints)
    change.announce(f":ghost: {who}: {count} firing alert{'s are' if count != 1 else ' is'} no longer known to "
                    "Alertmanager, and nobody saw "
                    f"{'them' if count != 1 else 'it'} resolve. Check the source; resolve the incident if it is over.")
    change.refresh_header()


def archive_channel(session: Session, change: IncidentChange) -> None:
    """Archive the channel of an incident resolved a while ago, its postmortem draft filed first."""
    if not outbox.results(session, f"incident:{change.incident.id}", ActionKind.FILE_POSTMORTEM):
        change.action(ActionKind.FILE_POSTMORTEM)
    change.event(EventKind.CHANNEL_ARCHIVED, {})
    change.announce(":file_cabinet: This incident was resolved a while ago; the channel is now archived. "
                    "Its timeline stays with incident-bot.")
    change.action(ActionKind.CHANNEL_ARCHIVE)


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} min" if minutes else f"{int(delta.total_seconds())} s"
