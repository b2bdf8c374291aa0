"""A signed-in browser for HTTP-level tests of the web workspace, without the Slack sign-in:
a session row as the callback writes it, and the cookie that names it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import utcnow
from bot.web.sessions import COOKIE, CSRF_HEADER, session_hash, signed_session_token
from storage import web_sessions
from storage.database import Database

SESSION_SECRET = "test-session-secret-3c9d1e7a5b"


@dataclass(frozen=True)
class SignedIn:
    cookies: dict[str, str]
    csrf_token: str

    @property
    def csrf_header(self) -> dict[str, str]:
        return {CSRF_HEADER: self.csrf_token}


async def signed_in(db: Database, *, user_id: str, team_id: str, name: str = "Alex Doe",
                    secret: str = SESSION_SECRET, now: datetime | None = None, hours: float = 12) -> SignedIn:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    at = now or utcnow()
    await db.write(web_sessions.create_session, id_hash=session_hash(token), user_id=user_id, team_id=team_id,
                   name=name, email=None, csrf_token=csrf, now=at, expires_at=at + timedelta(hours=hours))
    return SignedIn({COOKIE: signed_session_token(secret, token)}, csrf)
