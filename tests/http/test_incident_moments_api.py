"""Key moments and corrections on ``GET /incidents/<id>`` (added fields, nothing renamed)
and in the postmortem draft it serves, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.clock import utcnow
from bot.incident.timeline_editor import TimelineEditor
from bot.playbook import load_playbooks
from storage.alerting import update_incident
from storage.database import Database
from tests.conftest import REPO
from tests.http.test_incident_api import API, HOOK, get
from tests.support import rows
from tests.support.bot import bot_settings, running_bot
from tests.support.payloads import captured


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[str]:
    async with running_bot(bot_settings(database_url, REPO / "playbooks")) as url:
        async with httpx.AsyncClient() as client:
            assert (await client.post(f"{url}/alertmanager", content=captured("1-firing"),
                                      headers=HOOK)).status_code == 200
        yield url


async def test_moments_and_corrections_are_added_to_the_detail_and_used_by_the_draft(bot: str, db: Database) -> None:
    await db.write(update_incident, 1, roles={"scribe": "USCRIBE"})
    playbooks = load_playbooks(REPO / "playbooks")
    editor = TimelineEditor(db, lambda: playbooks, utcnow, lambda: None)
    events = await rows.events(db, 1)
    fired = next(e for e in events if e.kind == "alert.fired")
    opened = next(e for e in events if e.kind == "incident.opened")
    untouched = (await get(f"{bot}/incidents/1")).json()
    assert untouched["moments"] == {"detected": None, "identified": None, "mitigated": None, "resolved": None}
    assert all(set(e) == {"id", "at", "recorded_at", "kind", "actor", "data"} for e in untouched["timeline"])

    await editor.mark(1, opened.id, "mitigated", actor="USCRIBE", source="web", reason="failover")
    await editor.correct(1, opened.id, actor="USCRIBE", source="web", text="Paged the on-call")
    await editor.hide(1, fired.id, actor="USCRIBE", source="web")
    detail = (await get(f"{bot}/incidents/1")).json()

    mitigated = detail["moments"]["mitigated"]
    assert (mitigated["event_id"], mitigated["marked_by"], mitigated["reason"]) == (opened.id, "USCRIBE", "failover")
    assert mitigated["at"] == next(e["at"] for e in detail["timeline"] if e["id"] == opened.id)
    entry = next(e for e in detail["timeline"] if e["id"] == opened.id)
    assert (entry["moments"], entry["hidden"], entry["corrected"]["text"]) == (["mitigated"], False, "Paged the on-call")
    assert next(e for e in detail["timeline"] if e["id"] == fired.id)["hidden"] is True
    assert [e["kind"] for e in detail["timeline"]][-3:] == ["timeline.marked", "timeline.corrected", "timeline.hidden"]

    draft = (await get(f"{bot}/incidents/1/postmortem.md", API)).text
    assert "**Time to mitigate:** 0s (marked " in draft and "by <@USCRIBE>: failover)" in draft
    assert "**[Mitigated]** Paged the on-call _(corrected)_" in draft
