"""Sign in with Slack for the demo's console Slack: a local sign-in page listing the demo's
people, ``openid.connect.token``, ``openid.connect.userInfo`` and ``/openid/connect/keys``.

Slack's shapes (an RS256 id_token with Slack's claims, codes usable once within 10
minutes), not all of its rules: any ``redirect_uri`` the app sends is accepted, and the
token exchange only checks it matches. The demo hands ``DEMO_CLIENT_ID`` and
``DEMO_CLIENT_SECRET`` to the bot's settings.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from bot.clock import Clock
from bot.demo.transcript import Transcript

DEMO_CLIENT_ID = "1000000001.2000000002"
DEMO_CLIENT_SECRET = "demo-sign-in-client-secret"
AUTHORIZE_PATH = "/openid/connect/authorize"
KEYS_PATH = "/openid/connect/keys"
CODE_LIFETIME = timedelta(minutes=10)
ID_TOKEN_LIFETIME = timedelta(minutes=5)
_CARRIED = ("redirect_uri", "state", "nonce", "scope")
AVATAR_PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                           "0000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082")  # 1x1, clear


@dataclass
class _Grant:
    user: str
    redirect_uri: str
    nonce: str
    issued_at: datetime
    used: bool = False


class ConsoleSignIn:
    """Slack's side of Sign in with Slack for the demo's people; ``add_routes`` serves it."""

    def __init__(self, transcript: Transcript, users: dict[str, str], clock: Clock, base_url: Callable[[], str], *,
                 team: str, team_name: str) -> None:
        self.transcript = transcript
        self.users = users
        self.clock = clock
        self._base_url = base_url
        self.team = team
        self.team_name = team_name
        self.grants: dict[str, _Grant] = {}
        self.tokens: dict[str, str] = {}  # user token -> user id
        self._key: RSAKey | None = None

    @property
    def issuer(self) -> str:
        return self._base_url().rstrip("/")

    @property
    def key(self) -> RSAKey:
        if self._key is None:
            self._key = RSAKey.generate_key(2048, parameters={"kid": "demo-1", "alg": "RS256", "use": "sig"})
        return self._key

    def add_routes(self, app: web.Application) -> None:
        """Register before ``/api/{method}``, which would otherwise take the two methods."""
        app.router.add_get(AUTHORIZE_PATH, self._page)
        app.router.add_post(AUTHORIZE_PATH, self._answer)
        app.router.add_get(KEYS_PATH, self._keys)
        app.router.add_get("/avatars/{user}.png", self._avatar)
        app.router.add_route("*", "/api/openid.connect.token", self._token)
        app.router.add_route("*", "/api/openid.connect.userInfo", self._user_info)

    # -- the browser -------------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("client_id") != DEMO_CLIENT_ID or not query.get("redirect_uri"):
            return _html("<h1>Something went wrong</h1><p>Unknown client_id or no redirect_uri.</p>", 400)
        error = ("unsupported_response_type" if query.get("response_type") != "code"
                 else "invalid_scope" if "openid" not in query.get("scope", "").split(" ")
                 else "invalid_request" if not query.get("state") else None)
        if error is not None:
            raise web.HTTPFound(_with_query(query["redirect_uri"], error=error, state=query.get("state")))
        hidden = "".join(f'<input type="hidden" name="{n}" value="{escape(query.get(n, ""))}">' for n in _CARRIED)
        people = "".join(
            f'<li><button type="submit" name="user" value="{escape(uid)}" id="sign-in-{escape(uid)}">'
            f"Sign in as {escape(name.title())}</button></li>" for uid, name in self.users.items())
        return _html(f"<h1>Sign in to {escape(self.team_name)}</h1>"
                     "<p>The demo's stand-in for Slack's sign-in: choose who you are.</p>"
                     f'<form method="post" action="{AUTHORIZE_PATH}">{hidden}<ul>{people}</ul>'
                     '<p><button type="submit" name="cancel" value="cancel" id="cancel">Cancel</button></p></form>')

    async def _answer(self, request: web.Request) -> web.Response:
        form = await request.post()
        carried = {n: str(form.get(n, "")) for n in _CARRIED}
        if not carried["redirect_uri"]:
            return _html("<h1>Something went wrong</h1><p>No redirect_uri.</p>", 400)
        if "cancel" in form:
            raise web.HTTPFound(_with_query(carried["redirect_uri"], error="access_denied", state=carried["state"]))
        user = str(form.get("user", ""))
        if user not in self.users:
            return _html("<h1>Something went wrong</h1><p>Choose one of the people listed.</p>", 400)
        code = f"demo.{secrets.token_hex(24)}"
        self.grants[code] = _Grant(user, carried["redirect_uri"], carried["nonce"], self.clock())
        self.transcript.person(self.users[user], "signs in to the bot's web workspace with Slack")
        raise web.HTTPFound(_with_query(carried["redirect_uri"], code=code, state=carried["state"]))

    async def _keys(self, request: web.Request) -> web.Response:
        return web.json_response(KeySet([self.key]).as_dict(private=False))

    async def _avatar(self, request: web.Request) -> web.Response:
        if request.match_info["user"] not in self.users:
            return web.Response(status=404, text="not found")
        return web.Response(body=AVATAR_PNG, content_type="image/png")

    # -- the app -----------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        client_id, secret = _basic(request.headers.get("Authorization", "")) or \
            (str(form.get("client_id", "")), str(form.get("client_secret", "")))
        grant = self.grants.get(str(form.get("code", "")))
        if client_id != DEMO_CLIENT_ID:
            return _error("invalid_client_id")
        if secret != DEMO_CLIENT_SECRET:
            return _error("bad_client_secret")
        if grant is None or grant.used or self.clock() - grant.issued_at > CODE_LIFETIME:
            return _error("invalid_code")
        if str(form.get("redirect_uri", "")) != grant.redirect_uri:
            return _error("bad_redirect_uri")
        grant.used = True
        token = f"xoxp-demo-{secrets.token_hex(16)}"
        self.tokens[token] = grant.user
        now = self.clock()
        claims = {"iss": self.issuer, "sub": grant.user, "aud": DEMO_CLIENT_ID,
                  "exp": int((now + ID_TOKEN_LIFETIME).timestamp()), "iat": int(now.timestamp()),
                  "auth_time": int(grant.issued_at.timestamp()), **({"nonce": grant.nonce} if grant.nonce else {}),
                  **self._identity(grant.user)}
        id_token = jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)
        return web.json_response({"ok": True, "access_token": token, "token_type": "Bearer", "id_token": id_token})

    async def _user_info(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return _error("not_authed")
        user = self.tokens.get(header.removeprefix("Bearer "))
        if user is None:
            return _error("invalid_auth")
        return web.json_response({"ok": True, "sub": user, **self._identity(user)})

    def _identity(self, user: str) -> dict[str, Any]:
        name = self.users[user]
        return {"https://slack.com/user_id": user, "https://slack.com/team_id": self.team,
                "https://slack.com/team_name": self.team_name, "email": f"{name}@example.com",
                "email_verified": True, "name": name.title(), "given_name": name.title(), "family_name": "",
                "picture": f"{self.issuer}/avatars/{user}.png", "locale": "en-US"}


def _basic(header: str) -> tuple[str, str] | None:
    if not header.startswith("Basic "):
        return None
    try:
        client_id, _, secret = base64.b64decode(header.removeprefix("Basic "), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    return client_id, secret


def _with_query(url: str, **params: str | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return f"{url}{'&' if '?' in url else '?'}{query}"


def _error(error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error})


def _html(body: str, status: int = 200) -> web.Response:
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in with Slack (demo)</title>'
            f"</head><body><main>{body}</main></body></html>")
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8")
