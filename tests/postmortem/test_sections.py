"""The postmortem editor's parts: the head and one section per ``## `` heading, and the
exact text back when they are joined."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bot.postmortem.sections import Section, join_sections, split_sections

GOLDEN = Path(__file__).parent / "golden" / "scripted.md"


def test_the_draft_splits_into_its_sections_and_joins_back_byte_for_byte() -> None:
    draft = GOLDEN.read_text(encoding="utf-8")
    parts = split_sections(draft)
    assert parts.head.startswith("# Postmortem #42: Checkout API error rate above 5%\n")
    assert "## " not in parts.head
    assert [s.title for s in parts.sections] == [
        "Key durations", "Impact", "Severity", "Commander and roles", "Participants", "Timeline", "Alerts", "Causes",
        "What went well", "What went wrong", "Action items"]
    assert parts.sections[1].body.startswith("\n_Who and what was affected")
    assert parts.text == draft
    assert join_sections(parts.head, parts.sections) == draft


def test_an_edited_section_changes_only_that_section() -> None:
    parts = split_sections("# T\n\nintro\n\n## Impact\n\n_fill in_\n\n## Causes\n\nunknown\n")
    edited = [Section(s.heading, "\nCheckout failed for 12 minutes.\n\n" if s.title == "Impact" else s.body)
              for s in parts.sections]
    assert join_sections(parts.head, edited) == "# T\n\nintro\n\n## Impact\n\nCheckout failed for 12 minutes.\n\n" \
                                                "## Causes\n\nunknown\n"


def test_headings_inside_code_blocks_and_deeper_headings_are_text() -> None:
    text = "# T\n```\n## not a section\n```\n### also not\n## Real\n~~~\n## still code\n~~~\nend\n"
    parts = split_sections(text)
    assert [s.heading for s in parts.sections] == ["## Real"]
    assert parts.sections[0].body == "~~~\n## still code\n~~~\nend\n"
    assert parts.text == text


def test_a_text_without_sections_is_all_head() -> None:
    assert split_sections("just a note\n") .head == "just a note\n"
    assert split_sections("").sections == ()


@given(st.lists(st.sampled_from(["## ", "#", "```", "~~~", "   ```", "\n", "\r\n", "a", " ", "Impact", "\u2028"]),
                max_size=40))
def test_join_gives_back_any_text_whose_last_line_is_not_an_open_heading(pieces: list[str]) -> None:
    text = "".join(pieces)
    last = text.rsplit("\n", 1)[-1]
    if last.startswith("## "):
        text += "\n"  # the one text that does not come back: a heading with no line break after it
    assert split_sections(text).text == text
