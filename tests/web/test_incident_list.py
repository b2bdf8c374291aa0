"""``GET /ui/``: the incidents, filtered, searched and paged, on both databases; what a title
holds is shown as text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.clock import utcnow
from storage.alerting import insert_incident
from storage.database import Database
from tests.conftest import REPO
from tests.support.bot import bot_settings, running_bot
from tests.support.web_session import SESSION_SECRET, signed_in

# Recent, whatever the date: older resolved incidents would be purged by the bot's retention.
OPENED = utcnow().replace(microsecond=0) - timedelta(days=1)


def _incident(title: str, severity: str, status: str, route: str, n: int) -> dict[str, Any]:
    at = OPENED + timedelta(minutes=n)
    return {"title": title, "status": status, "severity": severity, "playbook": "default", "route": route,
            "source": "alertmanager", "declared_by": None, "commander": None, "channel_name": f"inc-{n}",
            "policy": {}, "opened_at": at, "updated_at": at, "resolved_at": at if status == "resolved" else None}


@pytest.fixture
async def client(database_url: str, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    incidents = [("Checkout errors", "sev1", "investigating", "critical"),
                 ("Database 100% CPU", "sev2", "resolved", "critical"),
                 ("Disk almost full", "sev3", "monitoring", "storage"),
                 ('<script>alert("t")</script><img src=x onerror=alert(1)>', "sev2", "investigating", "critical")]
    for n, (title, severity, status, route) in enumerate(incidents):
        await db.write(insert_incident, **_incident(title, severity, status, route, n))
    settings = bot_settings(database_url, REPO / "playbooks", session_secret=SecretStr(SESSION_SECRET))
    async with running_bot(settings) as url:
        session = await signed_in(db, user_id="UALICE", team_id="T0001")
        async with httpx.AsyncClient(base_url=url, cookies=session.cookies) as http:
            yield http


def _titles(html: str) -> list[str]:
    return [t for t in ("Checkout errors", "Database 100% CPU", "Disk almost full", "&lt;script&gt;") if t in html]


async def test_the_list_shows_every_incident_newest_first_with_filters_for_what_exists(client: httpx.AsyncClient) -> None:
    page = await client.get("/ui/")
    assert page.status_code == 200
    html = page.text
    assert html.index("&lt;script&gt;") < html.index("Disk almost full") < html.index("Checkout errors")
    assert "4 incidents" in html
    assert '<option value="storage"' in html and '<option value="sev3"' in html


@pytest.mark.parametrize(("query", "expected"), [
    ({"state": "open"}, ["Checkout errors", "Disk almost full", "&lt;script&gt;"]),
    ({"state": "resolved"}, ["Database 100% CPU"]),
    ({"severity": "sev2"}, ["Database 100% CPU", "&lt;script&gt;"]),
    ({"route": "storage"}, ["Disk almost full"]),
    ({"q": "100%"}, ["Database 100% CPU"]),
    ({"q": "DISK"}, ["Disk almost full"]),
    ({"state": "open", "severity": "sev2", "route": "critical"}, ["&lt;script&gt;"]),
    ({"q": "nothing like it"}, []),
])
async def test_filters_and_search(client: httpx.AsyncClient, query: dict[str, str], expected: list[str]) -> None:
    page = await client.get("/ui/", params=query)
    assert page.status_code == 200
    assert _titles(page.text) == expected
    if not expected:
        assert "No incidents match." in page.text


async def test_a_title_holding_markup_is_shown_as_text(client: httpx.AsyncClient) -> None:
    html = (await client.get("/ui/")).text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html


async def test_bad_filters_are_refused_naming_the_field(client: httpx.AsyncClient) -> None:
    wrong_state = await client.get("/ui/", params={"state": "sideways"})
    assert wrong_state.status_code == 400
    assert "state must be open or resolved" in wrong_state.text
    wrong_page = await client.get("/ui/", params={"page": "0"})
    assert wrong_page.status_code == 400
    assert "page must be a whole number" in wrong_page.text


async def test_pages_of_fifty(database_url: str, db: Database, client: httpx.AsyncClient) -> None:
    for n in range(4, 60):
        await db.write(insert_incident, **_incident(f"Incident number {n}", "sev3", "investigating", "critical", n))
    first = (await client.get("/ui/")).text
    assert "60 incidents, page 1" in first
    assert "Incident number 59" in first and "Incident number 10" in first and "Incident number 9<" not in first
    assert 'rel="next" href="/ui/?page=2"' in first
    second = (await client.get("/ui/", params={"page": 2})).text
    assert "Incident number 9<" in second and "Checkout errors" in second
    assert 'rel="prev"' in second and 'rel="next"' not in second
    kept = (await client.get("/ui/", params={"severity": "sev3"})).text
    assert 'href="/ui/?severity=sev3&amp;page=2"' in kept
