"""The demo's console Slack signs the demo's people in with Slack's shapes: the sign-in page,
the code exchange through the real slack_sdk client, and an id_token the served keys verify."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from aiohttp import web
from joserfc import jwt
from joserfc.jwk import KeySet
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import ManualClock
from bot.demo.console_signin import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from bot.demo.console_slack import ConsoleSlack
from bot.demo.transcript import Transcript

CALLBACK = "http://127.0.0.1:8080/ui/auth/callback"
USERS = {"UALICE": "alice", "UBOB": "bob"}
# slack_sdk's openid_connect_token sends HTTP Basic through aiohttp.BasicAuth, deprecated in aiohttp 3.14.
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2025, 3, 4, 12, 0, tzinfo=UTC))


@pytest.fixture
async def slack(clock: ManualClock) -> AsyncIterator[tuple[ConsoleSlack, io.StringIO]]:
    out = io.StringIO()
    console = ConsoleSlack(Transcript(out, clock, rich=False), USERS, clock)
    runner = web.AppRunner(console.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    console.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    try:
        yield console, out
    finally:
        await runner.cleanup()


def _authorize_url(console: ConsoleSlack, **changes: str) -> str:
    params = {"response_type": "code", "scope": "openid profile email", "client_id": DEMO_CLIENT_ID,
              "state": "st-1", "nonce": "n-1", "redirect_uri": CALLBACK, **changes}
    return f"{console.base_url}openid/connect/authorize?{urlencode(params)}"


async def _sign_in(console: ConsoleSlack, http: aiohttp.ClientSession, user: str) -> str:
    async with http.get(_authorize_url(console)) as page:
        text = await page.text()
    assert page.status == 200 and f'id="sign-in-{user}"' in text
    form = {"redirect_uri": CALLBACK, "state": "st-1", "nonce": "n-1", "scope": "openid profile email", "user": user}
    async with http.post(f"{console.base_url}openid/connect/authorize", data=form, allow_redirects=False) as answer:
        assert answer.status == 302
        back = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert back["state"] == ["st-1"]
    return back["code"][0]


async def test_a_demo_person_signs_in_and_the_id_token_verifies(
    slack: tuple[ConsoleSlack, io.StringIO], clock: ManualClock
) -> None:
    console, out = slack
    async with aiohttp.ClientSession() as http:
        async with http.get(_authorize_url(console)) as page:
            text = await page.text()
        assert "Sign in to Demo" in text and "Sign in as Alice" in text and "Sign in as Bob" in text
        code = await _sign_in(console, http, "UBOB")
        clock.advance(timedelta(minutes=1))
        api = AsyncWebClient(base_url=f"{console.base_url}api/")
        answer = await api.openid_connect_token(client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET, code=code,
                                                redirect_uri=CALLBACK)
        assert answer["token_type"] == "Bearer" and answer["access_token"].startswith("xoxp-")
        async with http.get(f"{console.base_url}openid/connect/keys") as keys:
            jwks = KeySet.import_key_set(await keys.json())
    claims = jwt.decode(answer["id_token"], jwks, algorithms=["RS256"]).claims
    assert claims["iss"] == console.base_url.rstrip("/")
    assert (claims["sub"], claims["aud"], claims["nonce"]) == ("UBOB", DEMO_CLIENT_ID, "n-1")
    assert (claims["https://slack.com/team_id"], claims["email"], claims["name"]) == ("TDEMO", "bob@example.com", "Bob")
    assert claims["iat"] == int(clock().timestamp())
    me = await AsyncWebClient(token=answer["access_token"], base_url=f"{console.base_url}api/").openid_connect_userInfo()
    assert (me["sub"], me["https://slack.com/user_id"], me["https://slack.com/team_id"]) == ("UBOB", "UBOB", "TDEMO")
    assert "@bob signs in" in out.getvalue()

    with pytest.raises(SlackApiError) as info:  # a code works once
        await api.openid_connect_token(client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET, code=code,
                                       redirect_uri=CALLBACK)
    assert info.value.response["error"] == "invalid_code"


async def test_the_demo_refuses_what_slack_refuses(slack: tuple[ConsoleSlack, io.StringIO]) -> None:
    console, _ = slack
    api = AsyncWebClient(base_url=f"{console.base_url}api/")
    async with aiohttp.ClientSession() as http:
        async with http.get(_authorize_url(console, client_id="123.456"), allow_redirects=False) as page:
            assert page.status == 400 and "Location" not in page.headers
        async with http.get(_authorize_url(console, scope="profile"), allow_redirects=False) as answer:
            assert parse_qs(urlsplit(answer.headers["Location"]).query)["error"] == ["invalid_scope"]
        code = await _sign_in(console, http, "UALICE")
    for kwargs, error in (({"client_id": "123.456"}, "invalid_client_id"), ({"client_secret": "no"}, "bad_client_secret"),
                          ({"code": "demo.nope"}, "invalid_code"), ({"redirect_uri": "http://x/cb"}, "bad_redirect_uri")):
        arguments = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET, "code": code,
                     "redirect_uri": CALLBACK, **kwargs}
        with pytest.raises(SlackApiError) as info:
            await api.openid_connect_token(**arguments)
        assert info.value.response["error"] == error
    for token, error in ((None, "not_authed"), ("xoxb-demo-token", "invalid_auth")):
        with pytest.raises(SlackApiError) as info:
            await AsyncWebClient(token=token, base_url=f"{console.base_url}api/").openid_connect_userInfo()
        assert info.value.response["error"] == error
