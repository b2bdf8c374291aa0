"""Checks that an incident's Slack work arrived exactly once, and a playbook whose route
invites many responders (many Slack actions per incident), for crash and shutdown tests."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.slack_emulator import SlackEmulator
from tests.support.slack import SLACK_PLAYBOOKS

RESPONDERS = [f"UR{i:02d}" for i in range(12)]


def many_responders_playbook(tmp_path: Path) -> Path:
    text = (SLACK_PLAYBOOKS / "incidents.yml").read_text().replace(
        "responders: [UDAVE, UGHOST]", f"responders: [{', '.join(RESPONDERS)}]")
    directory = tmp_path / "playbooks"
    directory.mkdir()
    (directory / "incidents.yml").write_text(text)
    return directory


def assert_delivered_once(slack: SlackEmulator, channel_id: str, header_ts: str | None) -> None:
    messages = slack.messages(channel_id)
    action_ids = [m.metadata["event_payload"]["action"] for m in messages if m.metadata]
    assert len(action_ids) == len(set(action_ids)), f"a message was posted twice: {[m.text for m in messages]}"
    assert sum(1 for m in messages if m.blocks and m.blocks[0].get("type") == "header") == 1
    assert sum(1 for m in messages if m.text.startswith("*Links*")) == 1
    assert [p.ts for p in slack.pins(channel_id)] == [header_ts]
    assert Counter(b.link for b in slack.bookmarks(channel_id)).most_common(1)[0][1] == 1
    assert set(RESPONDERS) <= slack.channel(channel_id).members
