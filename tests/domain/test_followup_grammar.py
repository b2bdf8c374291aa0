"""The follow-up subcommands' grammar and due times, with plain values."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.commands import CommandError, entities, help_text, parse_command
from bot.domain.due import due_at, due_label
from bot.domain.followup_grammar import AddFollowUp, CloseFollowUp, ListFollowUps

SEVERITIES = ("sev1", "sev2")
NOW = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "command"), [
    ("followup Add an alert", AddFollowUp("Add an alert")),
    ("followup Add an alert <@UBOB|bob>", AddFollowUp("Add an alert", "UBOB")),
    ("followup Add an alert <@UBOB> due 20s", AddFollowUp("Add an alert", "UBOB", timedelta(seconds=20))),
    ("followup Add an alert due 1w2d <@UBOB>", AddFollowUp("Add an alert", "UBOB", timedelta(days=9))),
    ("followup Add an alert due 2026-12-24", AddFollowUp("Add an alert", None, date(2026, 12, 24))),
    ("followup ask <@UBOB> about it", AddFollowUp("ask <@UBOB> about it")),  # a mention inside is text
    ("followup due diligence on vendors", AddFollowUp("due diligence on vendors")),
    ("followups", ListFollowUps()),
    ("followup done 3", CloseFollowUp(3, "done")),
    ("followup DONE #3", CloseFollowUp(3, "done")),
    ("followup drop 2", CloseFollowUp(2, "dropped")),
    ("followup drop 2 duplicate of 1", CloseFollowUp(2, "dropped", "duplicate of 1")),
])
def test_followup_commands_parse(text: str, command: object) -> None:
    assert parse_command(text, SEVERITIES) == command


@pytest.mark.parametrize(("text", "problem"), [
    ("followup", "Write what needs doing"),
    ("followup <@UBOB> due 7d", "Write what needs doing"),
    ("followup Fix due", "Say when it is due after `due`"),
    ("followup Fix due tomorrow", "`tomorrow` is neither a date (YYYY-MM-DD) nor a duration (20s, 4h, 7d)"),
    ("followup Fix due 2026-02-30", "`2026-02-30` is not a date"),
    ("followup Fix due 0s", "A due duration must be more than 0"),
    ("followup Fix due 20000d", "Set a due time within ten years"),
    ("followup done", "Say which follow-up, by its number"),
    ("followup done three", "Say which follow-up, by its number"),
    ("followup done 3 because", "`done` takes only the number"),
    ("followups 3", "`followups` takes nothing after it"),
])
def test_bad_followup_words_say_what_is_wrong_and_what_to_type(text: str, problem: str) -> None:
    with pytest.raises(CommandError) as raised:
        parse_command(text, SEVERITIES, "/inc")
    assert str(raised.value).startswith(problem + ". Type `/inc followup")


def test_a_date_is_due_at_the_end_of_that_day_utc_and_a_past_day_is_refused() -> None:
    assert due_at(date(2026, 11, 22), NOW) == datetime(2026, 11, 23, tzinfo=UTC)  # today still counts
    assert due_at(timedelta(seconds=20), NOW) == NOW + timedelta(seconds=20)
    with pytest.raises(ValueError, match=r"^2026-11-21 is in the past \(today is 2026-11-22 UTC\)$"):
        due_at(date(2026, 11, 21), NOW)


def test_due_times_read_as_a_date_for_an_end_of_day_else_with_the_time() -> None:
    assert due_label(datetime(2026, 11, 23, tzinfo=UTC)) == "2026-11-22"
    assert due_label(datetime(2026, 11, 23, 9, 30, tzinfo=UTC)) == "2026-11-23 09:30 UTC"
    assert due_label(datetime(2026, 11, 23, 9, 30, 5, tzinfo=UTC)) == "2026-11-23 09:30:05 UTC"


def test_help_lists_the_followup_subcommands() -> None:
    text = help_text("/incident", SEVERITIES)
    for usage in ("followup <text> [<@owner>] [due <YYYY-MM-DD|duration, e.g. 7d>]", "followups",
                  "followup done <n>", "followup drop <n> [reason]"):
        assert f"`/incident {entities(usage)}`" in text  # Slack would read <placeholder> as a link
