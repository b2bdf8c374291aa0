"""The stored kinds: every outbox action kind has a handler, the code enqueues kinds only
as enum members, and the enum values are the strings already in the database."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, cast

from bot.delivery.slack_actions import SlackActions
from bot.delivery.tracker_export import TrackerExport
from bot.delivery.workflow_actions import WorkflowActions
from bot.domain.kinds import ActionKind, EventKind, TimerKind, action_service

BOT = Path(__file__).resolve().parents[2] / "bot"
# Calls that put an action kind into the outbox, and where their kind argument is.
ENQUEUING = {"enqueue": "kind", "enqueue_many": "actions", "action": 0, "PlannedAction": 0}


def test_every_slack_action_kind_has_a_slack_handler() -> None:
    actions = SlackActions(cast("Any", None), cast("Any", None), cast("Any", None), cast("Any", None))
    workflows = WorkflowActions(cast("Any", None), cast("Any", None), "", pagerduty=cast("Any", None),
                                webhooks=cast("Any", None), gateway=cast("Any", object()))
    slack_kinds = {kind for kind in ActionKind if action_service(kind) == "slack"}
    assert set(actions.handlers) | {k for k in workflows.handlers if action_service(k) == "slack"} == slack_kinds
    assert set(actions.handlers).isdisjoint(workflows.handlers)


def test_every_action_kind_for_another_service_has_a_handler() -> None:
    workflows = WorkflowActions(cast("Any", None), cast("Any", None), "", pagerduty=cast("Any", None),
                                webhooks=cast("Any", None))
    exports = TrackerExport(cast("Any", None), cast("Any", None), "", None, None)
    assert {kind for kind in ActionKind if action_service(kind) != "slack"} <= \
        set(workflows.handlers) | set(exports.handlers)


def _kind_arguments(call: ast.Call, where: str | int) -> list[ast.expr]:
    if isinstance(where, int):
        return call.args[where:where + 1]
    return [k.value for k in call.keywords if k.arg == where]


def test_the_code_enqueues_action_kinds_as_enum_members_only() -> None:
    bare: list[str] = []
    for path in BOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name not in ENQUEUING:
                continue
            for argument in _kind_arguments(node, ENQUEUING[name]):
                for constant in ast.walk(argument):
                    if isinstance(constant, ast.Constant) and isinstance(constant.value, str) \
                            and constant.value.count(".") == 1 and " " not in constant.value:
                        bare.append(f"{path.relative_to(BOT.parent)}:{node.lineno} {constant.value!r}")
    assert not bare, "action kinds written as strings; use ActionKind: " + ", ".join(bare)


def test_enum_values_are_the_stored_strings() -> None:
    # Stored rows hold these strings: renaming a value would orphan them.
    assert ActionKind.CHANNEL_ARCHIVE == "channel.archive"
    assert EventKind.CHANNEL_ARCHIVED == "channel.archived"
    assert EventKind.COMMAND == "command"
    assert [t.value for t in TimerKind][:5] == ["update_due", "update_overdue", "ack_timeout", "auto_resolve",
                                                "archive"]
    assert {ActionKind("message.post"): 1}["message.post"] == 1  # strings read back find their member
