"""Commands for the incident they name (the web workspace's entry point), on both databases:
the same replies, refusals and recorded command as in the incident's Slack channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from bot.clock import ManualClock
from bot.domain import commands as p
from bot.domain import followup_grammar as fg
from bot.incident.command_service import CommandService, Context
from bot.playbook import load_playbooks
from storage.alerting import update_incident
from storage.database import Database
from tests.conftest import REPO
from tests.support import rows

OPENED = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def _set_channel(session: Session, incident_id: int) -> None:
    update_incident(session, incident_id, channel_id="CINC")


async def declared(db: Database) -> CommandService:
    """Incident #1 declared by UALICE (its commander) in channel CINC, with two follow-ups."""
    playbooks = load_playbooks(REPO / "playbooks")
    commands = CommandService(db, lambda: playbooks, ManualClock(OPENED), lambda: None)
    await commands.execute(p.Declare("Checkout is slow"), Context("UALICE", "CGENERAL"))
    await db.write(_set_channel, 1)
    for text in ("add an alert on cache hit ratio", "raise the pool size"):
        await commands.execute(fg.AddFollowUp(text), Context("UALICE", "CINC"))
    return commands


async def test_a_command_for_a_named_incident_does_what_it_does_in_the_channel(db: Database) -> None:
    commands = await declared(db)
    web = await commands.execute_in(1, fg.CloseFollowUp(1, "done"),
                                    Context("UALICE", "", source="web", text="followup done 1"))
    slack = await commands.execute(fg.CloseFollowUp(2, "dropped", "not needed"),
                                   Context("UALICE", "CINC", text="followup drop 2 not needed"))
    assert (web.text, web.changed) == ("Follow-up 1 is done.", True)
    assert (slack.text, slack.changed) == ("Follow-up 2 is dropped.", True)
    events = [(e.kind, e.actor, e.data) for e in await rows.events(db, 1)][-4:]
    assert events == [
        ("followup.done", "UALICE", {"number": 1, "reason": None}),
        ("command", "UALICE", {"source": "web", "text": "followup done 1", "allowed": True}),
        ("followup.dropped", "UALICE", {"number": 2, "reason": "not needed"}),
        ("command", "UALICE", {"source": "slash", "text": "followup drop 2 not needed", "allowed": True}),
    ]


async def test_refusals_and_bad_input_read_the_same_from_the_web(db: Database) -> None:
    commands = await declared(db)
    refused = await commands.execute_in(1, fg.CloseFollowUp(1, "done"), Context("UBOB", "", source="web"))
    assert refused.text == "Only the commander (<@UALICE>) or a responder can close follow-up 1."
    assert refused.refused and not refused.changed
    unknown = await commands.execute_in(1, fg.CloseFollowUp(7, "done"), Context("UALICE", "", source="web"))
    assert unknown.text == "Incident #1 has no follow-up 7 (numbered 1 to 2). Type `/incident followups` to see them."
    assert (await commands.execute_in(9, p.PostmortemPublish(), Context("UALICE", "", source="web"))).text == \
        "There is no incident #9."
    events = await rows.events(db, 1)
    assert [(e.kind, e.data["allowed"]) for e in events if e.actor == "UBOB"] == [("command", False)]
    assert [e.kind for e in events if e.kind.startswith("followup.") and e.kind != "followup.added"] == []


async def test_the_postmortem_rule_is_the_same_from_the_web(db: Database) -> None:
    commands = await declared(db)
    assert (await commands.execute_in(1, p.Resolve("rolled back"), Context("UALICE", "", source="web"))).text == \
        "Resolved. The final update is posted."
    refused = await commands.execute_in(1, p.PostmortemDue(timedelta(days=2)), Context("UBOB", "", source="web"))
    assert refused.text == ("Only the commander (<@UALICE>) or a responder or the postmortem's owner can change its "
                            "postmortem.")
    published = await commands.execute_in(1, p.PostmortemPublish(), Context("UALICE", "", source="web"))
    assert published.text == ("The postmortem is published; the final document is being posted to this channel. "
                              "2 follow-ups are still open.")
