"""The kinds the bot stores: timeline events, outbox actions and timers.

Each value is the string stored in the database, so stored data reads the same
whichever code wrote it. A ``StrEnum`` member equals its string, and a string read
back from the database compares (and hashes) equal to its member.
"""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """What happened to an incident: one row of its timeline."""

    INCIDENT_OPENED = "incident.opened"
    INCIDENT_RESOLVED = "incident.resolved"
    INCIDENT_REOPENED = "incident.reopened"
    COMMANDER_ASSIGNED = "commander.assigned"
    COMMANDER_ACKNOWLEDGED = "commander.acknowledged"
    COMMANDER_CHANGED = "commander.changed"
    COMMANDER_ESCALATED = "commander.escalated"
    ESCALATION_EXHAUSTED = "escalation.exhausted"
    SEVERITY_CHANGED = "severity.changed"
    STATUS_CHANGED = "status.changed"
    ROLE_ASSIGNED = "role.assigned"
    UPDATE_POSTED = "update.posted"
    UPDATE_REMINDED = "update.reminded"
    UPDATE_OVERDUE = "update.overdue"
    NOTE_ADDED = "note.added"
    ALERT_FIRED = "alert.fired"
    ALERT_RESOLVED = "alert.resolved"
    ALERT_STALE = "alert.stale"
    ALERTS_ALL_RESOLVED = "alerts.all_resolved"
    STORM_STARTED = "storm.started"
    STORM_GROUP_JOINED = "storm.group_joined"
    SILENCE_CREATED = "silence.created"
    SILENCE_EXPIRED = "silence.expired"
    MESSAGE_PINNED = "message.pinned"
    MESSAGE_UNPINNED = "message.unpinned"
    PARTICIPANT_JOINED = "participant.joined"
    CHANNEL_ARCHIVED = "channel.archived"
    SLACK_ACTION_FAILED = "slack.action_failed"  # any outbox action, whichever service it talks to
    SERVICE_UNAVAILABLE = "service.unavailable"  # a service other than Slack keeps failing: told once
    SERVICE_RECOVERED = "service.recovered"
    COMMAND = "command"  # every /incident command, allowed or refused
    # After the incident: the postmortem as tracked work, and its follow-ups.
    POSTMORTEM_STARTED = "postmortem.started"  # owner, due_at (none: no due time for this severity)
    POSTMORTEM_OWNER_CHANGED = "postmortem.owner_changed"
    POSTMORTEM_DUE_CHANGED = "postmortem.due_changed"
    POSTMORTEM_STATUS_CHANGED = "postmortem.status_changed"
    POSTMORTEM_SUSPENDED = "postmortem.suspended"  # the incident reopened: the clock stops
    POSTMORTEM_REMINDED = "postmortem.reminded"
    POSTMORTEM_OVERDUE = "postmortem.overdue"
    POSTMORTEM_PUBLISHED = "postmortem.published"
    POSTMORTEM_EDITED = "postmortem.edited"  # a version of its Markdown was saved: version, source
    FOLLOWUP_ADDED = "followup.added"
    FOLLOWUP_DONE = "followup.done"
    FOLLOWUP_DROPPED = "followup.dropped"
    FOLLOWUP_REMINDED = "followup.reminded"
    FOLLOWUP_OVERDUE = "followup.overdue"
    FOLLOWUP_EXPORTED = "followup.exported"  # its issue exists in the tracker: tracker, key, url
    FOLLOWUP_DUE_CHANGED = "followup.due_changed"  # number, from, to (None: no due time)
    # Edits of the timeline, each a new event naming the event it is about (bot/domain/timeline_edits.py)
    TIMELINE_MARKED = "timeline.marked"  # {event_id, moment, reason, source}
    TIMELINE_UNMARKED = "timeline.unmarked"  # {event_id, moment, reason, source}
    TIMELINE_CORRECTED = "timeline.corrected"  # {event_id, text?, occurred_at?, reason, source}
    TIMELINE_HIDDEN = "timeline.hidden"  # {event_id, reason, source}
    TIMELINE_SHOWN = "timeline.shown"  # {event_id, reason, source}
    WORKFLOW_ACTION = "workflow.action"  # a playbook workflow's action was carried out


