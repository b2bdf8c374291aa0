"""The "no trace links" line: once per incident, and never after a trace link, however many
alert groups join it; decided from what is stored, so a restarted bot keeps to it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.delivery.trace_notice import NO_PROMETHEUS, no_trace_links_text
from storage import alerting as repo
from storage import outbox
from storage.database import Database
from storage.models import OutboxAction
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN, running_bot
from tests.support.payloads import body, group
from tests.support.slack import SLACK_PLAYBOOKS, eventually, slack_settings

HOOK = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
TRACE_ID = "0123456789abcdef0123456789abcdef"


def storm_playbook(tmp_path: Path) -> Path:
    """The Slack playbook with trace links, and a storm guard that storms from the second group on."""
    text = (SLACK_PLAYBOOKS / "incidents.yml").read_text().replace(
        "    storm_guard: {max_incidents: 5, window: 10m}",
        "    storm_guard: {max_incidents: 1, window: 10m}\n"
        '    trace_url: "https://tempo.example.com/trace/{{ trace_id }}"')
    assert "trace_url" in text
    directory = tmp_path / "playbooks"
    directory.mkdir()
    (directory / "incidents.yml").write_text(text)
    return directory


async def send_groups(bot: str, names: list[str], extra_labels: dict[str, str] | None = None) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        for name in names:  # one after another, as Alertmanager flushes groups
            payload = body(group(alertname=name, alerts=1, extra_labels=extra_labels))
            response = await client.post(f"{bot}/alertmanager", content=payload, headers=HOOK)
            assert response.status_code == 200, response.text


async def delivered(db: Database) -> None:
    async def done() -> bool:
        return all(o.state != "pending" for o in await rows.outbox(db))
    await eventually(done, timeout=60, what="outbox delivered")


async def storm_texts(db: Database, slack: SlackEmulator) -> list[str]:
    storm = next(i for i in await rows.incidents(db) if i.source == "storm")
    assert storm.channel_id is not None
    return [m.text for m in slack.messages(storm.channel_id)]


async def trace_actions(db: Database) -> int:
    return sum(1 for o in await rows.outbox(db) if o.kind == "message.trace_links")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_groups_joining_a_storm_say_no_trace_links_once_even_across_a_restart(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    settings = slack_settings(database_url, slack, storm_playbook(tmp_path))
    async with running_bot(settings) as bot:
        # Storm0 opens its own incident; Storm1 opens the storm incident, Storm2..7 join it.
        await send_groups(bot, [f"Storm{i}" for i in range(8)])
        await delivered(db)
    async with running_bot(settings) as bot:  # a new process knows only what is stored
        await send_groups(bot, ["Storm8", "Storm9"])
        await delivered(db)

    texts = await storm_texts(db, slack)
    assert texts.count(NO_PROMETHEUS) == 1, texts
    assert not any(t.startswith("*Traces*") for t in texts)
    assert all(f"Storm{i}" in "\n".join(texts) for i in range(1, 10))  # every group did reach the channel
    assert await trace_actions(db) == 10  # each group asked; only the first answer was posted


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_once_a_trace_link_is_posted_later_groups_without_traces_say_nothing(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> None:
    settings = slack_settings(database_url, slack, storm_playbook(tmp_path))
    async with running_bot(settings) as bot:
        await send_groups(bot, ["Storm0"])
        await send_groups(bot, ["Storm1"], {"trace_id": TRACE_ID})  # opens the storm incident, with a trace
        await delivered(db)
        await send_groups(bot, [f"Storm{i}" for i in range(2, 7)])
        await delivered(db)

    texts = await storm_texts(db, slack)
    traces = [t for t in texts if t.startswith("*Traces*")]
    assert traces == [f"*Traces*\n• <https://tempo.example.com/trace/{TRACE_ID}|Trace {TRACE_ID}>"]
    assert not any(t.startswith("No trace links") for t in texts), texts


async def test_only_a_finished_trace_action_that_posted_counts(db: Database) -> None:
    """The stored fact the decision reads, on both databases."""
    now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    key, kind = "traces:1", "message.trace_links"

    def add(session: Session, result: dict[str, object] | None, state: str = "done", on: str = key,
            of: str = kind) -> None:
        repo.enqueue(session, ordering_key=on, kind=of, payload={}, now=now)
        [action_id] = session.execute(select(func.max(OutboxAction.id))).scalars()
        if state != "pending":
            outbox.finish(session, action_id, state=state, now=now, result=result)

    async def posted() -> bool:
        return await db.read(outbox.any_posted, key, kind)

    assert not await posted()
    await db.write(add, {"skipped": "the route has no trace_url"})
    await db.write(add, None, state="failed")
    await db.write(add, None, state="pending")
    await db.write(add, {"ts": "1700000000.000100"}, on="traces:2")  # another incident
    await db.write(add, {"ts": "1700000000.000200"}, of="message.post")  # another kind
    assert not await posted()
    await db.write(add, {"ts": "1700000000.000300", "traces": []})
    assert await posted()


def test_the_notice_is_said_once_and_never_after_trace_links() -> None:
    assert no_trace_links_text(False, prometheus_configured=False, problems=[]) == NO_PROMETHEUS
    assert no_trace_links_text(True, prometheus_configured=False, problems=[]) is None
    assert no_trace_links_text(True, prometheus_configured=True, problems=["timeout"]) is None


def test_the_prometheus_reason_is_escaped_for_slack() -> None:
    text = no_trace_links_text(False, prometheus_configured=True, problems=["<b>&"])
    assert text == "No trace links: no exemplars were found (&lt;b&gt;&amp;)."
    assert no_trace_links_text(False, prometheus_configured=True, problems=[]) == \
        "No trace links: no exemplars were found (no trace ids)."
