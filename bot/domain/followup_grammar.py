"""The follow-up subcommands' words and due dates. Pure.

``followup <text> [<@owner>] [due <YYYY-MM-DD|duration>]``, ``followups``,
``followup done <n>``, ``followup drop <n> [reason]``. A due date means the end of that
day in UTC (midnight after it); a duration counts from now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.playbook import parse_duration

_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_NUMBER = re.compile(r"^#?([0-9]{1,9})$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
MAX_TEXT = 2000
MAX_DUE = timedelta(days=3660)

FOLLOWUP_USAGE = "followup <text> [<@owner>] [due <YYYY-MM-DD|duration, e.g. 7d>]"
FOLLOWUPS_USAGE = "followups"
DONE_USAGE = "followup done <n>"
DROP_USAGE = "followup drop <n> [reason]"


class FollowUpInputError(ValueError):
    """What is wrong with the words; the caller adds what to type."""

    def __init__(self, problem: str, usage: str) -> None:
        super().__init__(problem)
        self.usage = usage


Due = date | timedelta


@dataclass(frozen=True)
class AddFollowUp:
    text: str
    owner: str | None = None
    due: Due | None = None


@dataclass(frozen=True)
class ListFollowUps:
    pass


@dataclass(frozen=True)
class CloseFollowUp:
    number: int
    status: str  # done|dropped
    reason: str = ""


FollowUpCommand = AddFollowUp | ListFollowUps | CloseFollowUp


def parse_due(word: str) -> Due:
    """A date (``2026-12-24``) or a Prometheus duration (``20s``, ``7d``, ``1w2d``)."""
    if _DATE.match(word):
        try:
            return date.fromisoformat(word)
        except ValueError:
            raise ValueError(f"`{word[:20]}` is not a date") from None
    try:
        duration = parse_duration(word)
    except ValueError:
        raise ValueError(f"`{word[:20]}` is neither a date (YYYY-MM-DD) nor a duration (20s, 4h, 7d)") from None
    if duration <= timedelta(0):
        raise ValueError("A due duration must be more than 0")
    if duration > MAX_DUE:
        raise ValueError("Set a due time within ten years")
    return duration


def due_at(due: Due, now: datetime) -> datetime:
    """When ``due`` falls due; a date that has already ended is refused (ValueError)."""
    if isinstance(due, timedelta):
        return now + due
    end_of_day = datetime.combine(due + timedelta(days=1), time(0), tzinfo=UTC)
    if end_of_day <= now:
        raise ValueError(f"{due.isoformat()} is in the past (today is {now.astimezone(UTC):%Y-%m-%d} UTC)")
    return end_of_day


def due_label(at: datetime) -> str:
    """How a due time reads: the date for an end of day, else date and time (UTC)."""
    at = at.astimezone(UTC)
    if at.time() == time(0):
        return (at - timedelta(days=1)).strftime("%Y-%m-%d")
    return at.strftime("%Y-%m-%d %H:%M:%S UTC" if at.second else "%Y-%m-%d %H:%M UTC")


def parse_followup(sub: str, args: list[str]) -> FollowUpCommand:
    """``sub`` is ``followup`` or ``followups``; raises FollowUpInputError."""
    if sub == "followups":
        if args:
            raise FollowUpInputError("`followups` takes nothing after it", FOLLOWUPS_USAGE)
        return ListFollowUps()
    if args and args[0].lower() in ("done", "drop"):
        status = "done" if args[0].lower() == "done" else "dropped"
        usage = DONE_USAGE if status == "done" else DROP_USAGE
        match = _NUMBER.match(args[1]) if len(args) > 1 else None
        if match is None:
            raise FollowUpInputError("Say which follow-up, by its number", usage)
        reason = " ".join(args[2:]).strip()
        if status == "done" and reason:
            raise FollowUpInputError("`done` takes only the number", usage)
        return CloseFollowUp(int(match.group(1)), status, reason[:500])
    words, due, owner = list(args), None, None
    if words and (match := _MENTION.match(words[-1])):  # the owner may also come after the due time
        owner, words = match.group(1), words[:-1]
    if len(words) >= 2 and words[-2].lower() == "due":
        try:
            due = parse_due(words[-1])
        except ValueError as exc:
            raise FollowUpInputError(str(exc), FOLLOWUP_USAGE) from None
        words = words[:-2]
    elif words and words[-1].lower() == "due":
        raise FollowUpInputError("Say when it is due after `due`", FOLLOWUP_USAGE)
    if owner is None and words and (match := _MENTION.match(words[-1])):
        owner, words = match.group(1), words[:-1]
    text = " ".join(words).strip()
    if not text:
        raise FollowUpInputError("Write what needs doing", FOLLOWUP_USAGE)
    if len(text) > MAX_TEXT:
        raise FollowUpInputError(f"Keep the text under {MAX_TEXT} characters", FOLLOWUP_USAGE)
    return AddFollowUp(text, owner, due)
