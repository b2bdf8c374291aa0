"""``incident-bot check --slack``, run as a separate process the way an operator runs it,
against the strict Slack emulator through the real slack_sdk."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.slack_emulator import SlackEmulator
from tests.support.bot import free_port
from tests.support.cli import cli_env, run_cli

TOKEN = "xoxb-check-slack-5e1a"
USERS = {"UALICE": "alice", "UBOB": "bob", "UDAVE": "dave", "UGONE": "gone"}
HIDDEN = ("that the bot can see: it does not exist, is archived, or is private and the bot is not in it "
          "(create it, or /invite @incident-bot there)")
FILLERS = 250  # more channels than one conversations.list page of 200

PLAYBOOK = """\
name: payments
severities:
  - name: sev1
    description: critical
    update_every: 30m
    ack_timeout: 5m
    stakeholder_channels: ["#incidents", "#exec-updates", "#war-room", "#old-incidents", "#leads", {incidents_id},
                           C99999999]
  - {{name: sev2, description: major, update_every: 1h, ack_timeout: 15m, stakeholder_channels: ["#incidents"]}}
rotations:
  primary: {{users: [UALICE, UGONE, UBOB], start: "2026-01-05T09:00", period: 1w, timezone: UTC}}
routes:
  - name: critical
    matchers: ['severity="critical"']
    severity: {{default: sev1}}
    commander: {{rotation: primary}}
    responders: [UDAVE, UGHOST]
  - name: db
    matchers: ['team="db"']
    severity: {{default: sev2}}
    commander: {{user: UNOBODY}}
  - name: rest
    auto_declare: false
    severity: {{default: sev2}}
    triage_channel: "#alerts-triage"
"""

GOOD_PLAYBOOK = """\
name: good
severities:
  - {name: sev1, description: critical, update_every: 30m, ack_timeout: 5m, stakeholder_channels: ["#incidents"]}
rotations:
  primary: {users: [UALICE, UBOB], start: "2026-01-05T09:00", period: 1w, timezone: UTC}
routes:
  - name: all
    auto_declare: false
    severity: {default: sev1}
    commander: {rotation: primary}
    triage_channel: "#alerts-triage"
"""


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(token=TOKEN, users=USERS) as emulator:
        for i in range(FILLERS):
            emulator.seed_channel(f"filler-{i:03d}", members=["UALICE"])
        emulator.seed_channel("incidents", members=["UALICE"])  # public: the bot joins it when it posts
        emulator.seed_channel("alerts-triage", members=["UALICE"])  # on the second page
        emulator.seed_channel("leads", members=["UALICE", "UBOT"], is_private=True)  # private, with the bot
        emulator.seed_channel("war-room", members=["UALICE"], is_private=True)  # private, without the bot
        emulator.seed_channel("old-incidents", members=["UALICE"]).is_archived = True
        emulator.deactivate_user("UGONE")
        yield emulator


def playbooks(tmp_path: Path, text: str, name: str = "payments.yml") -> Path:
    directory = tmp_path / "playbooks"
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(text)
    return directory


async def check_slack(tmp_path: Path, directory: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``incident-bot check --slack DIR`` in a thread, so this loop keeps serving the emulator."""
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    return await asyncio.to_thread(run_cli, ["check", "--slack", str(directory)], cli_env(tmp_path, **env), cwd)


def slack_env(slack: SlackEmulator, token: str = TOKEN) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": token, "SLACK_API_URL": slack.api_url}


async def test_each_channel_and_user_slack_lacks_is_one_line_at_its_field_and_exits_1(
        slack: SlackEmulator, tmp_path: Path) -> None:
    incidents = slack.channel_by_name("incidents")
    assert incidents is not None
    directory = playbooks(tmp_path, PLAYBOOK.format(incidents_id=incidents.id))
    file = directory / "payments.yml"

    result = await check_slack(tmp_path, directory, **slack_env(slack))

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f'{file}: severities[0].stakeholder_channels[1]: Slack has no channel "#exec-updates" {HIDDEN}',
        f'{file}: severities[0].stakeholder_channels[2]: Slack has no channel "#war-room" {HIDDEN}',
        f'{file}: severities[0].stakeholder_channels[3]: Slack has no channel "#old-incidents" {HIDDEN}',
        f'{file}: severities[0].stakeholder_channels[6]: Slack has no channel "C99999999" {HIDDEN}',
        f'{file}: rotations.primary.users[1]: Slack user "UGONE" is deactivated',
        f'{file}: routes[0].responders[1]: Slack has no user "UGHOST" in this workspace',
        f'{file}: routes[1].commander.user: Slack has no user "UNOBODY" in this workspace',
    ]
    assert result.stderr == f"7 problem(s) in {directory}\n"

    listed = slack.calls_to("conversations.list")
    assert [c.ok for c in listed] == [True, True]  # every page, with the cursor Slack gave
    assert all(c.args["types"] == "public_channel,private_channel" and c.args["exclude_archived"] in ("1", "true")
               and c.args["limit"] == "200" for c in listed)
    assert "cursor" not in listed[0].args and listed[1].args["cursor"]
    asked = [c.args["user"] for c in slack.calls_to("users.info")]
    assert asked == ["UALICE", "UGONE", "UBOB", "UDAVE", "UGHOST", "UNOBODY"]  # each user once