class ActionKind(StrEnum):
    """What the outbox does in Slack (the past tense of some is an :class:`EventKind`)."""

    CHANNEL_CREATE = "channel.create"
    CHANNEL_TOPIC = "channel.topic"
    CHANNEL_PURPOSE = "channel.purpose"
    CHANNEL_INVITE = "channel.invite"
    CHANNEL_ARCHIVE = "channel.archive"
    MESSAGE_HEADER = "message.header"
    MESSAGE_PIN_HEADER = "message.pin_header"
    MESSAGE_UPDATE_HEADER = "message.update_header"
    MESSAGE_POST = "message.post"
    MESSAGE_POST_TO = "message.post_to"
    MESSAGE_TRACE_LINKS = "message.trace_links"
    BOOKMARK_ADD = "bookmark.add"
    FILE_POSTMORTEM = "file.postmortem"
    TRIAGE_NOTICE = "triage.notice"
    MESSAGE_DIRECT = "message.direct"  # a direct message to one person
    POSTMORTEM_PUBLISH = "postmortem.publish"  # the final document, as a canvas or a file
    GITHUB_ISSUE = "github.issue"  # a follow-up's issue in GitHub Issues
    JIRA_ISSUE = "jira.issue"  # a follow-up's issue in Jira Cloud
    # Playbook workflows (bot/domain/workflows.py), on the incident's workflow:{id} queue.
    PAGERDUTY_EVENT = "pagerduty.event"
    GRAFANA_ANNOTATE = "grafana.annotate"
    GRAFANA_REGION = "grafana.region"
    WEBHOOK_SEND = "webhook.send"
    WORKFLOW_POST = "workflow.post"
    WORKFLOW_INVITE = "workflow.invite"


# The service each outbox action kind talks to, for kinds that do not talk to Slack. Their
# queues are their own (an outage there never holds up the incident's Slack messages), and
# an outage of that service is told to the commander once, not once per action or retry.
ACTION_SERVICES: dict[str, str] = {
    ActionKind.GITHUB_ISSUE: "github",
    ActionKind.JIRA_ISSUE: "jira",
    ActionKind.PAGERDUTY_EVENT: "pagerduty",
    ActionKind.GRAFANA_ANNOTATE: "grafana",
    ActionKind.GRAFANA_REGION: "grafana",
    ActionKind.WEBHOOK_SEND: "webhook",
}

# Attempts after which a kind that keeps failing transiently gives up (reported like a
# permanent failure). Kinds not listed are retried for as long as it takes.
RETRY_LIMITS: dict[str, int] = {
    ActionKind.PAGERDUTY_EVENT: 10,  # with the 5 min cap: about half an hour of trying
    ActionKind.GRAFANA_ANNOTATE: 8,
    ActionKind.GRAFANA_REGION: 8,
    ActionKind.WEBHOOK_SEND: 8,
}


def action_service(kind: str) -> str:
    return ACTION_SERVICES.get(kind, "slack")


def retry_limit(kind: str) -> int | None:
    return RETRY_LIMITS.get(kind)


class TimerKind(StrEnum):
    UPDATE_DUE = "update_due"
    UPDATE_OVERDUE = "update_overdue"
    ACK_TIMEOUT = "ack_timeout"
    AUTO_RESOLVE = "auto_resolve"
    ARCHIVE = "archive"
    POSTMORTEM_REMINDER = "postmortem_reminder"  # before the due time, and at it
    POSTMORTEM_OVERDUE = "postmortem_overdue"  # escalates once to the commander
    FOLLOWUP_DUE = "followup_due"  # one per follow-up with a due date: payload {"number": n}


# Timers that stop mattering once the incident is resolved (archiving starts then).
ACTIVE_TIMER_KINDS = (TimerKind.UPDATE_DUE, TimerKind.UPDATE_OVERDUE, TimerKind.ACK_TIMEOUT, TimerKind.AUTO_RESOLVE)
