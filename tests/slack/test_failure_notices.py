"""A stakeholder update that cannot reach its channel: the incident channel is told, in one
line, which channel, what is wrong with it and how to fix it. End to end: webhook, slash
command, outbox, the real slack_sdk and the strict emulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN, running_bot
from tests.support.payloads import captured
from tests.support.slack import SLACK_PLAYBOOKS, eventually, slack_settings

HOOK = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
INVITE = "type `/invite @incident-bot` there"
NOT_FOUND = (f"the channel does not exist, or is private and the bot is not in it — create it, {INVITE}, "
             "or fix stakeholder_channels in the playbook.")


def playbook_posting_to(tmp_path: Path, channel: str) -> Path:
    text = (SLACK_PLAYBOOKS / "incidents.yml").read_text()
    assert 'stakeholder_channels: ["#incidents"]' in text
    directory = tmp_path / "playbooks"
    directory.mkdir()
    (directory / "incidents.yml").write_text(text.replace('stakeholder_channels: ["#incidents"]',
                                                          f'stakeholder_channels: ["{channel}"]'))
    return directory


async def delivered(db: Database) -> None:
    async def done() -> bool:
        return all(o.state != "pending" for o in await rows.outbox(db))
    await eventually(done, what="outbox delivered")


def nothing(slack: SlackEmulator) -> str:
    return "#stakeholders"


def private_without_the_bot(slack: SlackEmulator) -> str:
    slack.seed_channel("stakeholders", members=["UALICE"], is_private=True)
    return "#stakeholders"


def private_by_id(slack: SlackEmulator) -> str:
    return slack.seed_channel("stakeholders", members=["UALICE"], is_private=True).id


def archived(slack: SlackEmulator) -> str:
    slack.seed_channel("stakeholders", members=["UALICE", "UBOT"]).is_archived = True
    return "#stakeholders"


def public_but_the_bot_may_not_join(slack: SlackEmulator) -> str:
    slack.seed_channel("stakeholders", members=["UALICE"])
    slack.revoke_scope("channels:join")  # an app installed before it asked for channels:join
    return "#stakeholders"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("arrange", "notice"), [
    (nothing, f"post the update to #stakeholders: {NOT_FOUND}"),
    (private_without_the_bot, f"post the update to #stakeholders: {NOT_FOUND}"),
    (private_by_id, f"post the update to <#{{id}}>: {NOT_FOUND}"),
    (archived, ("post the update to #stakeholders: the channel is archived — unarchive it, or fix "
               "stakeholder_channels in the playbook.")),
    (public_but_the_bot_may_not_join, f"post the update to #stakeholders: the bot is not in #stakeholders — {INVITE}."),
], ids=["missing", "private", "private-by-id", "archived", "cannot-join"])
async def test_an_update_to_a_stakeholder_channel_the_bot_cannot_post_to_names_the_channel_and_the_fix(
        database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path,
        arrange: Callable[[SlackEmulator], str], notice: str) -> None:
    channel = arrange(slack)
    settings = slack_settings(database_url, slack, playbook_posting_to(tmp_path, channel))
    async with running_bot(settings) as bot:
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{bot}/alertmanager", content=captured("1-firing"), headers=HOOK)
            assert response.status_code == 200
        await delivered(db)
        [incident] = await rows.incidents(db)
        assert incident.channel_id is not None
        reply = await slack.slash_command(f"{bot}/slack/events", text="update Rolled back the deploy",
                                          user_id=incident.commander, channel_id=incident.channel_id)
        assert reply.status_code == 200

        expected = ":warning: incident-bot could not " + notice.replace("{id}", channel)

        def told() -> bool:
            return any(m.text == expected for m in slack.messages(str(incident.channel_id)))
        await eventually(told, what=f"the notice {expected!r}")
        await delivered(db)

    texts = [m.text for m in slack.messages(incident.channel_id)]
    assert texts.count(expected) == 1
    assert not any("message.post_to" in t for t in texts)
    assert any(t.startswith(":loudspeaker: *Update on incident #1") and "Rolled back the deploy" in t for t in texts)
    failures = [e for e in await rows.events(db, incident.id) if e.kind == "slack.action_failed"
                and e.data.get("action") == "message.post_to"]
    assert len(failures) == 1 and failures[0].data["notice"] == expected.removeprefix(":warning: ")
