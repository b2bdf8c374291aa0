"""What the draft says about the work after the incident: the postmortem's owner, due
time and status, and the follow-ups with owner, due date, status and tracker link."""

from __future__ import annotations

from collections.abc import Sequence

from bot.postmortem import text as tx
from bot.postmortem.model import FollowUpRecord, PostmortemRecord
from bot.postmortem.views import FollowUpView, PostmortemView

STATUS_WORDS = {"draft": "draft", "in_review": "in review", "published": "published"}
FOLLOWUP_WORDS = {"open": "open", "done": "done", "dropped": "dropped"}


def postmortem_view(record: PostmortemRecord | None) -> PostmortemView | None:
    if record is None:
        return None
    if record.suspended:
        due = "on hold while the incident is open again"
    elif record.due_at is not None:
        due = tx.full_time(record.due_at)
    else:
        due = ""
    published = tx.full_time(record.published_at) if record.published_at is not None else ""
    return PostmortemView(owner=tx.user(record.owner), due=due,
                          status=STATUS_WORDS.get(record.status, tx.one_line(record.status)), published=published)


def followup_views(records: Sequence[FollowUpRecord]) -> list[FollowUpView]:
    views = []
    for record in sorted(records, key=lambda r: r.number):
        link = ""
        if record.tracker_url:
            link = tx.link(tx.one_line(record.tracker_key or "issue"), record.tracker_url) or ""
        views.append(FollowUpView(
            number=record.number, text=_cell(record.text), owner=tx.user(record.owner) if record.owner else "",
            due=tx.to_utc(record.due_at).strftime("%Y-%m-%d") if record.due_at is not None else "",
            status=FOLLOWUP_WORDS.get(record.status, tx.one_line(record.status)), link=link))
    return views


def _cell(text: str) -> str:
    """Text for one Markdown table cell: one line, its pipes escaped, and angle brackets as
    entities, so typed HTML shows as text wherever the Markdown is rendered (Slack sends
    slash-command text with them already as entities, which stay as they are)."""
    return tx.one_line(text).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
