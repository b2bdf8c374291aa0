"""Slack mrkdwn as the text a reader sees (the demo's terminal, the web workspace)."""

from __future__ import annotations

from bot.slack.blocks import escape
from bot.slack.mrkdwn_text import message_lines, mrkdwn_to_text

NAMES = {"U1": "alice", "C9": "incidents"}.get


def name_of(slack_id: str) -> str:
    return NAMES(slack_id) or slack_id


def test_mentions_links_and_dates_read_as_a_person_sees_them() -> None:
    text = "<@U1> see <https://x.example/d?a=1&amp;b=2|the dashboard> in <#C9> <!here> <!date^1700000000^{date}|Nov 14>"
    assert mrkdwn_to_text(text, name_of) == \
        "@alice see the dashboard (https://x.example/d?a=1&b=2) in #incidents @here Nov 14"


def test_escaped_alert_text_is_shown_literally_not_as_a_mention() -> None:
    assert mrkdwn_to_text(escape("<!channel> & <@U1>"), name_of) == "<!channel> & <@U1>"


def test_bold_markers_go_but_stars_inside_words_stay() -> None:
    assert mrkdwn_to_text("*Severity*\nrate*2 and 2*rate", name_of) == "Severity\nrate*2 and 2*rate"


def test_blocks_flatten_to_header_fields_context_and_buttons() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "SEV1 · Checkout down"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Commander*\n<@U1>"},
                                        {"type": "mrkdwn", "text": "*Status*\nInvestigating"}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Incident #1"}]},
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Acknowledge"}}]},
    ]
    assert message_lines("fallback", blocks, name_of) == [
        "▌ SEV1 · Checkout down", "Commander: @alice   Status: Investigating", "Incident #1", "[Acknowledge]"]
    assert message_lines("plain *text*", None, name_of) == ["plain text"]
