"""The follow-ups board at /ui/followups, over HTTP against the real bot and the strict Slack
emulator, on both databases: filters, grouping, overdue marked by the bot's clock, and
Done and Drop doing what ``/incident followup done|drop`` does, with Slack's words."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from storage import followups
from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.web_bot import WebBot, notice, read_page, web_bot

BOARD = "/ui/followups"


@pytest.fixture
async def bot(database_url: str, slack: SlackEmulator, db: Database) -> AsyncIterator[WebBot]:
    """Incident #1 with follow-ups: 1 for dave due in a day, 2 for the commander, 3 for nobody (done)."""
    async with web_bot(database_url, slack, db) as running:
        assert (await running.command("followup raise the pool size <@UDAVE> due 1d")).startswith("Added follow-up 1")
        assert (await running.command(f"followup alert on cache hit ratio <@{running.commander}>")).startswith(
            "Added follow-up 2")
        assert (await running.command("followup write the runbook")).startswith("Added follow-up 3")
        assert await running.command("followup done 3") == "Follow-up 3 is done."
        await running.delivered()
        yield running


def board_rows(html: str) -> list[tuple[str, list[str]]]:
    """(row classes, cells) of the board's follow-ups, the actions' column left out."""
    return [(classes, cells[:6]) for classes, cells in read_page(html).rows]


def numbers(html: str) -> list[str]:
    return [cells[0].split(".")[0] for _, cells in board_rows(html)]


async def test_the_board_filters_by_status_and_owner(bot: WebBot) -> None:
    async with bot.browser(bot.commander) as browser:
        open_ones = await browser.get(BOARD)
        done = await browser.get(f"{BOARD}?status=done")
        everything = await browser.get(f"{BOARD}?status=all")
        mine = await browser.get(f"{BOARD}?owner=mine")
        daves = await browser.get(f"{BOARD}?owner=UDAVE&status=all")
        wrong = await browser.get(f"{BOARD}?status=closed")
    assert numbers(open_ones.text) == ["1", "2"]  # the one due first, then the one without a due date
    [(classes, cells)] = [r for r in board_rows(open_ones.text) if r[1][0].startswith("1.")]
    assert cells[0] == "1. raise the pool size"
    assert cells[1].startswith("#1 ") and cells[2] == "dave" and cells[4] == "open" and "overdue" not in classes
    assert 'href="/ui/incidents/1"' in open_ones.text
    assert numbers(done.text) == ["3"] and board_rows(done.text)[0][1][2] == "—"
    assert sorted(numbers(everything.text)) == ["1", "2", "3"]
    assert numbers(mine.text) == ["2"]
    assert numbers(daves.text) == ["1"]
    assert wrong.status_code == 400 and "status must be one of open, done, dropped, all" in wrong.text


async def test_groups_by_owner_and_by_due_date(bot: WebBot) -> None:
    async with bot.browser(bot.commander) as browser:
        by_owner = await browser.get(f"{BOARD}?status=all&group=owner")
        by_due = await browser.get(f"{BOARD}?status=all&group=due")
    commander = bot.slack.workspace.users[bot.commander]
    headings = [h for h in read_page(by_owner.text).headings if h != "Follow-ups"]
    assert headings == [f"{n} ({c})" for n, c in sorted([("dave", 1), (commander, 1)])] + ["No owner (1)"]
    assert [h for h in read_page(by_due.text).headings if h != "Follow-ups"] == [
        "Due within 7 days (1)", "No due date (1)", "Closed (1)"]


async def test_overdue_follow_ups_are_marked_by_the_bots_clock(bot: WebBot) -> None:
    bot.clock.advance(timedelta(days=1, seconds=1))
    async with bot.browser(bot.commander) as browser:
        page = await browser.get(BOARD)
        grouped = await browser.get(f"{BOARD}?group=due")
    [(classes, cells)] = [r for r in board_rows(page.text) if r[1][0].startswith("1.")]
    assert "overdue" in classes.split() and cells[3].endswith("UTC overdue")
    assert [c for c, cells in board_rows(page.text) if cells[0].startswith("2.")] == ["open"]
    assert '2 follow-ups, <span class="overdue">1 overdue</span>' in page.text
    assert "Overdue (1)" in read_page(grouped.text).headings


