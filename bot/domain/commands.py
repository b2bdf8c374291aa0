"""Parse ``/incident`` text into a command, or a one-line error saying what to type. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.domain import followup_grammar as fg
from bot.domain.due import DUE_FORMAT, Due, DueError, parse_due
from bot.domain.followup_grammar import AddFollowUp, CloseFollowUp, ListFollowUps
from bot.playbook import parse_duration

STATUSES = ("investigating", "identified", "monitoring", "resolved")
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_ROLE = re.compile(r"^[a-z][a-z0-9_-]{0,29}$")


@dataclass(frozen=True)
class Declare:
    title: str
    severity: str | None = None


@dataclass(frozen=True)
class ListIncidents:
    pass


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class SetSeverity:
    severity: str
    reason: str = ""


@dataclass(frozen=True)
class SetCommander:
    user: str


@dataclass(frozen=True)
class AssignRole:
    role: str
    user: str


@dataclass(frozen=True)
class SetStatus:
    status: str


@dataclass(frozen=True)
class PostUpdate:
    text: str


@dataclass(frozen=True)
class AddNote:
    text: str


@dataclass(frozen=True)
class Resolve:
    summary: str = ""


@dataclass(frozen=True)
class Reopen:
    pass


@dataclass(frozen=True)
class Silence:
    duration: timedelta | None  # None means "off": expire the incident's silences
    comment: str = ""


@dataclass(frozen=True)
class ShowTimeline:
    pass


@dataclass(frozen=True)
class Postmortem:
    """Upload the draft as it is now."""


@dataclass(frozen=True)
class PostmortemOwner:
    user: str


@dataclass(frozen=True)
class PostmortemDue:
    due: Due


@dataclass(frozen=True)
class PostmortemReview:
    """The draft is ready for review."""


@dataclass(frozen=True)
class PostmortemPublish:
    pass


@dataclass(frozen=True)
class Acknowledge:
    """The header's Acknowledge button (any command by the commander also acknowledges)."""


@dataclass(frozen=True)
class RaiseSeverity:
    """The header's Raise severity button: one level more severe."""


Command = (Declare | ListIncidents | Help | SetSeverity | SetCommander | AssignRole | SetStatus | PostUpdate
           | AddNote | Resolve | Reopen | Silence | ShowTimeline | Postmortem | PostmortemOwner | PostmortemDue
           | PostmortemReview | PostmortemPublish | Acknowledge | RaiseSeverity | AddFollowUp | ListFollowUps
           | CloseFollowUp)

# Commands that work anywhere; the rest need an incident channel.
ANYWHERE = (Declare, ListIncidents, Help)


class CommandError(ValueError):
    """What was wrong and what to type instead, in one line."""


USAGE = {
    "declare": "declare <title> [severity]",
    "list": "list",
    "help": "help",
    "severity": "severity <{severities}> [reason]",
    "commander": "commander <@user>",
    "role": "role <name> <@user>",
    "status": "status <investigating|identified|monitoring|resolved>",
    "update": "update <text>",
    "note": "note <text>",
    "resolve": "resolve [summary]",
    "reopen": "reopen",
    "silence": "silence <duration, e.g. 2h>|off [comment]",
    "timeline": "timeline",
    "postmortem": "postmortem [owner <@user>|due <YYYY-MM-DD|duration>|review|publish]",
    "followup": fg.FOLLOWUP_USAGE,
    "followups": fg.FOLLOWUPS_USAGE,
    "followup done": fg.DONE_USAGE,
    "followup drop": fg.DROP_USAGE,
}


def usage(sub: str, command: str, severities: Sequence[str]) -> str:
    return f"`{command} {entities(USAGE[sub].format(severities='|'.join(severities)))}`"


