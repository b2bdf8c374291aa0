"""Sign in with Slack against the strict emulator, over HTTP, on both databases: the
redirect, the callback's checks (state, replay, team), the session cookie, sign-out, CSRF."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from storage.database import Database
from storage.models import WebSession
from tests.slack_emulator import SlackEmulator
from tests.slack_emulator.openid import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.support.bot import free_port, running_bot
from tests.support.slack import slack_settings
from tests.support.web_session import SESSION_SECRET, signed_in


@dataclass
class Site:
    url: str
    slack: SlackEmulator
    db: Database

    @property
    def callback(self) -> str:
        return f"{self.url}/ui/auth/callback"


def workspace_settings(database_url: str, slack: SlackEmulator, public_url: str, **extra: Any) -> Any:
    return slack_settings(database_url, slack, session_secret=SecretStr(SESSION_SECRET),
                          slack_client_id=DEFAULT_CLIENT_ID, slack_client_secret=SecretStr(DEFAULT_CLIENT_SECRET),
                          slack_oidc_authorize_url=slack.oidc_authorize_url, public_url=public_url, **extra)


@pytest.fixture
async def site(database_url: str, slack: SlackEmulator, db: Database) -> AsyncIterator[Site]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    slack.register_oidc_client(redirect_urls=(f"{url}/ui/auth/callback",))
    slack.add_user("UERIN", "erin", team="TOTHER", team_name="Other Corp")
    async with running_bot(workspace_settings(database_url, slack, url), port=port):
        yield Site(url, slack, db)


def browser() -> httpx.AsyncClient:
    return httpx.AsyncClient(follow_redirects=False, timeout=15)


async def begin(client: httpx.AsyncClient, site: Site, next_path: str = "/ui/") -> dict[str, str]:
    """GET /ui/login; the query Slack's authorize page was sent."""
    answer = await client.get(f"{site.url}/ui/login", params={"next": next_path})
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(site.slack.oidc_authorize_url + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def sign_in(client: httpx.AsyncClient, site: Site, user: str = "UALICE") -> httpx.Response:
    query = await begin(client, site)
    code = site.slack.oidc_authorize(user, redirect_uri=site.callback, state=query["state"], nonce=query["nonce"])
    return await client.get(site.callback, params={"code": code, "state": query["state"]})


async def test_without_a_session_every_page_redirects_to_sign_in(site: Site) -> None:
    async with browser() as client:
        for path in ("/ui/", "/ui/incidents/1", "/ui/followups", "/ui/insights", "/ui/incidents/1/postmortem"):
            answer = await client.get(site.url + path)
            assert answer.status_code == 302, path
            assert answer.headers["location"].startswith("/ui/login?next=")


async def test_sign_in_sends_the_browser_to_slack_with_what_openid_connect_needs(site: Site) -> None:
    async with browser() as client:
        query = await begin(client, site)
    assert query["response_type"] == "code"
    assert query["scope"] == "openid profile email"
    assert query["client_id"] == DEFAULT_CLIENT_ID
    assert query["redirect_uri"] == site.callback
    assert len(query["state"]) >= 24 and len(query["nonce"]) >= 24


async def test_a_member_of_the_workspace_signs_in_and_lands_where_they_were_going(site: Site) -> None:
    async with browser() as client:
        query = await begin(client, site, "/ui/followups?status=open")
        code = site.slack.oidc_authorize("UALICE", redirect_uri=site.callback, state=query["state"],
                                         nonce=query["nonce"])
        answer = await client.get(site.callback, params={"code": code, "state": query["state"]})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/ui/followups?status=open"
        cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("incident_bot_session="))
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/ui" in cookie and "Max-Age=" in cookie
        assert "Secure" not in cookie  # PUBLIC_URL is http here
        page = await client.get(f"{site.url}/ui/")
    assert page.status_code == 200
    assert "Alice" in page.text and "Sign out" in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "<script>" not in page.text  # every script is a file: nothing inline for the policy to refuse


async def test_a_forged_or_foreign_state_is_refused_before_any_code_is_exchanged(site: Site) -> None:
    async with browser() as client:
        query = await begin(client, site)
        code = site.slack.oidc_authorize("UALICE", redirect_uri=site.callback, state=query["state"],
                                         nonce=query["nonce"])
        wrong = await client.get(site.callback, params={"code": code, "state": "not-the-state"})
        assert wrong.status_code == 400
        assert "state does not match" in wrong.text
    async with browser() as other:  # the callback of a sign-in another browser started
        foreign = await other.get(site.callback, params={"code": code, "state": query["state"]})
        assert foreign.status_code == 400
    assert not [c for c in site.slack.calls if c.method == "openid.connect.token"]


async def test_a_replayed_callback_or_code_is_refused(site: Site) -> None:
    async with browser() as client:
        query = await begin(client, site)
        code = site.slack.oidc_authorize("UALICE", redirect_uri=site.callback, state=query["state"],
                                         nonce=query["nonce"])
        signin_cookie = client.cookies.get("incident_bot_signin")
        assert (await client.get(site.callback, params={"code": code, "state": query["state"]})).status_code == 303
    async with browser() as replay:  # the same request again, cookie and all
        replay.cookies.set("incident_bot_signin", signin_cookie or "", domain="127.0.0.1", path="/ui")
        again = await replay.get(site.callback, params={"code": code, "state": query["state"]})
        assert again.status_code == 400
        assert "already used" in again.text
        fresh = await begin(replay, site)  # a new sign-in, but Slack's used code
        reused = await replay.get(site.callback, params={"code": code, "state": fresh["state"]})
        assert reused.status_code == 400
        assert "already used or has expired" in reused.text
        assert (await replay.get(f"{site.url}/ui/")).status_code == 302


