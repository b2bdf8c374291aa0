"""``/ui/login``, ``/ui/auth/callback`` and ``/ui/logout``: Sign in with Slack.

A sign-in's ``state`` is stored (single use, ten minutes) and also kept in a signed cookie
of the browser that started it, so a callback that another browser started, a replayed
one, or one with a forged state is refused before any code is exchanged.
"""

from __future__ import annotations

import secrets

import structlog
from aiohttp import web

from bot.slack.oidc import SignInError
from bot.web.guard import error_page
from bot.web.keys import WORKSPACE
from bot.web.render import sessionless_page
from bot.web.sessions import (
    SIGNIN_COOKIE,
    SIGNIN_MAX_AGE,
    end_session,
    load_viewer,
    set_cookie,
    sign_signin_state,
    signin_state_of,
    start_session,
)
from storage import web_sessions

log = structlog.get_logger(__name__)
NOT_SET_UP = ("Sign in with Slack is not set up on this bot: set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
              "(the Slack app's Basic Information) and restart it.")


def safe_return(target: str | None) -> str:
    """Only a path of this workspace: never another site (``//evil``, ``https://…``)."""
    if not target or not target.startswith("/ui") or target.startswith("//") or "\\" in target:
        return "/ui/"
    return target[:500]


async def login(request: web.Request) -> web.StreamResponse:
    workspace = request.app[WORKSPACE]
    if workspace.signin is None:
        return error_page(503, NOT_SET_UP)
    back = safe_return(request.query.get("next"))
    if await load_viewer(request, workspace) is not None:
        return web.Response(status=302, headers={"Location": back})
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    await workspace.db.write(web_sessions.create_signin, state=state, nonce=nonce, return_to=back,
                             now=workspace.clock())
    response = web.Response(status=302, headers={"Location": workspace.signin.authorize_url(
        state=state, nonce=nonce, redirect_uri=workspace.settings.redirect_uri)})
    set_cookie(response, workspace, SIGNIN_COOKIE, sign_signin_state(workspace, state),
               int(SIGNIN_MAX_AGE.total_seconds()))
    return response


async def callback(request: web.Request) -> web.StreamResponse:
    workspace = request.app[WORKSPACE]
    if workspace.signin is None:
        return error_page(503, NOT_SET_UP)
    if (error := request.query.get("error")) is not None:
        words = ("You cancelled the sign-in." if error == "access_denied"
                 else f"Slack did not sign you in ({error[:60]}).")
        return _refused(401, f"{words} Sign in again when you are ready.")
    state, code = request.query.get("state", ""), request.query.get("code", "")
    if not state or not code:
        return _refused(400, "This sign-in link is incomplete (no code or state). Sign in again.")
    if signin_state_of(request, workspace) != state:
        return _refused(400, "This sign-in did not start in this browser, or took longer than ten minutes "
                             "(its state does not match). Sign in again.")
    signin = await workspace.db.write(web_sessions.consume_signin, state, now=workspace.clock(),
                                      max_age=SIGNIN_MAX_AGE)
    if signin is None:
        return _refused(400, "This sign-in link was already used or has expired. Sign in again.")
    try:
        person = await workspace.signin.person(code=code, redirect_uri=workspace.settings.redirect_uri,
                                               nonce=signin.nonce)
    except SignInError as exc:
        log.info("sign-in refused", reason=str(exc))
        return _refused(400, str(exc))
    team = await workspace.team_of()
    if team is None:
        return _refused(503, "The bot cannot tell which Slack workspace it belongs to (SLACK_BOT_TOKEN is unset, "
                             "or Slack did not answer), so nobody can be let in. Try again later.")
    if person.team_id != team:
        log.info("sign-in refused: another workspace", user=person.user_id, team=person.team_id)
        return _refused(403, f"You signed in to another Slack workspace ({person.team_id}). Only members of "
                             "this bot's workspace can use it; sign in with that workspace.")
    response = web.Response(status=303, headers={"Location": signin.return_to})
    await start_session(response, workspace, person)
    response.del_cookie(SIGNIN_COOKIE, path="/ui")
    log.info("signed in to the web workspace", user=person.user_id)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    workspace = request.app[WORKSPACE]
    response = sessionless_page("signed_out.html", {})
    await end_session(request, response, workspace)
    return response


def _refused(status: int, message: str) -> web.Response:
    response = error_page(status, message)
    response.del_cookie(SIGNIN_COOKIE, path="/ui")
    return response
