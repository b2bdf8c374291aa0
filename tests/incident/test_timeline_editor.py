"""The one entry point that marks key moments, corrects events and hides noise, on both
databases: each edit appends one event with the person as actor; a refusal writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session

from bot.clock import ManualClock
from bot.domain import commands as p
from bot.domain.timeline_edits import fold
from bot.incident.command_service import CommandService, Context
from bot.incident.timeline_editor import TimelineEditError, TimelineEditor
from bot.playbook import load_playbooks
from storage.alerting import update_incident
from storage.database import Database
from storage.rows import EventRow
from tests.conftest import REPO
from tests.support import rows

OPENED = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


async def opened(db: Database) -> tuple[TimelineEditor, ManualClock, int]:
    """An incident declared by UALICE (its commander) with a note by her; the editor and the note's id."""
    clock = ManualClock(OPENED)
    playbooks = load_playbooks(REPO / "playbooks")
    commands = CommandService(db, lambda: playbooks, clock, lambda: None)
    reply = await commands.execute(p.Declare("Checkout is slow"), Context("UALICE", "CGENERAL"))
    incident_id = reply.extra["incident_id"]
    await db.write(_set_channel, incident_id)
    clock.advance(timedelta(minutes=5))
    await commands.execute(p.AddNote("cache hit ratio dropped"), Context("UALICE", "CINC"))
    clock.advance(timedelta(minutes=5))
    [note] = [e for e in await rows.events(db, incident_id) if e.kind == "note.added"]
    return TimelineEditor(db, lambda: playbooks, clock, lambda: None), clock, note.id


def _set_channel(session: Session, incident_id: int) -> None:
    update_incident(session, incident_id, channel_id="CINC")


async def stored(db: Database) -> list[EventRow]:
    return [EventRow.from_orm(e) for e in await rows.events(db, 1)]


async def test_marking_appends_one_event_by_the_person_and_a_new_mark_moves_the_moment(db: Database) -> None:
    editor, _, note = await opened(db)
    before = await stored(db)
    assert await editor.mark(1, note, "detected", actor="UALICE", source="slack", reason="first sign") == \
        "Marked as the moment the incident was detected."
    [opening] = [e for e in before if e.kind == "incident.opened"]
    assert await editor.mark(1, opening.id, "detected", actor="UALICE", source="web") == \
        f"Marked as the moment the incident was detected (moved from event {note})."
    after = await stored(db)
    assert after[:len(before)] == before  # append-only: nothing stored before changed
    added = after[len(before):]
    assert [(e.kind, e.actor, e.data) for e in added] == [
        ("timeline.marked", "UALICE", {"event_id": note, "moment": "detected", "reason": "first sign",
                                       "source": "slack"}),
        ("timeline.marked", "UALICE", {"event_id": opening.id, "moment": "detected", "reason": "", "source": "web"})]
    assert fold(after).marks["detected"].event_id == opening.id


async def test_correcting_text_and_time_and_hiding_are_events_the_fold_applies(db: Database) -> None:
    editor, _, note = await opened(db)
    when = OPENED + timedelta(minutes=2)
    in_berlin = when.astimezone(timezone(timedelta(hours=2)))
    assert await editor.correct(1, note, actor="UALICE", source="slack", text="  hit ratio fell to 40%  ",
                                occurred_at=in_berlin, reason="was earlier") == "Corrected the event's text and time."
    assert await editor.hide(1, note, actor="UALICE", source="slack") == "Hidden from the timeline."
    assert await editor.show(1, note, actor="UALICE", source="slack") == "Shown on the timeline again."
    edited = fold(await stored(db)).of(note)
    assert edited is not None
    assert (edited.text, edited.occurred_at, edited.hidden, edited.reason) == \
        ("hit ratio fell to 40%", when, False, "was earlier")
    assert [e.kind for e in await stored(db)][-3:] == ["timeline.corrected", "timeline.hidden", "timeline.shown"]
    assert [e.data["occurred_at"] for e in await stored(db) if e.kind == "timeline.corrected"] == \
        ["2026-05-04T09:02:00+00:00"]  # stored in UTC


@pytest.mark.parametrize(("call", "problem"), [
    ({"event_id": 999}, "Event 999 is not on the timeline of incident #1."),
    ({"moment": "noticed"}, "`noticed` is not a key moment; use one of detected, identified, mitigated, resolved."),
    ({"actor": "UMALLORY"}, "Only the commander (<@UALICE>) or a responder can edit the timeline for this incident."),
    ({"incident_id": 5}, "There is no incident #5."),
    ({"reason": "x" * 301}, "The reason is 301 characters; at most 300."),
])
async def test_refused_marks_say_why_and_write_nothing(db: Database, call: dict[str, object], problem: str) -> None:
    editor, _, note = await opened(db)
    before = await rows.count_rows(db)
    args: dict[str, object] = {"incident_id": 1, "event_id": note, "moment": "mitigated", "actor": "UALICE",
                               "source": "slack", "reason": ""}
    args.update(call)
    with pytest.raises(TimelineEditError) as refused:
        await editor.mark(args.pop("incident_id"), args.pop("event_id"), args.pop("moment"), **args)  # type: ignore[arg-type]
    assert str(refused.value) == problem
    assert await rows.count_rows(db) == before


async def test_refused_corrections_say_why_and_write_nothing(db: Database) -> None:
    editor, clock, note = await opened(db)
    before = await rows.count_rows(db)
    commands = [e for e in await stored(db) if e.kind == "command"]
    cases = [
        ({"occurred_at": clock() + timedelta(seconds=1)}, "The corrected time is in the future."),
        ({"occurred_at": OPENED - timedelta(minutes=1)},
         "The corrected time is before the incident opened (2026-05-04 09:00 UTC)."),
        ({"occurred_at": datetime(2026, 5, 4, 9, 3)}, "The corrected time has no time zone; give it in UTC."),
        ({"text": "   "}, "The corrected text is empty; write what the event should say."),
        ({"text": "y" * 1001}, "The corrected text is 1001 characters; at most 1000."),
        ({}, "Nothing to correct: give a new text or a new time."),
    ]
    for extra, problem in cases:
        with pytest.raises(TimelineEditError) as refused:
            await editor.correct(1, note, actor="UALICE", source="slack", **extra)  # type: ignore[arg-type]
        assert str(refused.value) == problem
    with pytest.raises(TimelineEditError, match=r"^Event \d+ is not on the timeline"):
        await editor.hide(1, commands[0].id, actor="UALICE", source="slack")  # a command is not shown
    with pytest.raises(TimelineEditError, match=r"^This event is not hidden\.$"):
        await editor.show(1, note, actor="UALICE", source="slack")
    with pytest.raises(TimelineEditError, match=r"^This event does not mark when the incident was resolved\.$"):
        await editor.unmark(1, note, "resolved", actor="UALICE", source="slack")
    assert await rows.count_rows(db) == before


async def test_a_responder_holding_a_role_may_edit_and_text_is_redacted(db: Database) -> None:
    editor, _, note = await opened(db)
    await db.write(update_incident, 1, roles={"scribe": "USCRIBE"})
    await editor.correct(1, note, actor="USCRIBE", source="web", text="mail ops@example.com for access")
    [correction] = [e for e in await stored(db) if e.kind == "timeline.corrected"]
    assert correction.actor == "USCRIBE" and "ops@example.com" not in str(correction.data["text"])
