"""What a follow-up's issue says: a one-line title cut to fit, the follow-up's whole text in
the body, links to the incident and its channel in both Markdown and ADF."""

from __future__ import annotations

from bot.delivery.tracker_issue import TITLE_LIMIT, issue_text

PAYLOAD = {"number": 3, "text": "Alert on disk\nbefore it fills [soon]", "owner": "UOWNER",
           "due_at": "2024-05-08T00:00:00+00:00", "incident_title": "api is down", "channel_name": "inc-7-api",
           "channel_id": "C7"}


def test_the_title_is_one_line_and_the_body_links_back() -> None:
    text = issue_text(PAYLOAD, 7, "https://bot.example.com/")
    assert text.title == "Alert on disk before it fills [soon]"
    assert text.markdown().splitlines()[0] == (
        "Follow-up 3 of [incident #7](https://bot.example.com/ui/incidents/7): api is down "
        "(Slack: [#inc-7-api](https://slack.com/app_redirect?channel=C7))")
    assert "Alert on disk\nbefore it fills [soon]" in text.markdown()
    assert "Owner (Slack user): UOWNER · Due: 2024-05-08" in text.markdown()


def test_a_long_text_is_cut_in_the_title_only() -> None:
    long = "x" * 500
    text = issue_text({**PAYLOAD, "text": long}, 7, "https://bot.example.com")
    assert len(text.title) == TITLE_LIMIT and text.title.endswith("…")
    assert long in text.markdown()


def test_without_a_channel_the_body_has_no_slack_link() -> None:
    text = issue_text({**PAYLOAD, "channel_id": None, "owner": None, "due_at": None}, 7, "http://localhost:8080")
    assert "slack.com" not in text.markdown() and "Owner" not in text.markdown()
    links = [m["attrs"]["href"] for p in text.adf()["content"] for n in p["content"] for m in n.get("marks", [])]
    assert links == ["http://localhost:8080/ui/incidents/7"]


def test_line_breaks_are_hard_breaks_in_adf() -> None:
    paragraphs = issue_text(PAYLOAD, 7, "https://bot.example.com").adf()["content"]
    assert paragraphs[1] == {"type": "paragraph", "content": [
        {"type": "text", "text": "Alert on disk"}, {"type": "hardBreak"},
        {"type": "text", "text": "before it fills [soon]"}]}