async def test_done_and_drop_record_what_slack_records(bot: WebBot, db: Database) -> None:
    before = len(await rows.events(db, 1))
    async with bot.browser(bot.commander) as browser:
        done = await browser.post(f"{BOARD}/1/1/done", {"back": f"{BOARD}?owner=UDAVE"})
        assert done.headers["Location"] == f"{BOARD}?owner=UDAVE"
        after_done = await browser.follow(done)
        dropped = await browser.follow(await browser.post(f"{BOARD}/1/2/drop", {"reason": "  a duplicate of 1 ",
                                                                                "back": "https://evil.example/"}))
        again = await browser.follow(await browser.post(f"{BOARD}/1/2/done", {"back": BOARD}))
    assert notice(after_done.text) == "Follow-up 1 is done."
    assert notice(dropped.text) == "Follow-up 2 is dropped."
    assert notice(again.text) == "Follow-up 2 is already dropped."
    events = [(e.kind, e.actor, e.data) for e in (await rows.events(db, 1))[before:]]
    assert events == [  # as Slack records them, the command's source aside
        ("followup.done", bot.commander, {"number": 1, "reason": None}),
        ("command", bot.commander, {"source": "web", "text": "followup done 1", "allowed": True}),
        ("followup.dropped", bot.commander, {"number": 2, "reason": "a duplicate of 1"}),
        ("command", bot.commander, {"source": "web", "text": "followup drop 2 a duplicate of 1", "allowed": True}),
        ("command", bot.commander, {"source": "web", "text": "followup done 2", "allowed": True}),
    ]
    statuses = {f.number: (f.status, f.closed_by, f.close_reason) for f in await db.read(followups.of_incident, 1)}
    assert statuses[1] == ("done", bot.commander, None) and statuses[2] == ("dropped", bot.commander,
                                                                             "a duplicate of 1")
    await bot.delivered()
    texts = [m.text for m in bot.slack.messages(bot.channel)]
    assert f":white_check_mark: <@{bot.commander}> marked follow-up 1 done: raise the pool size" in texts
    assert f":wastebasket: <@{bot.commander}> dropped follow-up 2 (a duplicate of 1): alert on cache hit ratio" in texts


async def test_someone_who_may_not_close_it_gets_slacks_refusal(bot: WebBot, db: Database) -> None:
    bystander = bot.bystander()
    async with bot.browser(bystander) as browser:
        refused = await browser.follow(await browser.post(f"{BOARD}/1/1/drop", {"reason": "not mine"}))
        unknown = await browser.follow(await browser.post(f"{BOARD}/1/9/done"))
    commander = bot.slack.workspace.users[bot.commander]
    assert notice(refused.text) == f"Only its owner (@dave), the commander (@{commander}) or a responder can close " \
                                   "follow-up 1."
    assert notice(unknown.text) == ("Incident #1 has no follow-up 9 (numbered 1 to 3). Type `/incident followups` "
                                    "to see them.")
    [row] = [f for f in await db.read(followups.of_incident, 1) if f.number == 1]
    assert row.status == "open"
    mine = [(e.kind, e.data) for e in await rows.events(db, 1) if e.actor == bystander]
    assert mine == [("command", {"source": "web", "text": "followup drop 1 not mine", "allowed": False})]


async def test_without_the_csrf_token_nothing_is_closed(bot: WebBot, db: Database) -> None:
    before = await rows.event_kinds(db, 1)
    async with bot.browser(bot.commander) as browser:
        response = await browser.post(f"{BOARD}/1/1/done", {"back": BOARD}, csrf=False)
        wrong = await browser.post(f"{BOARD}/1/1/done", {"back": BOARD, "csrf_token": "not-the-token"}, csrf=False)
    assert response.status_code == 403 and wrong.status_code == 403
    assert "CSRF token is missing or wrong" in response.text
    assert await rows.event_kinds(db, 1) == before
    assert [f.status for f in await db.read(followups.of_incident, 1)] == ["open", "open", "done"]
