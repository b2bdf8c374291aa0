"""Every outbox action kind has words for the failure notice, and the words for a channel the
playbook names say what is wrong with it and how to fix it. (``tests/domain/test_kinds.py`` keeps
every enqueued kind an :class:`ActionKind` with a handler, so a new kind without words fails here.)
"""

from __future__ import annotations

import pytest

from bot.delivery.failure_words import (
    ACTION_WORDS,
    PLAYBOOK_CHANNEL_FIELDS,
    describe_failure,
)
from bot.domain.kinds import ActionKind


def test_every_action_kind_has_words_and_no_words_are_stale() -> None:
    missing = sorted(set(ActionKind) - set(ACTION_WORDS))
    assert not missing, f"give these action kinds words in bot/delivery/failure_words.py: {missing}"
    assert set(ACTION_WORDS) == set(ActionKind)
    assert set(PLAYBOOK_CHANNEL_FIELDS) <= set(ACTION_WORDS)


@pytest.mark.parametrize("kind", sorted(ACTION_WORDS))
def test_a_notice_never_shows_the_raw_kind_and_is_one_line(kind: str) -> None:
    payload = {"user": "UGHOST", "title": "Runbook", "channel": "#incidents", "text": "x", "group_id": 1}
    notice = describe_failure(kind, payload, "fatal_error")
    assert kind not in notice
    assert notice.startswith("incident-bot could not ") and notice.endswith(".")
    assert "\n" not in notice and len(notice) <= 200


STAKEHOLDERS = {"channel": "#incidents", "text": "Update on incident #1"}


@pytest.mark.parametrize(("error", "notice"), [
    ("channel_not_found", ("incident-bot could not post the update to #incidents: the channel does not exist, or is "
     "private and the bot is not in it — create it, type `/invite @incident-bot` there, or fix stakeholder_channels "
     "in the playbook.")),
    ("channel_not_found: #incidents", ("incident-bot could not post the update to #incidents: the channel does not "
     "exist, or is private and the bot is not in it — create it, type `/invite @incident-bot` there, or fix "
     "stakeholder_channels in the playbook.")),
    ("not_in_channel", ("incident-bot could not post the update to #incidents: the bot is not in #incidents — type "
     "`/invite @incident-bot` there.")),
    ("is_archived", ("incident-bot could not post the update to #incidents: the channel is archived — unarchive it, "
     "or fix stakeholder_channels in the playbook.")),
    ("msg_too_long", "incident-bot could not post the update to #incidents: Slack said `msg_too_long`."),
])
def test_a_stakeholder_channel_problem_is_named_with_its_fix(error: str, notice: str) -> None:
    assert describe_failure("message.post_to", STAKEHOLDERS, error) == notice


def test_a_channel_id_is_shown_as_a_channel_mention() -> None:
    assert describe_failure("message.post_to", {"channel": "C0123ABCD"}, "not_in_channel") == (
        "incident-bot could not post the update to <#C0123ABCD>: the bot is not in <#C0123ABCD> — type "
        "`/invite @incident-bot` there.")


def test_the_triage_channel_fix_names_its_playbook_field() -> None:
    notice = describe_failure("triage.notice", {"channel": "#alerts-triage", "group_id": 3}, "is_archived")
    assert notice == ("incident-bot could not post the triage notice to #alerts-triage: the channel is archived — "
                      "unarchive it, or fix triage_channel in the playbook.")


def test_the_incident_channel_itself_gets_slacks_words() -> None:
    # Only channels the playbook names get a playbook fix; the incident channel is the bot's own.
    assert describe_failure("message.post", {"text": "x"}, "is_archived") == \
        "incident-bot could not post a message: Slack said `is_archived`."
    assert describe_failure("channel.invite", {"user": "UGHOST"}, "user_not_found") == \
        "incident-bot could not invite UGHOST: Slack said `user_not_found`."


def test_everything_from_a_payload_or_slack_is_escaped() -> None:
    assert describe_failure("message.post_to", {"channel": "#a<b>&c"}, "not_in_channel") == (
        "incident-bot could not post the update to #a&lt;b&gt;&amp;c: the bot is not in #a&lt;b&gt;&amp;c — type "
        "`/invite @incident-bot` there.")
    assert describe_failure("bookmark.add", {"title": "<!channel>"}, "invalid_link: <x>") == \
        "incident-bot could not bookmark &lt;!channel&gt;: Slack said `invalid_link: &lt;x&gt;`."
    assert describe_failure("message.new_kind", {}, "e") == "incident-bot could not carry out message.new_kind: " \
        "Slack said `e`."
