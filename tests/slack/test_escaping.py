"""Alert text cannot inject Slack markup: whatever labels and annotations hold, the rendered
mrkdwn has no ``<``, ``>`` or ``&`` except in the bot's own markup (mentions it chose,
dates, links whose URL and title are made safe) and in escapes (``&amp;``, ``&lt;``, ``&gt;``):
as rendered by bot/slack/blocks.py and plan.py, and as it reaches the Slack emulator."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.domain.decide import Event
from bot.domain.links import render_links
from bot.playbook import LinkTemplate, Route, SeverityRule
from bot.slack import blocks
from bot.slack.plan import change_text
from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN
from tests.support.payloads import body, group
from tests.support.slack import eventually

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
JSON = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
COMMANDER = "UALICE"

hostile = st.one_of(
    st.text(st.sampled_from("<>&|!@#*_~`:/;= aZ09\n") | st.characters(codec="utf-8"), max_size=40),
    st.sampled_from(["<!channel>", "<!here|here>", "<@U123>", "<#C123|general>", "<https://evil.example|click>",
                     "&lt;!channel&gt;", "&amp;", "a & b", "x" * 400 + "&", "&" * 200, "<" * 100, "|><|"]),
)
# What a URL can look like after the bot's http(s) check: no whitespace, anything else.
url_tail = st.text(st.sampled_from("<>&|!@/?=#%aZ09-._~"), max_size=30)

# The bot's own markup: a mention of a user it chose, a date, a link (URL then title).
_MENTION = re.compile(r"<@(?:UALICE|UBOB|UCAROL|UDAVE)>")
_DATE = re.compile(r"<!date\^\d+\^\{date_short_pretty\} \{time\}\|[0-9: -]+ UTC>")
_LINK = re.compile(r"<https?://[^<>|\s]+\|(?P<title>[^<>|]*)>")
_ESCAPED = re.compile(r"(?:[^<>&]|&(?:amp|lt|gt);)*", re.DOTALL)


def assert_no_injection(text: str) -> None:
    """Only the bot's markup and escaped text; a link's title is checked like any text."""
    rest = _LINK.sub(lambda link: link["title"], _DATE.sub("", _MENTION.sub("", text)))
    assert _ESCAPED.fullmatch(rest), f"unescaped markup in {text!r}"


def mrkdwn(value: Any) -> list[str]:
    """Every mrkdwn text in a block structure."""
    if isinstance(value, list):
        return [text for item in value for text in mrkdwn(item)]
    if not isinstance(value, dict):
        return []
    found = [value["text"]] if value.get("type") == "mrkdwn" else []
    return found + [text for item in value.values() for text in mrkdwn(item)]


@dataclass
class Alert:
    labels: Mapping[str, str]
    annotations: Mapping[str, str] = field(default_factory=dict)
    generator_url: str | None = None


ROUTE = Route(name="r", severity=SeverityRule(default="sev1"), links=(
    LinkTemplate(title="Dashboard {{ labels.team }}", url="https://grafana.example.com/d/{{ labels.team }}"),
    LinkTemplate(title="{{ annotations.summary }}", url="{{ annotations.dashboard }}", kind="dashboard"),
))


@st.composite
def alerts(draw: st.DrawFn) -> Alert:
    return Alert(
        labels={"alertname": draw(hostile), "team": draw(url_tail), "instance": draw(hostile)},
        annotations={"summary": draw(hostile), "runbook_url": "https://runbooks.example.com/" + draw(url_tail),
                     "dashboard": draw(st.sampled_from(["https://", "http://x.example/", ""])) + draw(url_tail)},
        generator_url="http://prometheus.example.com/graph?g0.expr=" + draw(url_tail),
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(alerts(), min_size=1, max_size=12), hostile, hostile, st.booleans())
# Found: the notification text showed the title unescaped, and a URL could end its link early.
@example([Alert({"alertname": "<!channel>"}, {"runbook_url": "https://x.example/a><!channel><"})],
         "<!channel> in checkout", "default/<@U999>", False)
# Found: clipping escaped text to 3000 (or a group key to 120) characters could split an &amp;.
@example([Alert({"alertname": "&" * 3000}, {"runbook_url": "https://x.example/&"})], "t", "r", False)
@example([Alert({"alertname": "x"}, {"runbook_url": "https://x.example/"})], "a" + "&" * 100, "r", False)
def test_alert_text_renders_without_unescaped_markup(
        firing: list[Alert], title: str, route: str, resolved: bool) -> None:
    lines = [blocks.AlertLine(a.labels["alertname"], a.labels.get("instance", ""), a.annotations.get("summary", ""))
             for a in firing]
    links = render_links(ROUTE, firing)
    view = blocks.IncidentView(id=7, title=title, severity="sev1", severity_rank=0, status="investigating",
                               commander=COMMANDER, opened_at=NOW, source="alertmanager", route=route,
                               firing=lines, silenced_until=NOW)
    events = [Event("alert.fired", NOW, {"alertname": a.labels["alertname"], "detail": a.labels.get("instance")})
              for a in firing]
    events.append(Event("storm.group_joined", NOW, {"group_key": title * 3}))

    texts = [
        blocks.header_text(view),
        *mrkdwn(blocks.header_blocks(view)),
        blocks.links_text(links),
        *mrkdwn(blocks.triage_blocks(title, "sev1", route, lines, links, 3, resolved)),
        change_text(events, COMMANDER) or "",
    ]

    for text in texts:
        assert_no_injection(text)
    assert links  # at least the runbook link was rendered, so a URL was checked


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_hostile_labels_reach_slack_escaped_in_every_message_and_notification_text(
        slack_bot: str, slack: SlackEmulator, db: Database) -> None:
    critical = group("<!channel> Down", service="<@UEVIL>", alerts=2)
    critical["alerts"][0]["annotations"] = {"summary": "a & b <!here>",
                                            "runbook_url": "https://runbooks.example.com/x><!channel><"}
    recorded = group("<!here|here> disk", severity="warning", alerts=1)  # the triage route
    async with httpx.AsyncClient(headers=JSON) as client:
        for payload in (critical, recorded):
            assert (await client.post(f"{slack_bot}/alertmanager", content=body(payload))).status_code == 200

    async def delivered() -> bool:
        return all(o.state != "pending" for o in await rows.outbox(db))
    await eventually(delivered, what="outbox delivered")

    sent = [c.args for c in slack.calls if c.method in ("chat.postMessage", "chat.update") and c.ok]
    assert len(sent) >= 3  # header, links and the triage notice at least
    for args in sent:
        for text in [args.get("text", ""), *mrkdwn(args.get("blocks") or [])]:
            assert_no_injection(text)
    assert any("&lt;!channel&gt; Down in &lt;@UEVIL&gt;" in args.get("text", "") for args in sent)
    assert any("https://runbooks.example.com/x%3E%3C!channel%3E%3C|Runbook" in args.get("text", "") for args in sent)
