"""The read-only incident API, with bearer API_TOKEN."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import REPO
from tests.support.bot import API_TOKEN, WEBHOOK_TOKEN, bot_settings, running_bot
from tests.support.payloads import body, captured, group

HOOK = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
API = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[str]:
    async with running_bot(bot_settings(database_url, REPO / "playbooks")) as url:
        async with httpx.AsyncClient() as client:
            for payload in (captured("1-firing"), body(group("Second", alerts=1))):
                assert (await client.post(f"{url}/alertmanager", content=payload, headers=HOOK)).status_code == 200
        yield url


async def get(url: str, headers: dict[str, str] = API) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(url, headers=headers)


async def test_list_shows_incidents_newest_first_with_their_state(bot: str) -> None:
    response = await get(f"{bot}/incidents")

    assert response.status_code == 200
    incidents = response.json()["incidents"]
    assert [i["id"] for i in incidents] == [2, 1]
    assert incidents[1]["title"] == "HighErrorRate in checkout" and incidents[1]["severity"] == "sev1"
    assert incidents[1]["postmortem"] == "/incidents/1/postmortem.md"
    assert [i["id"] for i in (await get(f"{bot}/incidents?status=open&limit=1")).json()["incidents"]] == [2]
    assert [i["id"] for i in (await get(f"{bot}/incidents?before=2")).json()["incidents"]] == [1]


async def test_detail_has_alerts_and_the_timeline(bot: str) -> None:
    detail = (await get(f"{bot}/incidents/1")).json()

    assert [a["fingerprint"] for a in detail["alerts"]] == ["9b722ba78b610960", "fb1484307a3e8865"]
    assert [e["kind"] for e in detail["timeline"]][:2] == ["alert.fired", "alert.fired"]  # ordered by when
    assert "incident.opened" in [e["kind"] for e in detail["timeline"]]


@pytest.mark.parametrize(("path", "headers", "status", "error"), [
    ("/incidents", {}, 401, "missing or invalid bearer token"),
    ("/incidents", {"Authorization": "Bearer wrong"}, 401, "missing or invalid bearer token"),
    ("/incidents/999", API, 404, "no incident 999"),
    ("/incidents/abc", API, 404, "no incident abc"),
    ("/incidents?limit=0", API, 400, "limit must be between 1 and 200"),
    ("/incidents?status=done", API, 400, "status must be one of open, investigating"),
])
async def test_bad_requests_get_a_clear_json_error(bot: str, path: str, headers: dict[str, str], status: int,
                                                  error: str) -> None:
    response = await get(f"{bot}{path}", headers)
    assert response.status_code == status
    assert response.json()["error"].startswith(error)


async def test_without_api_token_configured_the_api_refuses_everything(database_url: str) -> None:
    async with running_bot(bot_settings(database_url, REPO / "playbooks", api_token=None)) as url:
        response = await get(f"{url}/incidents", {"Authorization": "Bearer anything"})
    assert response.status_code == 401
    assert response.json() == {"error": "the incident API is disabled: API_TOKEN is not set on the bot"}
