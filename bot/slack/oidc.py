"""Sign in with Slack (OpenID Connect): where to send the browser, and who came back.

The browser goes to the authorize URL with a ``state`` and a ``nonce``; Slack sends it back
with a code, which :meth:`SlackSignIn.person` exchanges (``openid.connect.token``, through
``slack_sdk``), checks the ``id_token`` it gets (RS256, signed by a key from Slack's JWKS,
issued by Slack for this client, not expired, carrying the nonce) with ``joserfc``, and reads
the person (``openid.connect.userInfo``). Every way it can fail is a :class:`SignInError`
whose message tells the person, or the operator, what to do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock, utcnow

SCOPES = ("openid", "profile", "email")
KEYS_CACHE_SECONDS = 3600.0
TEAM_CLAIM = "https://slack.com/team_id"

# openid.connect.token's errors, in words for the page; the operator's faults say what to set.
_TOKEN_ERRORS = {
    "invalid_code": "This sign-in link was already used or has expired. Sign in again.",
    "code_already_used": "This sign-in link was already used. Sign in again.",
    "bad_redirect_uri": "Slack refused the sign-in's redirect URL; add {redirect_uri} to the Slack app's "
                        "Redirect URLs (OAuth & Permissions).",
    "invalid_client_id": "Slack does not know the bot's SLACK_CLIENT_ID; copy it from the app's Basic Information.",
    "bad_client_secret": "Slack refused the bot's SLACK_CLIENT_SECRET; copy it from the app's Basic Information.",
}


class SignInError(Exception):
    """Why nobody is signed in, in one sentence for the page."""


@dataclass(frozen=True, slots=True)
class SignedInPerson:
    user_id: str
    team_id: str
    name: str
    email: str | None


class SlackSignIn:
    def __init__(self, *, client_id: str, client_secret: str, authorize_url: str, api_url: str,
                 clock: Clock = utcnow) -> None:
        self._client_id = client_id
        self._clock = clock  # the bot's time, which the token's iat and exp are checked against
        self._client_secret = client_secret
        self._authorize_url = authorize_url
        self._api_url = api_url
        parts = urlsplit(authorize_url)
        # Slack's keys sit beside its authorize page (https://slack.com/openid/connect/keys), and
        # its tokens are issued by that origin.
        self._issuer = f"{parts.scheme}://{parts.netloc}"
        self._keys_url = authorize_url.rsplit("/", 1)[0] + "/keys"
        self._keys: tuple[float, KeySet] | None = None

    def authorize_url(self, *, state: str, nonce: str, redirect_uri: str) -> str:
        query = urlencode({"response_type": "code", "scope": " ".join(SCOPES), "client_id": self._client_id,
                           "state": state, "nonce": nonce, "redirect_uri": redirect_uri})
        return f"{self._authorize_url}?{query}"

    async def person(self, *, code: str, redirect_uri: str, nonce: str) -> SignedInPerson:
        try:
            # The client credentials as form fields (Slack takes either): slack_sdk's own method sends
            # them with aiohttp's BasicAuth, which aiohttp deprecates.
            token = await AsyncWebClient(base_url=self._api_url).api_call(
                "openid.connect.token", data={"client_id": self._client_id, "client_secret": self._client_secret,
                                              "code": code, "redirect_uri": redirect_uri})
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            words = _TOKEN_ERRORS.get(error, f"Slack refused the sign-in ({error or 'no reason given'}). Sign in again.")
            raise SignInError(words.format(redirect_uri=redirect_uri)) from None
        except (SlackClientError, OSError, TimeoutError) as exc:
            raise SignInError(f"Slack could not be reached to finish the sign-in ({type(exc).__name__}); "
                              "try again in a moment.") from None
        claims = await self._verified_claims(str(token.get("id_token") or ""), nonce)
        try:
            info = await AsyncWebClient(token=str(token.get("access_token") or ""),
                                        base_url=self._api_url).openid_connect_userInfo()
        except SlackApiError as exc:
            raise SignInError(f"Slack would not say who signed in ({exc.response.get('error', '')}). "
                              "Sign in again.") from None
        except (SlackClientError, OSError, TimeoutError) as exc:
            raise SignInError(f"Slack could not be reached to finish the sign-in ({type(exc).__name__}); "
                              "try again in a moment.") from None
        user_id = str(info.get("https://slack.com/user_id") or info.get("sub") or "")
        if not user_id or user_id != claims.get("sub"):
            raise SignInError("Slack's answers about who signed in did not agree. Sign in again.")
        email = info.get("email")
        return SignedInPerson(user_id=user_id, team_id=str(info.get(TEAM_CLAIM) or claims.get(TEAM_CLAIM) or ""),
                              name=str(info.get("name") or user_id), email=str(email) if email else None)

    async def _verified_claims(self, id_token: str, nonce: str) -> dict[str, object]:
        if not id_token:
            raise SignInError("Slack's answer carried no identity token. Sign in again.")
        try:
            decoded = jwt.decode(id_token, await self._key_set(), algorithms=["RS256"])
        except ValueError:  # joserfc raises its own errors, and ValueError for an unknown key id
            self._keys = None  # Slack may have rotated its keys: read them again once
            try:
                decoded = jwt.decode(id_token, await self._key_set(), algorithms=["RS256"])
            except (JoseError, ValueError):
                raise SignInError("Slack's identity token could not be verified. Sign in again.") from None
        except JoseError:
            raise SignInError("Slack's identity token could not be verified. Sign in again.") from None
        registry = jwt.JWTClaimsRegistry(now=lambda: int(self._clock().timestamp()), leeway=60,
                                         iss={"essential": True, "value": self._issuer},
                                         aud={"essential": True, "value": self._client_id},
                                         nonce={"essential": True, "value": nonce},
                                         sub={"essential": True}, exp={"essential": True})
        try:
            registry.validate(decoded.claims)
        except JoseError as exc:
            raise SignInError(f"Slack's identity token is not for this sign-in ({exc.error}). Sign in again.") from None
        return dict(decoded.claims)

    async def _key_set(self) -> KeySet:
        if self._keys is not None and time.monotonic() - self._keys[0] < KEYS_CACHE_SECONDS:
            return self._keys[1]
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                answer = await client.get(self._keys_url)
            answer.raise_for_status()
            keys = KeySet.import_key_set(answer.json())
        except (httpx.HTTPError, ValueError, JoseError) as exc:
            raise SignInError(f"Slack's signing keys could not be read from {self._keys_url} "
                              f"({type(exc).__name__}); try again in a moment.") from None
        self._keys = (time.monotonic(), keys)
        return keys
