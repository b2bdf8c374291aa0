"""Events the workspace adds read as words in the draft's timeline and in Slack's listing."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.kinds import EventKind
from bot.postmortem.model import EventRecord
from bot.postmortem.timeline_rows import event_row
from bot.slack.texts import event_summary

AT = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def test_a_saved_postmortem_version_is_told_by_number() -> None:
    event = EventRecord(7, AT, AT, EventKind.POSTMORTEM_EDITED, "UALICE", {"version": 3, "source": "web"})
    assert event_row(event, "alertmanager", {}).text == "<@UALICE> saved version 3 of the postmortem"
    assert event_summary(EventKind.POSTMORTEM_EDITED, {"version": 3, "source": "web"}) == "postmortem edited: version 3"
