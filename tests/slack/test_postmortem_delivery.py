"""The postmortem draft three ways: /incident postmortem uploads it, the CLI prints it,
GET /incidents/<id>/postmortem.md serves it."""

from __future__ import annotations

from pathlib import Path

import httpx

from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import API_TOKEN, WEBHOOK_TOKEN
from tests.support.cli import cli_env, run_cli
from tests.support.payloads import captured
from tests.support.slack import SLACK_PLAYBOOKS, eventually

HOOK = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}


async def test_postmortem_is_uploaded_printed_and_served_with_the_same_content(
        slack_bot: str, slack: SlackEmulator, db: Database, database_url: str, tmp_path: Path) -> None:
    async with httpx.AsyncClient() as client:
        await client.post(f"{slack_bot}/alertmanager", content=captured("1-firing"), headers=HOOK)

    async def opened() -> bool:
        incidents = await rows.incidents(db)
        return bool(incidents and incidents[0].header_ts)
    await eventually(opened, what="incident opened in Slack")
    [incident] = await rows.incidents(db)
    url = f"{slack_bot}/slack/events"
    await slack.slash_command(url, text="note rolled back deploy 4711", user_id="UBOB", channel_id=incident.channel_id)
    reply = await slack.slash_command(url, text="postmortem", user_id="UBOB", channel_id=incident.channel_id)
    assert reply.json()["text"] == "The postmortem draft is being rendered and uploaded to this channel."

    async def uploaded() -> bool:
        return any(m.files for m in slack.messages(incident.channel_id))
    await eventually(uploaded, what="postmortem file shared")
    [message] = [m for m in slack.messages(incident.channel_id) if m.files]
    content = (slack.file_content(message.files[0]["id"]) or b"").decode()
    assert content.startswith("# Postmortem #1: HighErrorRate in checkout")
    assert "rolled back deploy 4711" in content and "## Action items" in content
    assert [c.method for c in slack.calls if c.method.startswith("files.")] == [
        "files.getUploadURLExternal", "files.completeUploadExternal"]

    async with httpx.AsyncClient() as client:
        served = await client.get(f"{slack_bot}/incidents/1/postmortem.md", headers={"Authorization": f"Bearer {API_TOKEN}"})
        unauthorized = await client.get(f"{slack_bot}/incidents/1/postmortem.md")
        missing = await client.get(f"{slack_bot}/incidents/99/postmortem.md", headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert served.status_code == 200 and served.headers["Content-Type"].startswith("text/markdown")
    assert served.text.startswith("# Postmortem #1: HighErrorRate in checkout")
    assert unauthorized.status_code == 401 and missing.status_code == 404
    assert missing.json() == {"error": "no incident 99"}

    env = cli_env(tmp_path, DATABASE_URL=database_url, PLAYBOOKS_DIR=str(SLACK_PLAYBOOKS))
    by_number = run_cli(["postmortem", "1"], env, tmp_path)
    by_channel = run_cli(["postmortem", f"#{incident.channel_name}"], env, tmp_path)
    nothing = run_cli(["postmortem", "404"], env, tmp_path)
    assert by_number.returncode == 0 and by_number.stdout.startswith("# Postmortem #1: HighErrorRate in checkout")
    assert by_channel.stdout == by_number.stdout  # rendering is deterministic
    assert "rolled back deploy 4711" in by_number.stdout
    assert nothing.returncode == 1 and nothing.stderr.startswith("no incident 404")
