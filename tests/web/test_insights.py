"""``GET /ui/insights`` over HTTP, signed in, on SQLite and PostgreSQL: MTTA and MTTR by
severity and week as charts and tables, the noisiest alerts, postmortems on time and
follow-ups closed, over the period chosen."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session

from bot.clock import ManualClock
from storage import followups, postmortems
from storage.database import Database
from tests.conftest import REPO
from tests.support.bot import bot_settings, running_bot
from tests.support.web_session import SESSION_SECRET, signed_in
from tests.support.workspace import alert, insert_incident

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # a Wednesday
MIN, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
A_OPENED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # the Monday of the week before
B_OPENED = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
C_OPENED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # this week's Monday
NOISY = '<script>alert("pwned")</script>'
SVG = "{http://www.w3.org/2000/svg}"


class Tables(HTMLParser):
    """Every table of a page as rows of cell texts, under the caption or the heading before it."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._heading = ""
        self._text: list[str] | None = None
        self._current: list[list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h2", "td", "th", "caption"):
            self._text = []
        elif tag == "table":
            self._current = []
        elif tag == "tr" and self._current is not None:
            self._current.append([])

    def handle_endtag(self, tag: str) -> None:
        text = " ".join("".join(self._text or []).split())
        if tag == "h2":
            self._heading = text
        elif tag in ("td", "th") and self._current:
            self._current[-1].append(text)
        elif tag == "table" and self._current is not None:
            self.tables[self._heading] = self._current
            self._current = None
        if tag in ("h2", "td", "th", "caption"):
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def tables_of(html: str) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def svgs_of(html: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", html, re.S)]


def seed(session: Session) -> None:
    a = insert_incident(session, "checkout errors", severity="sev1", opened_at=A_OPENED,
                        acknowledged_at=A_OPENED + 2 * MIN, resolved_at=A_OPENED + HOUR, status="resolved")
    b = insert_incident(session, "checkout slow", severity="sev1", opened_at=B_OPENED,
                        acknowledged_at=B_OPENED + 6 * MIN, resolved_at=B_OPENED + 2 * HOUR, status="resolved")
    c = insert_incident(session, "db failover", severity="sev2", opened_at=C_OPENED,
                        acknowledged_at=C_OPENED + 10 * MIN, resolved_at=C_OPENED + 3 * HOUR, status="resolved")
    insert_incident(session, "disk full", severity="sev3", opened_at=NOW - 60 * DAY,
                    acknowledged_at=NOW - 60 * DAY + 20 * MIN)  # in the last 90 days, not the last 30
    insert_incident(session, "ancient", severity="sev3", opened_at=NOW - 200 * DAY,
                    acknowledged_at=NOW - 200 * DAY + 30 * MIN)  # only in the last 365 days
    for n in range(3):  # opened incident a: there when it opened
        alert(session, a, f"fp-noisy-{n}", name=NOISY, starts_at=A_OPENED)
    alert(session, a, "fp-disk", name="DiskFull", starts_at=A_OPENED + 5 * MIN)  # joined later: opened nothing
    alert(session, c, "fp-db", name="DbDown", starts_at=C_OPENED)

    postmortems.start(session, a, owner="UALEX", due_at=A_OPENED + 3 * DAY, now=A_OPENED + HOUR)
    postmortems.change(session, a, A_OPENED + 2 * DAY, status="published", published_at=A_OPENED + 2 * DAY)
    postmortems.start(session, b, owner="UALEX", due_at=B_OPENED + 3 * DAY, now=B_OPENED + 2 * HOUR)
    postmortems.change(session, b, B_OPENED + 4 * DAY, status="published", published_at=B_OPENED + 4 * DAY)  # late
    postmortems.start(session, c, owner="UALEX", due_at=C_OPENED + 5 * DAY, now=C_OPENED + 3 * HOUR)  # not yet due

    def followup(text: str, due_at: datetime | None) -> int:
        return followups.add(session, a, text=text, owner="UALEX", due_at=due_at, created_by="UALEX",
                             source="command", message_link=None, now=A_OPENED + 2 * HOUR).id

    done = followup("alert on pool saturation", A_OPENED + 4 * DAY)
    followups.close(session, done, status="done", by="UALEX", reason=None, now=A_OPENED + 3 * DAY)  # on time
    dropped = followup("rewrite the service", None)
    followups.close(session, dropped, status="dropped", by="UALEX", reason="no", now=A_OPENED + 3 * DAY)
    followup("write the runbook", NOW - DAY)  # open and overdue


@pytest.fixture
async def client(database_url: str, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    settings = bot_settings(database_url, REPO / "playbooks", session_secret=SecretStr(SESSION_SECRET))
    async with running_bot(settings, clock=ManualClock(NOW)) as url:
        browser = await signed_in(db, user_id="UALEX", team_id="T1", now=NOW)
        async with httpx.AsyncClient(base_url=url, cookies=browser.cookies) as http:
            yield http


async def test_mtta_and_mttr_by_severity_and_week_are_drawn_and_tabulated(client: httpx.AsyncClient,
                                                                          db: Database) -> None:
    await db.write(seed)

    page = await client.get("/ui/insights")

    assert page.status_code == 200, page.text
    assert "Content-Security-Policy" in page.headers and 'style="' not in page.text
    assert re.fullmatch(r"app;dur=\d+\.\d", page.headers["Server-Timing"])  # the server's own time
    tables = tables_of(page.text)
    mtta = tables["Mean time to acknowledge (MTTA)"]
    assert mtta[0] == ["Week of", "sev1", "sev2", "sev3"]
    rows = {row[0]: row[1:] for row in mtta[1:]}
    assert len(rows) == 14 and mtta[1][0] == "2026-08-31"  # 90 days: from the week of Sep 3
    assert rows["2026-11-23"] == ["4.0 (2)", "—", "—"]  # (2 + 6 minutes) / 2
    assert rows["2026-11-30"] == ["—", "10.0 (1)", "—"]
    assert rows["2026-10-26"] == ["—", "—", "—"]
    assert rows["2026-09-28"] == ["—", "—", "20.0 (1)"]  # the sev3 incident 60 days ago
    mttr = tables["Mean time to resolve (MTTR)"]
    assert mttr[0] == ["Week of", "sev1", "sev2"]  # the sev3 incident is not resolved
    rows = {row[0]: row[1:] for row in mttr[1:]}
    assert rows["2026-11-23"] == ["1.5 (2)", "—"] and rows["2026-11-30"] == ["—", "3.0 (1)"]  # in hours
    assert "Hours by week" in page.text and "Minutes by week" in page.text

    charts = svgs_of(page.text)
    assert len(charts) == 2
    for chart, severities in zip(charts, (["sev1", "sev2", "sev3"], ["sev1", "sev2"]), strict=True):
        paths = chart.findall(f"{SVG}path")
        assert [p.find(f"{SVG}title").text for p in paths] == severities  # one line per severity
        legend = [g.find(f"{SVG}text").text for g in chart.findall(f"{SVG}g[@class='legend']")]
        assert legend == severities
    assert [t.text for t in charts[1].iter(f"{SVG}text") if t.get("class") == "unit"] == ["hours"]


async def test_noisiest_alerts_postmortems_and_follow_ups_with_alert_text_escaped(client: httpx.AsyncClient,
                                                                                  db: Database) -> None:
    await db.write(seed)

    page = await client.get("/ui/insights?days=30")

    assert page.status_code == 200
    assert NOISY not in page.text and "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in page.text
    noisiest = tables_of(page.text)["Noisiest alerts"]
    assert noisiest == [["Alert", "Fired", "Incidents opened"], [NOISY, "3", "1"], ["DbDown", "1", "1"],
                        ["DiskFull", "1", "0"]]
    text = " ".join(re.sub(r"<[^>]+>", " ", page.text).split())
    assert "1 of 3 postmortems with a due date published by it (33%)" in text
    assert "Published late 1 Overdue, not published 0 Not yet due 1" in text
    assert "Of 3 follow-ups added in the last 30 days: Done 1 Dropped 1 Open 1 (1 overdue)" in text
    assert "2 closed in the period; 1 of 1 with a due date closed by it (100%)" in text


async def test_the_period_chooses_the_incidents_counted(client: httpx.AsyncClient, db: Database) -> None:
    await db.write(seed)

    def mtta_severities(page: httpx.Response) -> list[str]:
        return tables_of(page.text)["Mean time to acknowledge (MTTA)"][0][1:]

    last_30, last_90, last_365 = [await client.get(f"/ui/insights?days={d}") for d in (30, 90, 365)]

    assert mtta_severities(last_30) == ["sev1", "sev2"]
    assert "3 incidents opened in the last 30 days" in " ".join(last_30.text.split())
    assert mtta_severities(last_90) == ["sev1", "sev2", "sev3"]
    assert "4 incidents opened in the last 90 days" in " ".join(last_90.text.split())
    assert "5 incidents opened in the last 365 days" in " ".join(last_365.text.split())
    assert len(tables_of(last_365.text)["Mean time to acknowledge (MTTA)"]) == 1 + 53
    assert '<option value="365" selected>' in last_365.text


@pytest.mark.parametrize("days", ["7", "abc", "", "90.0", "-30"])
async def test_a_period_other_than_30_90_or_365_days_is_refused_naming_the_field(client: httpx.AsyncClient,
                                                                                  days: str) -> None:
    page = await client.get("/ui/insights", params={"days": days})

    assert page.status_code == 400
    assert "days (the period of the insights) must be 30, 90 or 365" in page.text


async def test_an_empty_period_says_so_instead_of_empty_charts(client: httpx.AsyncClient) -> None:
    page = await client.get("/ui/insights?days=30")

    assert page.status_code == 200
    assert "No incidents in the last 30 days." in page.text
    assert "<svg" not in page.text
    assert "No alerts fired in the last 30 days." in page.text


async def test_without_a_session_the_insights_ask_to_sign_in(database_url: str) -> None:
    settings = bot_settings(database_url, REPO / "playbooks", session_secret=SecretStr(SESSION_SECRET))
    async with running_bot(settings, clock=ManualClock(NOW)) as url, httpx.AsyncClient(base_url=url) as http:
        page = await http.get("/ui/insights?days=30")
    assert page.status_code == 302 and page.headers["Location"] == "/ui/login?next=%2Fui%2Finsights%3Fdays%3D30"
