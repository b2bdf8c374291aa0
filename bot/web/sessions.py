"""Who is looking: the signed session cookie and the session it names.

The cookie holds a random token signed with ``SESSION_SECRET`` (itsdangerous), so a forged
or edited cookie is turned away before the database is asked; the database keeps only the
token's SHA-256, with the person, the team, the CSRF token and the expiry, so signing out
(or an expiry) ends the session everywhere, whichever replica answers.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.slack.oidc import SignedInPerson
from bot.web.workspace import Workspace
from storage import web_sessions

COOKIE = "incident_bot_session"
SIGNIN_COOKIE = "incident_bot_signin"  # binds a sign-in's state to the browser that started it
SIGNIN_MAX_AGE = timedelta(minutes=10)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True, slots=True)
class Viewer:
    user_id: str
    team_id: str
    name: str
    csrf_token: str


_VIEWER = web.RequestKey("viewer", Viewer)


def _serializer(workspace: Workspace, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(workspace.settings.session_secret, salt=salt)


def session_hash(token: str) -> str:
    """What the database keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def signed_session_token(secret: str, token: str) -> str:
    """The session cookie's value for this token."""
    return URLSafeTimedSerializer(secret, salt="incident-bot.session").dumps(token)


def set_cookie(response: web.StreamResponse, workspace: Workspace, name: str, value: str, max_age: int,
               path: str = "/ui") -> None:
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="Lax",
                        secure=workspace.settings.secure_cookies)


def sign_signin_state(workspace: Workspace, state: str) -> str:
    return _serializer(workspace, "incident-bot.signin").dumps(state)


def signin_state_of(request: web.Request, workspace: Workspace) -> str | None:
    raw = request.cookies.get(SIGNIN_COOKIE)
    if not raw:
        return None
    try:
        return str(_serializer(workspace, "incident-bot.signin").loads(
            raw, max_age=int(SIGNIN_MAX_AGE.total_seconds())))
    except BadSignature:
        return None


async def start_session(response: web.StreamResponse, workspace: Workspace, person: SignedInPerson) -> None:
    token = secrets.token_urlsafe(32)
    now = workspace.clock()
    lifetime = timedelta(hours=workspace.settings.session_hours)
    await workspace.db.write(web_sessions.create_session, id_hash=session_hash(token), user_id=person.user_id,
                             team_id=person.team_id, name=person.name[:200], email=person.email,
                             csrf_token=secrets.token_urlsafe(32), now=now, expires_at=now + lifetime)
    workspace.people.remember(person.user_id, person.name)
    set_cookie(response, workspace, COOKIE, signed_session_token(workspace.settings.session_secret, token),
               int(lifetime.total_seconds()))


def _token_of(request: web.Request, workspace: Workspace) -> str | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        return str(_serializer(workspace, "incident-bot.session").loads(
            raw, max_age=int(workspace.settings.session_hours * 3600)))
    except BadSignature:
        return None


async def load_viewer(request: web.Request, workspace: Workspace) -> Viewer | None:
    """The signed-in person, remembered on the request; None without a live session."""
    token = _token_of(request, workspace)
    if token is None:
        return None
    row = await workspace.db.read(web_sessions.get_session, session_hash(token), now=workspace.clock())
    if row is None:
        return None
    viewer = Viewer(row.user_id, row.team_id, row.name, row.csrf_token)
    request[_VIEWER] = viewer
    return viewer


async def end_session(request: web.Request, response: web.StreamResponse, workspace: Workspace) -> None:
    token = _token_of(request, workspace)
    if token is not None:
        await workspace.db.write(web_sessions.delete_session, session_hash(token))
    response.del_cookie(COOKIE, path="/ui")


def viewer_of(request: web.Request) -> Viewer:
    """The viewer the guard found; every page behind the guard has one."""
    viewer = request.get(_VIEWER)
    if not isinstance(viewer, Viewer):
        raise web.HTTPFound("/ui/login")
    return viewer


def csrf_ok(viewer: Viewer, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(viewer.csrf_token.encode(), str(sent).encode())
