"""The Slack channels and users that playbooks name, and which of them the workspace lacks.
Pure: what Slack has comes in as a :class:`WorkspaceView`.

Named are the stakeholder channels of each severity, the triage channel of each route, the
users of each rotation, and each route's static commander and responders. Every miss is a
:class:`PlaybookProblem` at the field that names it, like the file's own problems.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.playbook.fieldtypes import quote
from bot.playbook.loader import PlaybookSet
from bot.playbook.problems import PlaybookProblem, format_loc
from bot.playbook.schema import Playbook

__all__ = ["SlackReference", "UserState", "WorkspaceView", "reference_problems", "slack_references", "user_ids"]

UserState = Literal["active", "deactivated", "missing"]
Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class SlackReference:
    """One field of one playbook file that names a channel (``#name`` or id) or a user id."""

    file: str
    loc: Loc
    kind: Literal["channel", "user"]
    value: str

    @property
    def path(self) -> str:
        return format_loc(self.loc)


@dataclass(frozen=True, slots=True)
class WorkspaceView:
    """What the bot's token sees: channels it can post to (public, and private ones it is
    in; not archived) and the state of each user id asked about."""

    channel_ids: frozenset[str]
    channel_names: frozenset[str]  # without the leading #
    users: Mapping[str, UserState]

    def has_channel(self, channel: str) -> bool:
        if channel.startswith("#"):
            return channel[1:] in self.channel_names
        return channel in self.channel_ids


def _playbook_references(file: str, playbook: Playbook) -> Iterator[SlackReference]:
    for i, severity in enumerate(playbook.severities):
        for j, channel in enumerate(severity.stakeholder_channels):
            yield SlackReference(file, ("severities", i, "stakeholder_channels", j), "channel", channel)
    for name, rotation in playbook.rotations.items():
        for j, user in enumerate(rotation.users):
            yield SlackReference(file, ("rotations", name, "users", j), "user", user)
    for i, route in enumerate(playbook.routes):
        if route.commander is not None and route.commander.user is not None:
            yield SlackReference(file, ("routes", i, "commander", "user"), "user", route.commander.user)
        for j, user in enumerate(route.responders):
            yield SlackReference(file, ("routes", i, "responders", j), "user", user)
        if route.triage_channel is not None:
            yield SlackReference(file, ("routes", i, "triage_channel"), "channel", route.triage_channel)


def slack_references(playbooks: PlaybookSet) -> list[SlackReference]:
    """Every channel and user the playbooks name, file by file in evaluation order."""
    return [ref for playbook, file in zip(playbooks.playbooks, playbooks.files, strict=True)
            for ref in _playbook_references(str(file), playbook)]


def user_ids(references: Sequence[SlackReference]) -> list[str]:
    """The distinct user ids named, in first-named order."""
    return list(dict.fromkeys(ref.value for ref in references if ref.kind == "user"))


def _channel_problem(channel: str, workspace: WorkspaceView) -> str | None:
    if workspace.has_channel(channel):
        return None
    return (f"Slack has no channel {quote(channel)} that the bot can see: it does not exist, is archived, "
            "or is private and the bot is not in it (create it, or /invite @incident-bot there)")


def _user_problem(user: str, workspace: WorkspaceView) -> str | None:
    state = workspace.users.get(user, "missing")
    if state == "missing":
        return f"Slack has no user {quote(user)} in this workspace"
    if state == "deactivated":
        return f"Slack user {quote(user)} is deactivated"
    return None


def reference_problems(references: Sequence[SlackReference], workspace: WorkspaceView) -> list[PlaybookProblem]:
    """One problem per reference that Slack does not have, in the order they are named."""
    problems = []
    for ref in references:
        message = _channel_problem(ref.value, workspace) if ref.kind == "channel" else \
            _user_problem(ref.value, workspace)
        if message is not None:
            problems.append(PlaybookProblem(ref.file, ref.path, message))
    return problems
