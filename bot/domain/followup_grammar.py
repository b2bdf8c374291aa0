"""The follow-up subcommands' words and due dates. Pure.

``followup <text> [<@owner>] [due <YYYY-MM-DD|duration>]``, ``followups``,
``followup done <n>``, ``followup drop <n> [reason]``. A due date means the end of that
day in UTC (midnight after it); a duration counts from now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.due import Due, parse_due

_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_NUMBER = re.compile(r"^#?([0-9]{1,9})$")
MAX_TEXT = 2000

FOLLOWUP_USAGE = "followup <text> [<@owner>] [due <YYYY-MM-DD|duration, e.g. 7d>]"
FOLLOWUPS_USAGE = "followups"
DONE_USAGE = "followup done <n>"
DROP_USAGE = "followup drop <n> [reason]"


class FollowUpInputError(ValueError):
    """What is wrong with the words; the caller adds what to type."""

    def __init__(self, problem: str, usage: str) -> None:
        super().__init__(problem)
        self.usage = usage


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
