"""The web workspace, built from the settings and the services it shares with Slack: it is
off (and every ``/ui/`` page says why) without ``SESSION_SECRET``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.playbook import PlaybookSet
from bot.settings import Settings
from bot.slack.lookups import SlackLookups
from bot.web.workspace import People, WebSettings, Workspace
from storage.database import Database

if TYPE_CHECKING:  # built by the composition root when the workspace is on (bot/runtime/services.py)
    from bot.incident.command_service import CommandService
    from bot.incident.timeline_editor import TimelineEditor

MIN_SECRET = 16
NO_SECRET = ("The web workspace is off: SESSION_SECRET is not set on the bot. Set it to a long random value "
             "(for example the output of `openssl rand -hex 32`) and restart.")
SHORT_SECRET = f"The web workspace is off: SESSION_SECRET is shorter than {MIN_SECRET} characters; use a long random value."


def workspace_problem(settings: Settings) -> str | None:
    """Why the workspace cannot start, or None."""
    if settings.session_secret is None or not settings.session_secret.get_secret_value():
        return NO_SECRET
    if len(settings.session_secret.get_secret_value()) < MIN_SECRET:
        return SHORT_SECRET
    return None


def build_workspace(settings: Settings, db: Database, playbooks: Callable[[], PlaybookSet], clock: Clock,
                    on_commit: Callable[[], None], commands: CommandService, editor: TimelineEditor,
                    lookups: SlackLookups | None) -> Workspace:
    assert settings.session_secret is not None
    signin = None
    if settings.slack_client_id and settings.slack_client_secret is not None:
        from bot.slack.oidc import SlackSignIn  # joserfc and cryptography: only with Sign in with Slack

        signin = SlackSignIn(client_id=settings.slack_client_id,
                             client_secret=settings.slack_client_secret.get_secret_value(),
                             authorize_url=settings.slack_oidc_authorize_url, api_url=settings.slack_api_url,
                             clock=clock)

    async def no_team() -> str | None:
        return None

    return Workspace(
        db=db, playbooks=playbooks, clock=clock,
        settings=WebSettings(settings.public_url, settings.session_secret.get_secret_value(), settings.session_hours,
                             settings.slash_command),
        commands=commands, editor=editor, on_commit=on_commit,
        team_of=lookups.team_id if lookups is not None else no_team,
        people=People(lookups.display_name if lookups is not None else None), signin=signin,
        playbooks_dir=settings.playbooks_dir)