async def test_a_person_from_another_slack_workspace_is_not_let_in(site: Site) -> None:
    async with browser() as client:
        answer = await sign_in(client, site, "UERIN")
        assert answer.status_code == 403
        assert "another Slack workspace (TOTHER)" in answer.text
        assert not any(c.startswith("incident_bot_session=") for c in answer.headers.get_list("set-cookie"))
        assert (await client.get(f"{site.url}/ui/")).status_code == 302


async def test_a_session_of_another_team_is_refused_and_ended(site: Site) -> None:
    session = await signed_in(site.db, user_id="UERIN", team_id="TOTHER")
    async with browser() as client:
        client.cookies.update(session.cookies)
        answer = await client.get(f"{site.url}/ui/")
        assert answer.status_code == 403
        assert "another Slack workspace" in answer.text
        assert (await client.get(f"{site.url}/ui/")).status_code == 302  # the session is gone


async def test_cancelling_at_slack_says_so(site: Site) -> None:
    async with browser() as client:
        query = await begin(client, site)
        answer = await client.get(site.callback, params={"error": "access_denied", "state": query["state"]})
    assert answer.status_code == 401
    assert "You cancelled the sign-in" in answer.text


async def test_sign_in_never_sends_the_browser_to_another_site(site: Site) -> None:
    for target in ("https://evil.example/x", "//evil.example/x", "/elsewhere", "/ui\\..\\x"):
        async with browser() as client:
            query = await begin(client, site, target)
            code = site.slack.oidc_authorize("UALICE", redirect_uri=site.callback, state=query["state"],
                                             nonce=query["nonce"])
            answer = await client.get(site.callback, params={"code": code, "state": query["state"]})
            assert answer.headers["location"] == "/ui/", target


async def test_signing_out_needs_the_csrf_token_and_ends_the_session(site: Site) -> None:
    async with browser() as client:
        assert (await sign_in(client, site)).status_code == 303
        refused = await client.post(f"{site.url}/ui/logout")
        assert refused.status_code == 403
        assert "CSRF token" in refused.text
        assert (await client.get(f"{site.url}/ui/")).status_code == 200
        [session] = await site.db.read(_sessions)
        done = await client.post(f"{site.url}/ui/logout", data={"csrf_token": session.csrf_token})
        assert done.status_code == 200
        assert "Signed out" in done.text
        assert (await client.get(f"{site.url}/ui/")).status_code == 302
    assert await site.db.read(_sessions) == []


async def test_an_expired_session_sends_the_person_to_sign_in_again(site: Site) -> None:
    session = await signed_in(site.db, user_id="UALICE", team_id="T0001", now=utcnow() - timedelta(hours=13))
    async with browser() as client:
        client.cookies.update(session.cookies)
        assert (await client.get(f"{site.url}/ui/")).status_code == 302


def _sessions(session: Session) -> list[Any]:
    return list(session.execute(select(WebSession.user_id, WebSession.csrf_token)).all())


async def test_an_https_public_url_makes_the_cookie_secure(database_url: str, slack: SlackEmulator) -> None:
    port = free_port()
    public = "https://incident-bot.example.com"
    slack.register_oidc_client(redirect_urls=(f"{public}/ui/auth/callback",))
    async with running_bot(workspace_settings(database_url, slack, public), port=port):
        site = Site(f"http://127.0.0.1:{port}", slack, None)  # type: ignore[arg-type]
        async with browser() as client:
            login = await client.get(f"{site.url}/ui/login")
            assert "Secure" in login.headers["set-cookie"]
            query = {k: v[0] for k, v in parse_qs(urlsplit(login.headers["location"]).query).items()}
            assert query["redirect_uri"] == f"{public}/ui/auth/callback"


async def test_without_session_secret_the_workspace_says_it_is_off(database_url: str, slack: SlackEmulator) -> None:
    async with running_bot(slack_settings(database_url, slack)) as url, browser() as client:
        answer = await client.get(f"{url}/ui/")
    assert answer.status_code == 503
    assert "SESSION_SECRET is not set" in answer.text


async def test_without_client_credentials_sign_in_says_what_to_set(database_url: str, slack: SlackEmulator) -> None:
    async with running_bot(slack_settings(database_url, slack, session_secret=SecretStr(SESSION_SECRET))) as url, \
            browser() as client:
        answer = await client.get(f"{url}/ui/login")
    assert answer.status_code == 503
    assert "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET" in answer.text


async def test_the_stored_session_is_a_hash_not_the_cookie(site: Site) -> None:
    async with browser() as client:
        await sign_in(client, site)
        cookie = client.cookies.get("incident_bot_session") or ""
    [(id_hash,)] = await site.db.read(lambda s: s.execute(select(WebSession.id_hash)).all())
    assert len(id_hash) == 64 and id_hash not in cookie
