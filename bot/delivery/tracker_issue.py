"""What a follow-up's issue says, in GitHub Markdown or Jira's document format: the
follow-up, and links back to the incident (in incident-bot and in Slack). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.adapters.jira import Paragraph, adf_document
from bot.domain.links import incident_page_url, slack_channel_url

TITLE_LIMIT = 200  # Jira's summary allows 255; a title is one line


def github_marker(followup_id: int) -> str:
    """Hidden in the issue's body: how a retry finds the issue an interrupted attempt made."""
    return f"<!-- incident-bot:followup:{followup_id} -->"


def jira_marker(followup_id: int) -> str:
    return f"incident-bot-followup-{followup_id}"


@dataclass(frozen=True, slots=True)
class IssueText:
    title: str
    facts: list[Paragraph]  # what the issue body says, as paragraphs of (text, link) runs

    def markdown(self) -> str:
        return "\n\n".join("".join(_markdown_run(text, href) for text, href in paragraph)
                           for paragraph in self.facts)

    def adf(self) -> dict[str, Any]:
        return adf_document(self.facts)


def issue_text(payload: Mapping[str, Any], incident_id: int, public_url: str) -> IssueText:
    number, text = payload["number"], str(payload["text"])
    first_line = " ".join(text.split()) or f"Follow-up {number}"
    title = first_line if len(first_line) <= TITLE_LIMIT else first_line[: TITLE_LIMIT - 1] + "…"
    about: list[tuple[str, str | None]] = [
        (f"Follow-up {number} of ", None), (f"incident #{incident_id}", incident_page_url(public_url, incident_id)),
        (f": {payload.get('incident_title') or ''}", None)]
    if payload.get("channel_id"):
        about += [(" (Slack: ", None), (f"#{payload.get('channel_name')}",
                                        slack_channel_url(str(payload["channel_id"]))), (")", None)]
    facts: list[Paragraph] = [about, [(text, None)]]
    details = []
    if payload.get("owner"):
        details.append(f"Owner (Slack user): {payload['owner']}")
    if payload.get("due_at"):
        details.append(f"Due: {str(payload['due_at'])[:10]}")
    if details:
        facts.append([(" · ".join(details), None)])
    facts.append([("Created by incident-bot; closing this issue marks the follow-up done.", None)])
    return IssueText(title, facts)


def _markdown_run(text: str, href: str | None) -> str:
    if href is None:
        return text
    label = text.replace("[", "\\[").replace("]", "\\]")
    return f"[{label}]({href})"
