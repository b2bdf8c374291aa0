"""``incident-bot check --slack``: the playbook files' own problems, and every channel and
user they name that Slack does not have, each as ``file: path.to.field: what is wrong``.

Exit codes: 0 all is well, 1 a problem (in a file, in Slack, or Slack could not be asked),
2 no ``SLACK_BOT_TOKEN`` to ask Slack with.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from bot.observability.metrics import Metrics
from bot.playbook.loader import PlaybookSet, load_with_problems
from bot.playbook.slack_refs import (
    SlackReference,
    UserState,
    WorkspaceView,
    reference_problems,
    slack_references,
    user_ids,
)
from bot.settings import Settings
from bot.slack import directory
from bot.slack.gateway import (
    SlackError,
    SlackGateway,
    SlackRateLimited,
    SlackTransientError,
)

NO_TOKEN = ("check --slack asks Slack, so it needs SLACK_BOT_TOKEN (the app's Bot User OAuth Token, xoxb-...); "
            "SLACK_API_URL says where Slack is (default https://slack.com/api/). Without --slack, check reads "
            "only the files.")
_TOKEN_ERRORS = frozenset({"not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired",
                           "not_allowed_token_type"})


def explain_slack_error(exc: SlackError, api_url: str) -> str:
    """One line saying why Slack could not be asked, and what to do about it. Pure."""
    if isinstance(exc, SlackRateLimited):
        return f"Slack kept rate-limiting {exc.method} ({exc.error}); try again in a minute"
    if isinstance(exc, SlackTransientError):
        return f"cannot reach Slack at {api_url} ({exc.method}: {exc.error}); check SLACK_API_URL and the network"
    if exc.error in _TOKEN_ERRORS:
        return f"Slack refused SLACK_BOT_TOKEN ({exc.error}); use the app's Bot User OAuth Token (xoxb-...)"
    if exc.error == "missing_scope":
        return (f"Slack refused {exc.method}: missing_scope; the app lacks a scope that check --slack needs: "
                "reinstall it with the scopes in slack-app-manifest.yml")
    if exc.error.startswith("HTTP "):
        return (f"{api_url} answered {exc.method} with {exc.error}, not as Slack's Web API does; "
                "check SLACK_API_URL (a base URL ending in /api/)")
    return f"Slack refused {exc.method}: {exc.error}"


def _user_state(user: directory.User | None) -> UserState:
    if user is None:
        return "missing"
    return "deactivated" if user.deleted else "active"


async def _look_up(settings: Settings, token: str, references: list[SlackReference]) -> WorkspaceView:
    slack = SlackGateway(token, settings.slack_api_url, Metrics(), rate_limit_scale=settings.slack_rate_limit_scale)
    try:
        await directory.team(slack)  # a bad token or URL is told once, before any listing
        channels = await directory.visible_channels(slack) if any(r.kind == "channel" for r in references) else []
        users = {user: _user_state(await directory.find_user(slack, user)) for user in user_ids(references)}
    finally:
        await slack.close()
    return WorkspaceView(frozenset(c.id for c in channels), frozenset(c.name for c in channels), users)


def _summary(directory_path: Path, playbooks: PlaybookSet, references: list[SlackReference]) -> str:
    files = ", ".join(sorted(path.name for path in playbooks.files))
    channels = len({r.value for r in references if r.kind == "channel"})
    return (f"ok: {len(playbooks.files)} playbook file(s) in {directory_path}: {files}; Slack has the "
            f"{channels} channel(s) and {len(user_ids(references))} user(s) they name")


def check_with_slack(directory_path: Path, settings: Settings, out: TextIO = sys.stdout,
                     err: TextIO = sys.stderr) -> int:
    """Print every problem, in the files and in Slack; the exit code (see the module docstring)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token is not None else ""
    if not token:
        print(NO_TOKEN, file=err)
        return 2
    playbooks, problems = load_with_problems(directory_path)
    for problem in problems:
        print(problem, file=out)
    references = slack_references(playbooks)
    try:
        workspace = asyncio.run(_look_up(settings, token, references))
    except SlackError as exc:
        print(explain_slack_error(exc, settings.slack_api_url), file=err)
        return 1
    missing = reference_problems(references, workspace)
    for problem in missing:
        print(problem, file=out)
    total = len(problems) + len(missing)
    if total:
        print(f"{total} problem(s) in {directory_path}", file=err)
        return 1
    print(_summary(directory_path, playbooks, references), file=out)
    return 0
