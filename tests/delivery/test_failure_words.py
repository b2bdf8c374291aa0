"""Every outbox action kind has words for the failure notice, and the words for a channel the
playbook names say what is wrong with it and how to fix it.

The kinds are found by reading the bot's source (not importing it) for every place that
enqueues an action: ``PlannedAction("kind")``, ``enqueue(..., kind="kind")``,
``change.action("kind")`` and ``actions.append(("kind", payload))``. A new kind without
words fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import cast

import pytest

from bot.clock import utcnow
from bot.delivery.failure_words import (
    ACTION_WORDS,
    PLAYBOOK_CHANNEL_FIELDS,
    describe_failure,
)
from bot.delivery.slack_actions import SlackActions
from bot.playbook import PlaybookSet
from bot.slack.gateway import SlackGateway
from storage.database import Database

SOURCE = Path(__file__).resolve().parents[2] / "bot"
_KIND = re.compile(r"[a-z]+\.[a-z_]+")
_ENQUEUE = ("enqueue", "enqueue_many")


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _kind(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and _KIND.fullmatch(node.value):
        return node.value
    return None


def _tuple_kinds(node: ast.expr) -> list[str]:
    """``("kind", payload)`` or a list of such tuples."""
    items = node.elts if isinstance(node, ast.List) else [node]
    return [k for item in items if isinstance(item, ast.Tuple) and item.elts and (k := _kind(item.elts[0]))]


def enqueued_kinds(text: str) -> set[str]:
    """The action kinds one module's source enqueues."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.Call):
            continue
        callee = _name(node.func)
        first = node.args[0] if node.args else None
        enqueue = callee in _ENQUEUE or (callee == "run_sync" and first is not None and _name(first) in _ENQUEUE)
        if enqueue:
            for keyword in node.keywords:
                if keyword.arg == "kind" and (kind := _kind(keyword.value)):
                    found.add(kind)
                elif keyword.arg == "actions":
                    found.update(_tuple_kinds(keyword.value))
        elif callee in ("PlannedAction", "action") and (kind := _kind(first)):
            found.add(kind)
        elif callee == "append" and isinstance(node.func, ast.Attribute) and first is not None \
                and ast.unparse(node.func.value).endswith("actions"):
            found.update(_tuple_kinds(first))
    return found


def bot_enqueued_kinds() -> set[str]:
    return set().union(*(enqueued_kinds(path.read_text(encoding="utf-8")) for path in sorted(SOURCE.rglob("*.py"))))


def handled_kinds() -> set[str]:
    actions = SlackActions(cast("Database", None), cast("SlackGateway", None), lambda: PlaybookSet((), ()), utcnow)
    return set(actions._handlers)


def test_the_scan_finds_the_kinds_the_bot_is_known_to_enqueue() -> None:
    # Guards the scanner itself: each enqueuing form is represented here.
    assert {"channel.create", "message.post", "message.post_to", "message.trace_links", "triage.notice",
            "file.postmortem", "channel.archive", "channel.topic", "message.update_header"} <= bot_enqueued_kinds()


def test_every_enqueued_kind_has_a_handler_and_words() -> None:
    kinds = bot_enqueued_kinds()
    assert kinds <= handled_kinds(), f"enqueued but never carried out: {sorted(kinds - handled_kinds())}"
    missing = sorted(kinds - set(ACTION_WORDS))
    assert not missing, f"give these action kinds words in bot/delivery/failure_words.py: {missing}"


def test_every_handled_kind_has_words_and_no_words_are_stale() -> None:
    assert set(ACTION_WORDS) == handled_kinds()
    assert set(PLAYBOOK_CHANNEL_FIELDS) <= set(ACTION_WORDS)


def test_a_new_kind_is_found_in_every_enqueuing_form() -> None:
    source = '''
def f(session, change, actions, now):
    repo.enqueue(session, ordering_key="k", kind="message.one", payload={}, now=now)
    session.run_sync(repo.enqueue, ordering_key="k", kind="message.two", payload={}, now=now)
    repo.enqueue_many(session, ordering_key="k", actions=[("message.three", {})], now=now)
    change.action("message.four")
    actions.append(("message.five", {}))
    plan = [PlannedAction("message.six", {})]
    links.append(Link(title="t", url="u", kind="traces"))
'''
    assert enqueued_kinds(source) == {f"message.{n}" for n in ("one", "two", "three", "four", "five", "six")}


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
