"""Folding key moments, corrections and hidden events from the timeline's events."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.timeline_edits import MOMENTS, fold
from bot.postmortem import EventRecord

T0 = datetime(2026, 3, 1, 14, 0, tzinfo=UTC)


def ev(number: int, kind: str, actor: str = "UALICE", **data: object) -> EventRecord:
    at = T0 + timedelta(minutes=number)
    return EventRecord(number, at, at, kind, actor, data)


BASE = [ev(1, "incident.opened", "alertmanager"), ev(2, "note.added", text="db is slow"),
        ev(3, "status.changed", **{"from": "investigating", "to": "monitoring"}), ev(4, "command", text="x")]


def test_nothing_edited_folds_to_nothing() -> None:
    edits = fold(BASE)
    assert edits.marks == {} and edits.events == {} and edits.of(2) is None


def test_a_mark_names_its_event_and_who_marked_it() -> None:
    edits = fold([*BASE, ev(10, "timeline.marked", "UBOB", event_id=3, moment="mitigated", reason="rollback")])
    mark = edits.marks["mitigated"]
    assert (mark.event_id, mark.by, mark.reason, mark.at) == (3, "UBOB", "rollback", T0 + timedelta(minutes=10))
    assert edits.of(3) is not None and edits.of(3).moments == ("mitigated",)  # type: ignore[union-attr]


def test_a_new_mark_of_the_same_moment_moves_it() -> None:
    edits = fold([*BASE, ev(10, "timeline.marked", event_id=2, moment="detected"),
                  ev(11, "timeline.marked", event_id=1, moment="detected")])
    assert edits.marks["detected"].event_id == 1
    assert edits.of(2) is None


def test_unmarking_removes_the_mark_only_from_the_event_holding_it() -> None:
    edits = fold([*BASE, ev(10, "timeline.marked", event_id=2, moment="identified"),
                  ev(11, "timeline.unmarked", event_id=1, moment="identified")])
    assert edits.marks["identified"].event_id == 2
    edits = fold([*BASE, ev(10, "timeline.marked", event_id=2, moment="identified"),
                  ev(11, "timeline.unmarked", event_id=2, moment="identified")])
    assert "identified" not in edits.marks


def test_one_event_can_mark_several_moments_listed_in_order() -> None:
    edits = fold([*BASE, ev(10, "timeline.marked", event_id=3, moment="resolved"),
                  ev(11, "timeline.marked", event_id=3, moment="mitigated")])
    assert edits.of(3).moments == ("mitigated", "resolved")  # type: ignore[union-attr]


def test_corrections_of_text_and_time_apply_separately_latest_wins() -> None:
    moved = T0 + timedelta(minutes=1, seconds=30)
    edits = fold([*BASE, ev(10, "timeline.corrected", "UBOB", event_id=2, text="db was slow", reason="typo"),
                  ev(11, "timeline.corrected", "UCAROL", event_id=2, occurred_at=moved.isoformat()),
                  ev(12, "timeline.corrected", event_id=2, text="the primary db was slow")])
    edited = edits.of(2)
    assert edited is not None and edited.corrected
    assert (edited.text, edited.occurred_at) == ("the primary db was slow", moved)
    assert edits.time_of(BASE[1]) == moved and edits.time_of(BASE[0]) == BASE[0].occurred_at


def test_hide_and_show_latest_wins() -> None:
    hide, show = ev(10, "timeline.hidden", event_id=2, reason="noise"), ev(11, "timeline.shown", event_id=2)
    assert fold([*BASE, hide]).hidden(2)
    assert not fold([*BASE, hide, show]).hidden(2)
    assert fold([*BASE, show, ev(12, "timeline.hidden", event_id=2)]).hidden(2)


def test_edits_of_unknown_or_uneditable_events_or_moments_are_ignored() -> None:
    edits = fold([*BASE, ev(10, "timeline.marked", event_id=99, moment="detected"),
                  ev(11, "timeline.marked", event_id=4, moment="detected"),  # a command
                  ev(12, "timeline.marked", event_id=2, moment="noticed"),
                  ev(13, "timeline.hidden", event_id=10),  # an edit itself
                  ev(14, "timeline.marked", event_id="2", moment="detected"),
                  ev(15, "timeline.corrected", event_id=2, occurred_at="yesterday", text="  ")])
    assert edits.marks == {}
    assert edits.events == {}


def test_edits_apply_in_recorded_order_whatever_order_they_are_given_in() -> None:
    log = [*BASE, ev(10, "timeline.marked", event_id=2, moment="detected"),
           ev(11, "timeline.marked", event_id=1, moment="detected"), ev(12, "timeline.hidden", event_id=3),
           ev(13, "timeline.shown", event_id=3)]
    shuffled = log[:]
    random.Random(4).shuffle(shuffled)
    assert fold(shuffled) == fold(log)


_EDIT = st.one_of(
    st.tuples(st.just("timeline.marked"), st.sampled_from((1, 2, 3)), st.sampled_from(MOMENTS)),
    st.tuples(st.just("timeline.unmarked"), st.sampled_from((1, 2, 3)), st.sampled_from(MOMENTS)),
    st.tuples(st.sampled_from(("timeline.hidden", "timeline.shown")), st.sampled_from((1, 2, 3)), st.just("")),
)


@given(st.lists(_EDIT, max_size=30), st.randoms())
def test_each_moment_is_where_its_last_mark_put_it_unless_unmarked_since(
        edits: list[tuple[str, int, str]], rnd: random.Random) -> None:
    log = [*BASE, *(ev(10 + i, kind, event_id=target, moment=moment)
                    for i, (kind, target, moment) in enumerate(edits))]
    rnd.shuffle(log)
    folded = fold(log)
    for moment in MOMENTS:
        expected: int | None = None
        for kind, target, name in edits:
            if name != moment:
                continue
            if kind == "timeline.marked":
                expected = target
            elif kind == "timeline.unmarked" and expected == target:
                expected = None
        assert (folded.marks[moment].event_id if moment in folded.marks else None) == expected
        holders = [event_id for event_id, edited in folded.events.items() if moment in edited.moments]
        assert holders == ([] if expected is None else [expected])
    for target in (1, 2, 3):
        visibility = [kind for kind, t, _ in edits if t == target and kind in ("timeline.hidden", "timeline.shown")]
        assert folded.hidden(target) == (bool(visibility) and visibility[-1] == "timeline.hidden")
