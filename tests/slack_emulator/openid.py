"""Sign in with Slack (OpenID Connect): app clients, the authorization step, codes, user
tokens and the signed id_token, as Slack documents them (PROTOCOLS C1).

An unknown ``client_id`` or a ``redirect_uri`` that is not exactly one of the client's
Redirect URLs gets an error page, never a redirect; any other bad authorization request
goes back to the ``redirect_uri`` with ``error`` and ``state``. The person picks who signs
in; the app gets a code that ``openid.connect.token`` exchanges once, within 10 minutes,
for a user token (``xoxp-``) and an RS256 id_token signed with the key served at
``/openid/connect/keys``. Claims follow the granted scopes: ``email`` adds email,
email_verified and date_email_verified; ``profile`` adds name, given_name, family_name,
picture, locale and the team's name and domain.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from .args import Args
from .errors import SlackError
from .state import Person, Workspace

SCOPES = ("openid", "profile", "email")
CODE_LIFETIME = timedelta(minutes=10)
ID_TOKEN_LIFETIME = timedelta(minutes=5)
DATE_EMAIL_VERIFIED = 1_600_000_000
DEFAULT_CLIENT_ID = "1111111111.2222222222"
DEFAULT_CLIENT_SECRET = "emulator-oidc-client-secret"
DEFAULT_REDIRECT_URL = "http://localhost:8080/ui/auth/callback"  # PUBLIC_URL's default, + the callback


@dataclass(frozen=True)
class OidcClient:
    """An app with Sign in with Slack: its credentials and the Redirect URLs of its OAuth settings."""

    client_id: str
    client_secret: str
    redirect_urls: tuple[str, ...]
    name: str = "incident-bot"


@dataclass(frozen=True)
class AuthRequest:
    """A valid authorization request waiting for the person's answer on the sign-in page."""

    id: str
    client: OidcClient
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str
    nonce: str | None


@dataclass
class Grant:
    code: str
    request: AuthRequest
    user_id: str
    issued_at: datetime
    used: bool = False


@dataclass(frozen=True)
class UserToken:
    token: str
    user_id: str
    client_id: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Redirect:
    url: str


class AuthorizeRefused(ValueError):
    """A request that cannot go back to the app: shown to the person as an error page (400)."""


