"""The draft uses the timeline's edits: durations from marked key moments (today's
derivation where unmarked), hidden events left out, corrections shown as such."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.timeline_edits import fold
from bot.postmortem import EventRecord, render_postmortem
from tests.postmortem.scripted import COMMANDER, LEAD, Log, at, fired, scripted
from tests.postmortem.test_render import alert, incident, section, timeline


def incident_log() -> tuple[Log, dict[str, int]]:
    """An alert at 10:00, opened 10:03, a note 10:10, status identified 10:20 and
    monitoring 10:40, resolved 11:00; returns the log and the ids of its events."""
    log = Log()
    fired(log, alert("HighErrorRate", "api-1", at(10, 0)), at(10, 0, 5))
    ids = {
        "opened": log.add(at(10, 3), "incident.opened", "alertmanager", severity="sev2").id,
        "note": log.add(at(10, 10), "note.added", COMMANDER, text="error rate rising since the deploy").id,
        "identified": log.add(at(10, 20), "status.changed", COMMANDER,
                              **{"from": "investigating", "to": "identified"}).id,
        "monitoring": log.add(at(10, 40), "status.changed", COMMANDER,
                              **{"from": "identified", "to": "monitoring"}).id,
        "rollback": log.add(at(10, 30), "note.added", LEAD, text="rolled back").id,
        "resolved": log.add(at(11, 0), "incident.resolved", COMMANDER, summary="rolled back").id,
    }
    return log, ids


def record() -> object:
    return incident(at(10, 3), mitigated_at=at(10, 40), resolved_at=at(11, 0))


def durations(log: Log) -> list[str]:
    text = section(render_postmortem(record(), log.events, [alert("HighErrorRate", "api-1", at(10, 0))]),
                   "Key durations")
    return [line for line in text.splitlines() if line.startswith("- ")]


def test_unmarked_durations_are_derived_as_before_with_identify_from_the_status() -> None:
    log, _ = incident_log()
    assert durations(log) == [
        "- **Time to detect:** 3m 00s (first alert started 10:00:00, incident opened 10:03:00)",
        "- **Time to identify:** 17m 00s (status set to identified 10:20:00)",
        "- **Time to acknowledge:** not acknowledged",
        "- **Time to mitigate:** 37m 00s (mitigated 10:40:00)",
        "- **Time to resolve:** 57m 00s (resolved 11:00:00)",
    ]


def test_marked_moments_replace_the_derived_durations() -> None:
    log, ids = incident_log()
    log.add(at(12, 0), "timeline.marked", LEAD, event_id=ids["note"], moment="detected", reason="saw it in the note")
    log.add(at(12, 1), "timeline.marked", LEAD, event_id=ids["note"], moment="identified")
    log.add(at(12, 2), "timeline.marked", LEAD, event_id=ids["rollback"], moment="mitigated")
    log.add(at(12, 3), "timeline.marked", LEAD, event_id=ids["identified"], moment="resolved")
    log.add(at(12, 4), "timeline.marked", LEAD, event_id=ids["resolved"], moment="resolved")  # moves it
    assert durations(log) == [
        "- **Time to detect:** 10m 00s (marked 10:10:00 by <@U0CCC0003>: saw it in the note; "
        "counted from the first alert's start (10:00:00))",
        "- **Time to identify:** 7m 00s (marked 10:10:00 by <@U0CCC0003>)",
        "- **Time to acknowledge:** not acknowledged",
        "- **Time to mitigate:** 27m 00s (marked 10:30:00 by <@U0CCC0003>)",
        "- **Time to resolve:** 57m 00s (marked 11:00:00 by <@U0CCC0003>)",
    ]


def test_a_corrected_time_moves_the_event_and_the_duration_its_mark_gives() -> None:
    log, ids = incident_log()
    log.add(at(12, 0), "timeline.marked", LEAD, event_id=ids["rollback"], moment="mitigated")
    log.add(at(12, 1), "timeline.corrected", LEAD, event_id=ids["rollback"], occurred_at=at(10, 15).isoformat(),
            reason="the rollback finished earlier")
    assert "- **Time to mitigate:** 12m 00s (marked 10:15:00 by <@U0CCC0003>)" in durations(log)
    rows = timeline(render_postmortem(record(), log.events, []))
    [rollback] = [r for r in rows if "[Mitigated]" in r]
    assert rollback == "- **10:15:00** T+15m 00s · **[Mitigated]** Note by <@U0CCC0003> _(corrected)_:"
    identified = next(r for r in rows if "set the status Investigating → Identified" in r)
    assert rows.index(rollback) == rows.index(identified) - 1  # moved to its corrected time


def test_hidden_events_leave_the_timeline_and_corrected_text_is_shown() -> None:
    log, ids = incident_log()
    log.add(at(12, 0), "timeline.hidden", LEAD, event_id=ids["note"], reason="noise")
    log.add(at(12, 1), "timeline.corrected", LEAD, event_id=ids["identified"], text="Cause found: bad deploy 42")
    log.add(at(12, 2), "timeline.corrected", LEAD, event_id=ids["rollback"], text="rolled back deploy 42")
    text = render_postmortem(record(), log.events, [])
    rows = timeline(text)
    assert not any("error rate rising" in line for line in text.splitlines())
    assert "- **10:20:00** T+20m 00s · Cause found: bad deploy 42 _(corrected)_" in rows
    assert "  > rolled back deploy 42" in text and "  > rolled back\n" not in text
    assert not any("timeline." in r for r in rows)  # the edits themselves are not rows


def test_a_marked_alert_gets_its_own_labelled_row_out_of_its_burst() -> None:
    log = Log()
    first = alert("HighErrorRate", "api-1", at(10, 0))
    fired(log, first, at(10, 0))
    for i in range(2, 5):
        fired(log, alert("HighErrorRate", f"api-{i}", at(10, 0, i)), at(10, 0, i))
    log.add(at(10, 1), "incident.opened", "alertmanager", severity="sev2")
    log.add(at(12, 0), "timeline.marked", LEAD, event_id=1, moment="detected")
    log.add(at(12, 1), "timeline.hidden", LEAD, event_id=2)
    rows = timeline(render_postmortem(incident(at(10, 1), status="investigating"), log.events, []))
    assert rows[0] == "- **10:00:00** T+0s · **[Detected]** Alert fired: `HighErrorRate api-1`"
    assert rows[1].endswith("2 alerts fired within 1s: `HighErrorRate api-3`, `HighErrorRate api-4`")


def test_the_golden_draft_is_unchanged_without_edits() -> None:
    incident_, events, alerts = scripted()
    text = render_postmortem(incident_, events, alerts)
    assert "Time to identify" not in text and "[Detected]" not in text


_TARGETS = st.integers(min_value=-1, max_value=60) | st.text(max_size=3) | st.none()
_EDITS = st.lists(st.tuples(
    st.sampled_from(("timeline.marked", "timeline.unmarked", "timeline.corrected", "timeline.hidden",
                     "timeline.shown")),
    st.fixed_dictionaries({"event_id": _TARGETS}, optional={
        "moment": st.sampled_from(("detected", "identified", "mitigated", "resolved", "soon", "")),
        "text": st.text(max_size=20) | st.integers(),
        "occurred_at": st.sampled_from((at(9, 0).isoformat(), at(10, 5).isoformat(), "2026-03-12T10:05:00",
                                        "later", 5)),
        "reason": st.text(max_size=10) | st.none()})), max_size=25)


@settings(max_examples=60, deadline=None)
@given(_EDITS)
def test_any_stored_edits_render_and_hidden_notes_never_show(edits: list[tuple[str, dict[str, object]]]) -> None:
    incident_, events, alerts = scripted()
    log = list(events)
    for number, (kind, data) in enumerate(edits, start=len(log) + 1):
        log.append(EventRecord(number, at(13, 0), at(13, 0), kind, LEAD, data))
    text = render_postmortem(incident_, log, alerts)
    assert "## Timeline" in text and "Time to resolve" in text
    hidden = fold(log)
    for event in events:
        if event.kind == "note.added" and hidden.hidden(event.id) and hidden.of(event.id).text is None:  # type: ignore[union-attr]
            assert f"> {event.data['text']}" not in section(text, "Timeline")