def entities(text: str) -> str:
    """Text with the three characters Slack reads as markup (``<placeholder>`` would be a
    link) as the entities Slack shows literally."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def parse_mention(token: str) -> str | None:
    match = _MENTION.match(token)
    return match.group(1) if match else None


def parse_command(text: str, severities: Sequence[str], command: str = "/incident") -> Command:
    """Parse the text after the slash command. Raises CommandError with what to type."""
    words = text.strip().split()
    if not words:
        return Help()
    sub, args = words[0].lower(), words[1:]
    rest = " ".join(args)

    def wrong(problem: str) -> CommandError:
        return CommandError(f"{problem}. Type {usage(sub, command, severities)}.")

    if sub == "help":
        return Help()
    if sub == "list":
        return ListIncidents()
    if sub == "declare":
        severity = None
        if args and args[-1].lower() in severities:
            severity, args = args[-1].lower(), args[:-1]
        title = " ".join(args).strip()
        if not title:
            raise wrong("Give the incident a title")
        return Declare(title[:150], severity)
    if sub == "severity":
        if not args:
            raise wrong("Say which severity")
        if args[0].lower() not in severities:
            raise wrong(f"`{args[0][:20]}` is not a severity here")
        return SetSeverity(args[0].lower(), " ".join(args[1:]))
    if sub == "commander":
        user = parse_mention(args[0]) if len(args) == 1 else None
        if user is None:
            raise wrong("Mention exactly one person with @")
        return SetCommander(user)
    if sub == "role":
        if len(args) != 2 or not _ROLE.match(args[0].lower()) or parse_mention(args[1]) is None:
            raise wrong("Give a role name (letters, digits, - or _) and mention one person with @")
        return AssignRole(args[0].lower(), parse_mention(args[1]) or "")
    if sub == "status":
        if len(args) != 1 or args[0].lower() not in STATUSES:
            raise wrong("Say one of the four statuses")
        return SetStatus(args[0].lower())
    if sub in ("update", "note"):
        if not rest:
            raise wrong("Write the text after the word")
        return PostUpdate(rest) if sub == "update" else AddNote(rest)
    if sub == "resolve":
        return Resolve(rest)
    if sub == "reopen":
        return Reopen()
    if sub == "silence":
        return _silence(args, wrong)
    if sub == "timeline":
        return ShowTimeline()
    if sub == "postmortem":
        return _postmortem(args, wrong)
    if sub in ("followup", "followups"):
        try:
            return fg.parse_followup(sub, args)
        except fg.FollowUpInputError as exc:
            raise CommandError(f"{exc}. Type `{command} {entities(exc.usage)}`.") from None
    raise CommandError(f"Unknown subcommand `{sub[:30]}`. Type `{command} help` to see what it can do.")


def _silence(args: list[str], wrong: object) -> Silence:
    assert callable(wrong)
    if not args:
        raise wrong("Say for how long")
    if args[0].lower() == "off":
        return Silence(None, " ".join(args[1:]))
    try:
        duration = parse_duration(args[0])
    except ValueError:
        raise wrong(f"`{args[0][:20]}` is not a duration") from None
    if duration <= timedelta(0) or duration > timedelta(days=7):
        raise wrong("Silence for more than 0 and at most 7d")
    return Silence(duration, " ".join(args[1:]))


def _postmortem(args: list[str], wrong: Callable[[str], CommandError]) -> Command:
    if not args:
        return Postmortem()
    what, rest = args[0].lower(), args[1:]
    if what == "owner":
        user = parse_mention(rest[0]) if len(rest) == 1 else None
        if user is None:
            raise wrong("Mention exactly one person with @ as the owner")
        return PostmortemOwner(user)
    if what == "due":
        if len(rest) != 1:
            raise wrong(f"Say when it is due: {DUE_FORMAT}")
        try:
            return PostmortemDue(parse_due(rest[0]))
        except DueError as exc:
            raise wrong(str(exc)[:1].upper() + str(exc)[1:]) from None
    if what == "review" and not rest:
        return PostmortemReview()
    if what == "publish" and not rest:
        return PostmortemPublish()
    raise wrong(f"`{what[:20]}` is not something a postmortem can do")


def help_text(command: str, severities: Sequence[str]) -> str:
    lines = [f"*{command}* — run anywhere:"]
    lines += [f"• {usage(sub, command, severities)}" for sub in ("declare", "list", "help")]
    lines.append("In an incident channel:")
    lines += [f"• {usage(sub, command, severities)}" for sub in USAGE if sub not in ("declare", "list", "help")]
    return "\n".join(lines)
