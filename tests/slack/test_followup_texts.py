"""How follow-ups read in Slack: escaped text, owner, due, status and the tracker link. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.slack.followup_texts import added, listing
from storage.rows import FollowUpRow

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ROW = FollowUpRow(id=1, incident_id=4, number=1, text="Fix <the> pool & retry", owner="UBOB",
                  due_at=datetime(2026, 11, 25, tzinfo=UTC), status="open", created_by="UALICE", created_at=NOW,
                  source="shortcut", message_link="https://incident-test.slack.com/archives/C1/p1",
                  closed_at=None, closed_by=None, close_reason=None, tracker=None, tracker_key=None,
                  tracker_url=None, tracker_checked_at=None, updated_at=NOW)


def test_the_list_shows_owner_due_status_reason_and_tracker_link_escaped() -> None:
    exported = replace(ROW, tracker="github", tracker_key="acme/shop#12",
                       tracker_url="https://github.com/acme/shop/issues/12")
    dropped = replace(ROW, number=2, owner=None, due_at=None, status="dropped", close_reason="not <ours>")
    overdue = replace(ROW, number=3, due_at=NOW - timedelta(hours=1))
    assert listing([exported, dropped, overdue], 4, NOW, "/incident").splitlines() == [
        "*Follow-ups of incident #4 (3)*",
        "1. Fix &lt;the&gt; pool &amp; retry · <@UBOB> · due 2026-11-24 · open · "
        "<https://github.com/acme/shop/issues/12|acme/shop#12>",
        "2. Fix &lt;the&gt; pool &amp; retry · no owner · no due date · dropped (not &lt;ours&gt;)",
        "3. Fix &lt;the&gt; pool &amp; retry · <@UBOB> · due 2026-11-23 11:00 UTC · *overdue*"]
    assert listing([], 4, NOW, "/incident") == \
        "Incident #4 has no follow-ups yet. Add one with `/incident followup &lt;text&gt;`."


def test_an_announcement_links_the_message_it_came_from() -> None:
    assert added(ROW, "UALICE") == (":memo: <@UALICE> added follow-up 1 from "
                                    "<https://incident-test.slack.com/archives/C1/p1|a message>: "
                                    "Fix &lt;the&gt; pool &amp; retry · <@UBOB> · due 2026-11-24")


def test_a_long_list_stops_before_slacks_limit_and_says_how_many_more() -> None:
    many = [replace(ROW, number=n, text="x" * 290) for n in range(1, 41)]
    text = listing(many, 4, NOW, "/incident")
    assert len(text) < 3500
    last = text.splitlines()[-1]
    assert last.startswith("…and ") and last.endswith(" more (all of them: `GET /incidents/4/followups`).")
    assert len(text.splitlines()) - 2 + int(last.split()[1]) == 40
