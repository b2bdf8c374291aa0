"""Words for each outbox action kind, for the one line that tells people in the incident
channel what incident-bot could not do in Slack, and how to fix it when the fix is theirs.
Pure: everything from a payload or from Slack is mrkdwn-escaped.

Every kind the code enqueues has words here; ``tests/delivery/test_failure_words.py`` fails
when an :class:`ActionKind` has none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

from bot.domain.kinds import ActionKind
from bot.slack.blocks import escape

BOT_MENTION = "@incident-bot"
SERVICE_NAMES = {"github": "GitHub", "jira": "Jira", "pagerduty": "PagerDuty", "grafana": "Grafana",
                 "webhook": "The webhook receiver"}
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")

Payload = Mapping[str, object]
Words = Callable[[Payload], str]


def service_name(service: str) -> str:
    """A service as people know it (``GitHub``, ``PagerDuty``); an unknown one as escaped text."""
    return SERVICE_NAMES.get(service, escape(service))


def channel_ref(value: object) -> str:
    """A channel as Slack shows it: an id becomes a channel mention, a #name stays text."""
    text = str(value)
    return f"<#{text}>" if _CHANNEL_ID.fullmatch(text) else escape(text)


def _fixed(words: str) -> Words:
    return lambda payload: words


# Keyed by ActionKind; a StrEnum member is its stored string, so a kind read back finds its words.
ACTION_WORDS: Mapping[str, Words] = {
    ActionKind.CHANNEL_CREATE: _fixed("create the incident channel"),
    ActionKind.CHANNEL_TOPIC: _fixed("set the channel topic"),
    ActionKind.CHANNEL_PURPOSE: _fixed("set the channel purpose"),
    ActionKind.CHANNEL_INVITE: lambda payload: f"invite {escape(str(payload.get('user')))}",
    ActionKind.CHANNEL_ARCHIVE: _fixed("archive the incident channel"),
    ActionKind.MESSAGE_HEADER: _fixed("post the incident header"),
    ActionKind.MESSAGE_PIN_HEADER: _fixed("pin the incident header"),
    ActionKind.MESSAGE_UPDATE_HEADER: _fixed("update the incident header"),
    ActionKind.MESSAGE_POST: _fixed("post a message"),
    ActionKind.MESSAGE_POST_TO: lambda payload: f"post the update to {channel_ref(payload.get('channel'))}",
    ActionKind.MESSAGE_DIRECT: lambda payload: f"send a direct message to <@{escape(str(payload.get('user')))}>",
    ActionKind.MESSAGE_TRACE_LINKS: _fixed("post the trace links"),
    ActionKind.BOOKMARK_ADD: lambda payload: f"bookmark {escape(str(payload.get('title')))}",
    ActionKind.FILE_POSTMORTEM: _fixed("upload the postmortem draft"),
    ActionKind.TRIAGE_NOTICE: lambda payload: f"post the triage notice to {channel_ref(payload.get('channel'))}",
    ActionKind.POSTMORTEM_PUBLISH: _fixed("publish the postmortem"),
    ActionKind.GITHUB_ISSUE: lambda payload: f"create the GitHub issue for follow-up {escape(str(payload.get('number')))}",
    ActionKind.JIRA_ISSUE: lambda payload: f"create the Jira issue for follow-up {escape(str(payload.get('number')))}",
    ActionKind.PAGERDUTY_EVENT: lambda payload: _workflow(payload, {
        "trigger": "page PagerDuty", "acknowledge": "acknowledge the PagerDuty alert",
        "resolve": "resolve the PagerDuty alert"}.get(str(payload.get("event_action")), "send the PagerDuty event")),
    ActionKind.GRAFANA_ANNOTATE: lambda payload: _workflow(payload, "add the Grafana annotation"),
    ActionKind.GRAFANA_REGION: lambda payload: _workflow(payload, "end the Grafana annotation's region"),
    ActionKind.WEBHOOK_SEND: lambda payload: _workflow(
        payload, f"send the webhook to {escape(_without_query(payload.get('url')))}"),
    ActionKind.WORKFLOW_POST: lambda payload: _workflow(payload, f"post to {channel_ref(payload.get('channel'))}"),
    ActionKind.WORKFLOW_INVITE: lambda payload: _workflow(payload, "invite the workflow's people"),
}

def _without_query(url: object) -> str:
    """A URL as the channel may see it: a token in its query string stays out."""
    parts = urlsplit(str(url))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _workflow(payload: Payload, words: str) -> str:
    name = payload.get("workflow")
    return f"{words} (workflow {escape(str(name))})" if name else words


# Kinds that post to a channel the playbook names, and the playbook field that names it.
PLAYBOOK_CHANNEL_FIELDS: Mapping[str, str] = {
    ActionKind.MESSAGE_POST_TO: "stakeholder_channels",
    ActionKind.TRIAGE_NOTICE: "triage_channel",
    ActionKind.WORKFLOW_POST: "workflows[].do[].post.channel",
}


def error_code(error: str) -> str:
    """Slack's error code from an error that may carry detail (``channel_not_found: #x``)."""
    return error.split(":", 1)[0].strip()


def channel_fix(code: str, channel: object, field: str) -> str | None:
    """What is wrong with a channel the playbook names, and how to fix it; None when the
    error is not about the channel being there for the bot."""
    invite = f"type `/invite {BOT_MENTION}` there"
    if code == "channel_not_found":
        return (f"the channel does not exist, or is private and the bot is not in it — create it, {invite}, "
                f"or fix {field} in the playbook")
    if code == "not_in_channel":
        return f"the bot is not in {channel_ref(channel)} — {invite}"
    if code == "is_archived":
        return f"the channel is archived — unarchive it, or fix {field} in the playbook"
    return None


def action_words(kind: str, payload: Payload) -> str:
    """What the action would have done, as "incident-bot could not …" continues."""
    words = ACTION_WORDS.get(kind)  # none for a kind written by a newer version of the bot
    return words(payload) if words is not None else f"carry out {escape(kind)}"


def describe_failure(kind: str, payload: Payload, error: str, *, service: str = "slack",
                     hint: str | None = None) -> str:
    """One short line: what incident-bot could not do, and why (with the fix, when people can fix it)."""
    what = action_words(kind, payload)
    if service != "slack":
        said = f"{service_name(service)} said `{escape(error)}`"
        return f"incident-bot could not {what}: {said}" + (f" — {escape(hint)}." if hint else ".")
    field = PLAYBOOK_CHANNEL_FIELDS.get(kind)
    fix = channel_fix(error_code(error), payload.get("channel"), field) if field is not None else None
    if fix is not None:
        return f"incident-bot could not {what}: {fix}."
    return f"incident-bot could not {what}: Slack said `{escape(error)}`."