class OpenIdProvider:
    """Slack's side of Sign in with Slack over one workspace; owned by :class:`SlackEmulator`."""

    def __init__(self, ws: Workspace, clock: Callable[[], datetime]) -> None:
        self.ws = ws
        self.clock = clock
        self.clients: dict[str, OidcClient] = {}
        self.pending: dict[str, AuthRequest] = {}
        self.grants: dict[str, Grant] = {}
        self.tokens: dict[str, UserToken] = {}
        self._key: RSAKey | None = None

    @property
    def issuer(self) -> str:
        """The emulator's origin (``http://127.0.0.1:PORT``), as ``https://slack.com`` is Slack's."""
        return self.ws.base_url.rstrip("/")

    @property
    def key(self) -> RSAKey:
        if self._key is None:  # made on first use: most emulators never sign anything
            kid = f"emulator-{secrets.token_hex(4)}"
            self._key = RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS256", "use": "sig"})
        return self._key

    def jwks(self) -> dict[str, Any]:
        return KeySet([self.key]).as_dict(private=False)

    def register(self, client: OidcClient) -> None:
        if not client.redirect_urls:
            raise ValueError("an OIDC client needs at least one redirect URL")
        self.clients[client.client_id] = client

    # the browser's part

    def authorize(self, params: Sequence[tuple[str, str]]) -> AuthRequest | Redirect:
        """Check a GET /openid/connect/authorize; a valid one waits for the person's answer."""
        values: dict[str, list[str]] = {}
        for name, value in params:
            values.setdefault(name, []).append(value)

        def one(name: str) -> str | None:
            found = values.get(name, [])
            return found[0] if len(found) == 1 and found[0] else None

        client = self.clients.get(one("client_id") or "")
        if client is None:
            raise AuthorizeRefused("client_id is missing or names no app with Sign in with Slack.")
        redirect_uri = one("redirect_uri")
        if redirect_uri is None or redirect_uri not in client.redirect_urls:
            raise AuthorizeRefused("redirect_uri is missing or is not one of the app's Redirect URLs.")
        state = one("state")

        def back(error: str) -> Redirect:
            return Redirect(_with_query(redirect_uri, error=error, state=state))

        if any(len(found) > 1 for found in values.values()):
            return back("invalid_request")
        response_type = one("response_type")
        if response_type is None:
            return back("invalid_request")
        if response_type != "code":
            return back("unsupported_response_type")
        scopes = tuple((one("scope") or "").split(" "))
        if "openid" not in scopes or not set(scopes) <= set(SCOPES):
            return back("invalid_scope")
        if state is None:
            return back("invalid_request")
        request = AuthRequest(self.ws.new_id("AR"), client, redirect_uri, scopes, state, one("nonce"))
        self.pending[request.id] = request
        return request

    def decide(self, request_id: str, user_id: str | None) -> Redirect:
        """The person's answer on the sign-in page: who signs in, or None for Cancel."""
        request = self.pending.get(request_id)
        if request is None:
            raise AuthorizeRefused("This sign-in request is unknown or was already answered. Start again from the app.")
        if user_id is not None and self.ws.person(user_id) is None:
            raise AuthorizeRefused(f"{user_id} is not someone who can sign in.")
        del self.pending[request_id]
        if user_id is None:
            return Redirect(_with_query(request.redirect_uri, error="access_denied", state=request.state))
        grant = Grant(f"{self.ws.new_id('')}.{secrets.token_hex(32)}", request, user_id, self.clock())
        self.grants[grant.code] = grant
        return Redirect(_with_query(request.redirect_uri, code=grant.code, state=request.state))

    # the app's part: Web API methods

    def token(self, args: Args, authorization: str) -> dict[str, Any]:
        """openid.connect.token: client credentials as HTTP Basic or as form fields."""
        client_id, client_secret = _client_credentials(args, authorization)
        client = self.clients.get(client_id or "")
        if client is None:
            raise SlackError("invalid_client_id")
        if not hmac.compare_digest((client_secret or "").encode(), client.client_secret.encode()):
            raise SlackError("bad_client_secret")
        if args.text("grant_type") not in (None, "authorization_code"):
            raise SlackError("invalid_grant_type")
        grant = self.grants.get(args.text("code") or "")
        if grant is None or grant.used or grant.request.client.client_id != client.client_id \
                or self.clock() - grant.issued_at > CODE_LIFETIME:
            raise SlackError("invalid_code")
        # Required when the authorization request sent one, which here it always does.
        if args.text("redirect_uri") != grant.request.redirect_uri:
            raise SlackError("bad_redirect_uri")
        person = self.ws.person(grant.user_id)
        if person is None:  # deactivated since signing in
            raise SlackError("invalid_code")
        grant.used = True
        token = UserToken(f"xoxp-{self.ws.new_id('')}-{secrets.token_hex(16)}", person.id, client.client_id,
                          grant.request.scopes)
        self.tokens[token.token] = token
        return {"access_token": token.token, "token_type": "Bearer", "id_token": self._id_token(grant, person)}

    def user_info(self, token: str | None) -> dict[str, Any]:
        """openid.connect.userInfo for the user token of an exchange."""
        if not token:
            raise SlackError("not_authed")
        found = self.tokens.get(token)
        if found is None:
            raise SlackError("invalid_auth")
        person = self.ws.person(found.user_id)
        if person is None:
            raise SlackError("account_inactive")
        return {"sub": person.id, **self._identity(person, found.scopes)}

    def _id_token(self, grant: Grant, person: Person) -> str:
        now = self.clock()
        claims: dict[str, Any] = {
            "iss": self.issuer, "sub": person.id, "aud": grant.request.client.client_id,
            "exp": int((now + ID_TOKEN_LIFETIME).timestamp()), "iat": int(now.timestamp()),
            "auth_time": int(grant.issued_at.timestamp()),
        }
        if grant.request.nonce is not None:
            claims["nonce"] = grant.request.nonce
        claims.update(self._identity(person, grant.request.scopes))
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)

    def _identity(self, person: Person, scopes: Sequence[str]) -> dict[str, Any]:
        claims: dict[str, Any] = {"https://slack.com/user_id": person.id, "https://slack.com/team_id": person.team_id}
        if "email" in scopes:
            claims.update(email=person.email, email_verified=True, date_email_verified=DATE_EMAIL_VERIFIED)
        if "profile" in scopes:
            given, _, family = person.real_name.partition(" ")
            claims.update({
                "name": person.real_name, "given_name": given, "family_name": family,
                "picture": f"{self.ws.base_url}avatars/{person.id}.png", "locale": "en-US",
                "https://slack.com/team_name": person.team_name, "https://slack.com/team_domain": person.team_domain,
            })
        return claims


def _client_credentials(args: Args, authorization: str) -> tuple[str | None, str | None]:
    if not authorization.startswith("Basic "):
        return args.text("client_id"), args.text("client_secret")
    try:
        decoded = base64.b64decode(authorization.removeprefix("Basic "), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, colon, secret = decoded.partition(":")
    return (client_id, secret) if colon else (None, None)


def _with_query(url: str, **params: str | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{url}{'&' if '?' in url else '?'}{query}"
