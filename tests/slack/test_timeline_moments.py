"""Key moments, corrections and hidden noise from Slack: ``/incident timeline`` lists the
entries with a menu each; picking a moment marks it, the form corrects or hides an entry;
refusals answer a short ephemeral line and record nothing. Through the real slack_bolt
against the strict emulator."""

from __future__ import annotations

from typing import Any

from storage.database import Database
from tests.slack.test_commanding import command, delivered, incident
from tests.slack_emulator import Ephemeral, SlackEmulator
from tests.support import rows
from tests.support.slack import eventually

__all__ = ["incident"]  # the fixture, shared with the commanding tests


def entry(listing: Ephemeral, words: str) -> dict[str, Any]:
    """The listed entry whose text holds ``words``."""
    found = [b for b in listing.blocks or [] if b.get("accessory") and words in b["text"]["text"]]
    assert len(found) == 1, [b.get("text") for b in listing.blocks or []]
    return found[0]


def option_values(block: dict[str, Any]) -> list[str]:
    return [o["value"] for o in block["accessory"]["options"]]


async def edit_events(db: Database) -> list[Any]:
    return [e for e in await rows.events(db, 1) if e.kind.startswith("timeline.")]


async def last_response(slack: SlackEmulator, count: int) -> str:
    async def answered() -> bool:
        return len(slack.responses()) >= count
    await eventually(answered, what=f"{count} responses")
    return str(slack.responses()[count - 1]["text"])


async def test_the_listing_marks_a_key_moment_from_an_entrys_menu(
        incident: tuple[str, str, str], slack: SlackEmulator, db: Database) -> None:
    url, channel, commander = incident
    assert await command(slack, url, "note rolled back <the> deploy & waited", "UDAVE", channel) == \
        "Noted on the timeline."
    listing = await slack.slash_command_seen(url, text="timeline", user_id=commander, channel_id=channel)
    assert listing.text.startswith("*Timeline of incident #1* (latest events, UTC)")
    note = entry(listing, "rolled back")
    assert "rolled back &lt;the&gt; deploy &amp; waited (<@UDAVE>)" in note["text"]["text"]  # escaped
    event_id = int(note["block_id"].removeprefix("timeline_"))
    assert option_values(note) == [f"mark:{m}:1:{event_id}" for m in ("detected", "identified", "mitigated",
                                                                     "resolved")] + [f"edit::1:{event_id}"]

    response = await slack.choose(url, listing, action_id=note["accessory"]["action_id"],
                                  value=f"mark:mitigated:1:{event_id}")
    assert response.status_code == 200
    assert await last_response(slack, 1) == "Marked as the moment the incident was mitigated."
    [mark] = await edit_events(db)
    assert (mark.kind, mark.actor, mark.data) == ("timeline.marked", commander,
                                                  {"event_id": event_id, "moment": "mitigated", "reason": "",
                                                   "source": "slack"})

    again = await slack.slash_command_seen(url, text="timeline", user_id=commander, channel_id=channel)
    marked = entry(again, "rolled back")
    assert marked["text"]["text"].split("` ", 1)[1].startswith("*[Mitigated]* note: rolled back")
    assert f"unmark:mitigated:1:{event_id}" in option_values(marked)


async def test_refusals_answer_one_ephemeral_line_and_record_nothing(
        incident: tuple[str, str, str], slack: SlackEmulator, db: Database) -> None:
    url, channel, commander = incident
    outsider = next(u for u in ("UALICE", "UBOB", "UCAROL") if u != commander)
    listing = await slack.slash_command_seen(url, text="timeline", user_id=outsider, channel_id=channel)
    first = (listing.blocks or [])[2]
    event_id = int(first["block_id"].removeprefix("timeline_"))
    await slack.choose(url, listing, action_id=first["accessory"]["action_id"], value=f"mark:detected:1:{event_id}")
    assert await last_response(slack, 1) == \
        f"Only the commander (<@{commander}>) or a responder can edit the timeline for this incident."

    # A menu from an old listing naming an event that is not this incident's.
    mine = await slack.slash_command_seen(url, text="timeline", user_id=commander, channel_id=channel)
    forged = Ephemeral(mine.channel, mine.user, mine.text, [
        {"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "accessory": {
            "type": "overflow", "action_id": "timeline_entry:999",
            "options": [{"text": {"type": "plain_text", "text": "Mark detected"}, "value": "mark:detected:1:999"},
                        {"text": {"type": "plain_text", "text": "Mark resolved"}, "value": "mark:resolved:1:999"}]}}],
        mine.ts)
    await slack.choose(url, forged, action_id="timeline_entry:999", value="mark:detected:1:999")
    assert await last_response(slack, 2) == "Event 999 is not on the timeline of incident #1."
    assert await edit_events(db) == []


async def test_the_form_corrects_text_and_time_refuses_a_future_time_and_hides(
        incident: tuple[str, str, str], slack: SlackEmulator, db: Database) -> None:
    url, channel, commander = incident
    await command(slack, url, "note db latency up", commander, channel)
    listing = await slack.slash_command_seen(url, text="timeline", user_id=commander, channel_id=channel)
    note = entry(listing, "db latency up")
    event_id = int(note["block_id"].removeprefix("timeline_"))
    await slack.choose(url, listing, action_id=note["accessory"]["action_id"], value=f"edit::1:{event_id}")

    async def opened() -> bool:
        return len(slack.views) == 1
    await eventually(opened, what="the correction form")
    [view] = slack.views
    assert view["callback_id"] == "timeline_edit" and view["private_metadata"] == f"1:{event_id}"
    original_time = view["blocks"][1]["element"]["initial_value"]
    assert view["blocks"][0]["element"]["initial_value"] == "db latency up"

    def submission(text: str, time: str, hidden: bool, reason: str = "") -> dict[str, Any]:
        chosen = [view["blocks"][2]["element"]["options"][0]] if hidden else []
        return {"type": "view_submission", "user": {"id": commander}, "view": {**view, "id": "V1", "state": {"values": {
            "text": {"text": {"type": "plain_text_input", "value": text}},
            "time": {"time": {"type": "plain_text_input", "value": time}},
            "hidden": {"hidden": {"type": "checkboxes", "selected_options": chosen}},
            "reason": {"reason": {"type": "plain_text_input", "value": reason}}}}}}

    future = await slack.interaction(url, submission("db latency up", "2999-01-01 00:00:00", False))
    assert future.json() == {"response_action": "errors", "errors": {"time": "The corrected time is in the future."}}
    garbled = await slack.interaction(url, submission("db latency up", "yesterday", False))
    assert garbled.json()["errors"] == {"time": "Give the time as YYYY-MM-DD HH:MM:SS, in UTC."}
    unchanged = await slack.interaction(url, submission("db latency up", original_time, False))
    assert unchanged.json()["errors"] == {"text": "Nothing changed."}
    assert await edit_events(db) == []

    saved = await slack.interaction(url, submission("db <p99> latency up", original_time, True, "typo"))
    assert saved.status_code == 200 and not saved.content
    kinds = [(e.kind, e.actor, e.data.get("text"), e.data["reason"]) for e in await edit_events(db)]
    assert kinds == [("timeline.corrected", commander, "db <p99> latency up", "typo"),
                     ("timeline.hidden", commander, None, "typo")]
    again = await slack.slash_command_seen(url, text="timeline", user_id=commander, channel_id=channel)
    shown = entry(again, "latency up")["text"]["text"]
    assert "~note: db &lt;p99&gt; latency up (<@" in shown and shown.endswith("_(corrected)_~ _(hidden)_")
    await delivered(db)