async def test_playbooks_whose_channels_and_users_all_exist_pass(slack: SlackEmulator, tmp_path: Path) -> None:
    directory = playbooks(tmp_path, GOOD_PLAYBOOK, "good.yml")

    result = await check_slack(tmp_path, directory, **slack_env(slack))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (f"ok: 1 playbook file(s) in {directory}: good.yml; Slack has the 2 channel(s) and "
                             "2 user(s) they name\n")
    assert result.stderr == ""


async def test_file_problems_and_slack_problems_are_listed_together(slack: SlackEmulator, tmp_path: Path) -> None:
    directory = playbooks(tmp_path, GOOD_PLAYBOOK.replace("UBOB", "UGHOST"), "good.yml")
    playbooks(tmp_path, "name: broken\nseverities: soon\n", "broken.yml")

    result = await check_slack(tmp_path, directory, **slack_env(slack))

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert f"{directory / 'broken.yml'}: severities: expected a list, got \"soon\"" in lines
    assert f'{directory / "good.yml"}: rotations.primary.users[1]: Slack has no user "UGHOST" in this workspace' \
        in lines
    assert result.stderr.endswith(f"{len(lines)} problem(s) in {directory}\n")


async def test_a_rate_limited_call_waits_for_retry_after_and_goes_on(slack: SlackEmulator, tmp_path: Path) -> None:
    slack.faults.fail_next("users.info", status=429)
    directory = playbooks(tmp_path, GOOD_PLAYBOOK, "good.yml")

    result = await check_slack(tmp_path, directory, **slack_env(slack))

    assert result.returncode == 0, result.stdout + result.stderr
    assert [c.http_status for c in slack.calls_to("users.info")] == [429, 200, 200]


async def test_without_a_bot_token_it_exits_2_and_says_what_it_needs(slack: SlackEmulator, tmp_path: Path) -> None:
    directory = playbooks(tmp_path, GOOD_PLAYBOOK, "good.yml")

    result = await check_slack(tmp_path, directory, SLACK_API_URL=slack.api_url)

    assert result.returncode == 2
    assert result.stdout == ""
    assert "check --slack asks Slack, so it needs SLACK_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr
    assert slack.calls == []


async def test_an_unreachable_slack_is_one_clear_line_and_exit_1(tmp_path: Path) -> None:
    directory = playbooks(tmp_path, GOOD_PLAYBOOK, "good.yml")
    url = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there

    result = await check_slack(tmp_path, directory, SLACK_BOT_TOKEN=TOKEN, SLACK_API_URL=url)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"cannot reach Slack at {url} (auth.test: ClientConnectorError); check SLACK_API_URL and the network"]
    assert "Traceback" not in result.stderr


async def test_a_token_slack_refuses_is_named_without_printing_it(slack: SlackEmulator, tmp_path: Path) -> None:
    directory = playbooks(tmp_path, GOOD_PLAYBOOK, "good.yml")

    result = await check_slack(tmp_path, directory, **slack_env(slack, token="xoxb-wrong-7d2f"))

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Slack refused SLACK_BOT_TOKEN (invalid_auth); use the app's Bot User OAuth Token (xoxb-...)"]
    assert "xoxb-wrong-7d2f" not in result.stdout + result.stderr


async def test_an_app_without_users_read_is_told_to_reinstall_with_the_manifest_scopes(
        slack: SlackEmulator, tmp_path: Path) -> None:
    slack.revoke_scope("users:read")
    directory = playbooks(tmp_path, GOOD_PLAYBOOK, "good.yml")

    result = await check_slack(tmp_path, directory, **slack_env(slack))

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        ("Slack refused users.info: missing_scope; the app lacks a scope that check --slack needs: reinstall it with "
        "the scopes in slack-app-manifest.yml")]
