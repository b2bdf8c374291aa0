"""The ``/incident timeline`` listing as blocks, without Slack: within Slack's limits
however long the timeline, everything from people and alerts escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.timeline_edits import fold
from bot.slack.timeline_listing import LISTED, listing, parse_choice, parse_utc_time
from storage.rows import EventRow
from tests.slack_emulator.blocks import block_errors

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def note(number: int, text: str) -> EventRow:
    at = T0 + timedelta(minutes=number)
    return EventRow(number, 1, at, at, "note.added", "UALICE", {"text": text})


def test_a_long_timeline_lists_the_latest_entries_within_the_block_limit() -> None:
    events = [note(i, f"step {i}") for i in range(1, 121)]
    text, blocks = listing(1, events[-LISTED:], fold(events), more=True)
    assert block_errors(blocks) == [] and len(blocks) == LISTED + 2 <= 50
    assert "Showing the latest 40 events; the postmortem draft has them all." in blocks[1]["elements"][0]["text"]
    assert "step 120" in blocks[-1]["text"]["text"] and "step 80" not in text


def test_alert_and_person_text_is_escaped_and_menu_values_parse_back() -> None:
    events = [note(1, "<!channel> see <https://evil|docs> & more " + "&" * 700)]
    _, blocks = listing(3, events, fold(events))
    assert block_errors(blocks) == []
    line = blocks[2]["text"]["text"]
    assert "<!channel>" not in line and "&lt;!channel&gt;" in line and "<https://evil" not in line
    choices = [parse_choice(o["value"]) for o in blocks[2]["accessory"]["options"]]
    assert [(c.action, c.moment, c.incident_id, c.event_id) for c in choices if c] == [
        ("mark", "detected", 3, 1), ("mark", "identified", 3, 1), ("mark", "mitigated", 3, 1),
        ("mark", "resolved", 3, 1), ("edit", "", 3, 1)]
    assert parse_choice("mark:noticed:3:1") is None and parse_choice("drop:detected:3:1") is None


def test_form_times_are_utc_with_or_without_seconds() -> None:
    assert parse_utc_time(" 2026-07-01 08:05 ") == datetime(2026, 7, 1, 8, 5, tzinfo=UTC)
    assert parse_utc_time("2026-07-01 08:05:09") == datetime(2026, 7, 1, 8, 5, 9, tzinfo=UTC)
    assert parse_utc_time("08:05") is None
