"""Sign in with Slack on the emulator: the authorize page over plain HTTP, the code exchange
and the person's identity through the real slack_sdk client, the id_token checked with
joserfc against the keys the emulator serves."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import ManualClock
from tests.slack_emulator import (
    CODE_LIFETIME,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URL,
    SlackEmulator,
)

TOKEN = "xoxb-emulator-test"
CLIENT_ID = "4242424242.1717171717"
SECRET = "sign-in-client-secret"
CALLBACK = "https://incident-bot.example.com/ui/auth/callback"
START = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)

# slack_sdk's openid_connect_token builds its HTTP Basic header with aiohttp.BasicAuth, which
# aiohttp 3.14 deprecates; the header it sends is still the one Slack expects.
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def emu(clock: ManualClock) -> AsyncIterator[SlackEmulator]:
    users = {"UALICE": "alice", "UBOB": "bob"}
    async with SlackEmulator(token=TOKEN, users=users, clock=clock) as e:
        e.register_oidc_client(CLIENT_ID, SECRET, [CALLBACK, "https://incident-bot.example.com/other/callback"])
        e.add_user("UALICE", "alice", email="alice.smith@example.org", real_name="Alice Smith")
        e.add_user("UOTTO", "otto", real_name="Otto Other", team="TOTHER", team_name="Other Corp")
        yield e


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def authorize_query(**changes: str | None) -> str:
    params = {"response_type": "code", "scope": "openid profile email", "client_id": CLIENT_ID,
              "state": "st-123", "nonce": "n-456", "redirect_uri": CALLBACK, **changes}
    return urlencode({k: v for k, v in params.items() if v is not None})


class Buttons(HTMLParser):
    """The submit buttons of a page (id, name, value, label) and its hidden fields."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.buttons: list[dict[str, str]] = []
        self.hidden: dict[str, str] = {}
        self._open: dict[str, str] | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "button":
            self._open = {**found, "label": ""}
        elif tag == "input" and found.get("type") == "hidden":
            self.hidden[found["name"]] = found["value"]

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["label"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._open is not None:
            self.buttons.append(self._open)
            self._open = None

    def labelled(self, label: str) -> dict[str, str]:
        [button] = [b for b in self.buttons if b["label"] == label]
        return button


async def sign_in_page(emu: SlackEmulator, browser: aiohttp.ClientSession, **changes: str | None) -> Buttons:
    async with browser.get(f"{emu.oidc_authorize_url}?{authorize_query(**changes)}", allow_redirects=False) as page:
        assert page.status == 200 and page.content_type == "text/html"
        return Buttons(await page.text())


async def press(emu: SlackEmulator, browser: aiohttp.ClientSession, page: Buttons, label: str) -> aiohttp.ClientResponse:
    button = page.labelled(label)
    form = {**page.hidden, button["name"]: button["value"]}
    async with browser.post(emu.oidc_authorize_url, data=form, allow_redirects=False) as answer:
        await answer.read()
        return answer


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def signed_in(emu: SlackEmulator, browser: aiohttp.ClientSession, label: str, **changes: str | None) -> str:
    answer = await press(emu, browser, await sign_in_page(emu, browser, **changes), label)
    assert answer.status == 302
    location = answer.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    back = query_of(location)
    assert back["state"] == "st-123"
    return back["code"]


async def exchange(emu: SlackEmulator, code: str, *, secret: str = SECRET, redirect_uri: str | None = CALLBACK,
                   client_id: str = CLIENT_ID) -> dict[str, Any]:
    answer = await AsyncWebClient(base_url=emu.api_url).openid_connect_token(
        client_id=client_id, client_secret=secret, code=code, redirect_uri=redirect_uri)
    return dict(answer.data)  # type: ignore[arg-type]


async def exchange_error(emu: SlackEmulator, code: str, **kwargs: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        await exchange(emu, code, **kwargs)
    assert info.value.response.status_code == 200
    return str(info.value.response["error"])


async def verified_claims(emu: SlackEmulator, browser: aiohttp.ClientSession, id_token: str) -> dict[str, Any]:
    async with browser.get(emu.oidc_keys_url) as keys:
        jwks = await keys.json()
    [key] = jwks["keys"]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig") and key["kid"]
    assert "d" not in key, "the JWKS must hold the public key only"
    token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert token.header["kid"] == key["kid"]
    return dict(token.claims)


# the whole sign-in


async def test_a_member_signs_in_and_the_app_learns_who_from_a_verifiable_id_token(
    emu: SlackEmulator, browser: aiohttp.ClientSession, clock: ManualClock
) -> None:
    code = await signed_in(emu, browser, "Sign in as Alice Smith")
    clock.advance(timedelta(seconds=30))
    answer = await exchange(emu, code)
    assert answer["ok"] is True and answer["token_type"] == "Bearer"
    assert answer["access_token"].startswith("xoxp-")

    claims = await verified_claims(emu, browser, answer["id_token"])
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", emu.oidc_issuer)
    assert claims["iss"] == emu.oidc_issuer == emu.oidc_authorize_url.removesuffix("/openid/connect/authorize")
    assert (claims["sub"], claims["aud"], claims["nonce"]) == ("UALICE", CLIENT_ID, "n-456")
    assert claims["https://slack.com/user_id"] == "UALICE"
    assert claims["https://slack.com/team_id"] == "T0001"
    assert (claims["email"], claims["email_verified"], claims["name"]) == ("alice.smith@example.org", True, "Alice Smith")
    issued = int((START + timedelta(seconds=30)).timestamp())
    assert (claims["iat"], claims["auth_time"]) == (issued, int(START.timestamp()))
    assert claims["exp"] > claims["iat"]

    me = await AsyncWebClient(token=answer["access_token"], base_url=emu.api_url).openid_connect_userInfo()
    assert me["ok"] is True
    assert (me["sub"], me["https://slack.com/user_id"], me["https://slack.com/team_id"]) == ("UALICE", "UALICE", "T0001")
    assert me["https://slack.com/team_name"] == "Incident Test"
    assert (me["email"], me["email_verified"], me["name"]) == ("alice.smith@example.org", True, "Alice Smith")
    assert (me["given_name"], me["family_name"], me["locale"]) == ("Alice", "Smith", "en-US")
    async with browser.get(me["picture"]) as picture:
        assert picture.status == 200 and picture.content_type == "image/png"


async def test_someone_from_another_workspace_signs_in_as_a_member_of_that_team(
    emu: SlackEmulator, browser: aiohttp.ClientSession
) -> None:
    page = await sign_in_page(emu, browser)
    assert page.labelled("Sign in as Otto Other")["id"] == "sign-in-UOTTO"
    answer = await exchange(emu, await signed_in(emu, browser, "Sign in as Otto Other"))
    claims = await verified_claims(emu, browser, answer["id_token"])
    assert (claims["sub"], claims["https://slack.com/team_id"]) == ("UOTTO", "TOTHER")
    me = await AsyncWebClient(token=answer["access_token"], base_url=emu.api_url).openid_connect_userInfo()
    assert (me["https://slack.com/team_id"], me["https://slack.com/team_name"]) == ("TOTHER", "Other Corp")
    # Not a member here: the bot's own look-ups do not find them.
    with pytest.raises(SlackApiError) as info:
        await AsyncWebClient(token=TOKEN, base_url=emu.api_url).users_info(user="UOTTO")
    assert info.value.response["error"] == "user_not_found"


async def test_the_page_offers_each_active_person_once_and_not_the_bot(
    emu: SlackEmulator, browser: aiohttp.ClientSession
) -> None:
    emu.add_user("UGONE", "gone")
    emu.deactivate_user("UGONE")
    async with browser.get(f"{emu.oidc_authorize_url}?{authorize_query()}") as response:
        text = await response.text()
    assert "<h1>Sign in to Incident Test</h1>" in text and "Or sign in to Other Corp" in text
    page = Buttons(text)
    assert [(b["id"], b["label"]) for b in page.buttons] == [
        ("sign-in-UALICE", "Sign in as Alice Smith"), ("sign-in-UBOB", "Sign in as Bob"),
        ("sign-in-UOTTO", "Sign in as Otto Other"), ("cancel", "Cancel"),
    ]


async def test_names_on_the_page_are_text_not_markup(emu: SlackEmulator, browser: aiohttp.ClientSession) -> None:
    emu.add_user("UEVE", "eve", real_name="<script>alert(1)</script>")
    async with browser.get(f"{emu.oidc_authorize_url}?{authorize_query()}") as response:
        text = await response.text()
    assert "<script>" not in text and "&lt;script&gt;" in text


async def test_without_a_nonce_or_extra_scopes_the_token_says_only_who(
    emu: SlackEmulator, browser: aiohttp.ClientSession
) -> None:
    answer = await exchange(emu, await signed_in(emu, browser, "Sign in as Bob", nonce=None, scope="openid"))
    claims = await verified_claims(emu, browser, answer["id_token"])
    assert claims["sub"] == "UBOB" and "nonce" not in claims
    assert not {"email", "name"} & set(claims)
    me = await AsyncWebClient(token=answer["access_token"], base_url=emu.api_url).openid_connect_userInfo()
    assert me["sub"] == "UBOB" and "email" not in me.data  # type: ignore[operator]


# the code


async def test_a_code_works_exactly_once(emu: SlackEmulator, browser: aiohttp.ClientSession) -> None:
    code = await signed_in(emu, browser, "Sign in as Bob")
    assert (await exchange(emu, code))["ok"] is True
    assert await exchange_error(emu, code) == "invalid_code"


async def test_a_code_expires_after_ten_minutes(
    emu: SlackEmulator, browser: aiohttp.ClientSession, clock: ManualClock
) -> None:
    fresh, stale = await signed_in(emu, browser, "Sign in as Bob"), await signed_in(emu, browser, "Sign in as Bob")
    clock.advance(CODE_LIFETIME)
    assert (await exchange(emu, fresh))["ok"] is True
    clock.advance(timedelta(seconds=1))
    assert await exchange_error(emu, stale) == "invalid_code"


async def test_exchange_errors_name_what_is_wrong(emu: SlackEmulator, browser: aiohttp.ClientSession) -> None:
    code = await signed_in(emu, browser, "Sign in as Bob")
    assert await exchange_error(emu, code, client_id="999.999") == "invalid_client_id"
    assert await exchange_error(emu, code, secret="wrong") == "bad_client_secret"
    assert await exchange_error(emu, "made-up-code") == "invalid_code"
    other = "https://incident-bot.example.com/other/callback"
    assert await exchange_error(emu, code, redirect_uri=other) == "bad_redirect_uri"
    assert await exchange_error(emu, code, redirect_uri=None) == "bad_redirect_uri"
    assert emu.calls_to("openid.connect.token")[-1].error == "bad_redirect_uri"
    assert (await exchange(emu, code))["ok"] is True  # refused exchanges do not use the code up


async def test_a_code_belongs_to_the_app_it_was_issued_to(emu: SlackEmulator, browser: aiohttp.ClientSession) -> None:
    emu.register_oidc_client("777.888", "another-secret", [CALLBACK])
    code = await signed_in(emu, browser, "Sign in as Bob")
    assert await exchange_error(emu, code, client_id="777.888", secret="another-secret") == "invalid_code"


async def test_client_credentials_may_come_as_form_fields(emu: SlackEmulator) -> None:
    code = emu.oidc_authorize("UBOB", client_id=CLIENT_ID, redirect_uri=CALLBACK)
    client = AsyncWebClient(base_url=emu.api_url)
    fields = {"client_id": CLIENT_ID, "client_secret": SECRET, "code": code, "redirect_uri": CALLBACK}
    answer = await client.api_call("openid.connect.token", data=fields)
    assert answer["ok"] is True and answer["access_token"].startswith("xoxp-")
    with pytest.raises(SlackApiError) as info:
        await client.api_call("openid.connect.token", data={**fields, "client_secret": "wrong"})
    assert info.value.response["error"] == "bad_client_secret"


async def test_the_helper_signs_in_without_a_browser(emu: SlackEmulator, browser: aiohttp.ClientSession) -> None:
    code = emu.oidc_authorize("UALICE", client_id=CLIENT_ID, nonce="from-helper")
    claims = await verified_claims(emu, browser, (await exchange(emu, code))["id_token"])
    assert (claims["sub"], claims["nonce"]) == ("UALICE", "from-helper")
    with pytest.raises(ValueError, match="redirect_uri"):
        emu.oidc_authorize("UALICE", client_id=CLIENT_ID, redirect_uri="https://evil.example/cb")
    with pytest.raises(ValueError, match="invalid_scope"):
        emu.oidc_authorize("UALICE", client_id=CLIENT_ID, scope="openid channels:read")


async def test_the_default_client_signs_in_against_the_bots_default_public_url(browser: aiohttp.ClientSession) -> None:
    async with SlackEmulator(token=TOKEN) as emu:
        client = emu.register_oidc_client()
        assert client.redirect_urls == ("http://localhost:8080/ui/auth/callback",)
        code = emu.oidc_authorize("UCAROL")
        answer = await AsyncWebClient(base_url=emu.api_url).openid_connect_token(
            client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET, code=code,
            redirect_uri=DEFAULT_REDIRECT_URL)
        assert (await verified_claims(emu, browser, answer["id_token"]))["sub"] == "UCAROL"


# userInfo


async def test_user_info_needs_the_user_token_of_an_exchange(emu: SlackEmulator) -> None:
    for token, error in ((None, "not_authed"), (TOKEN, "invalid_auth"), ("xoxp-made-up", "invalid_auth")):
        with pytest.raises(SlackApiError) as info:
            await AsyncWebClient(token=token, base_url=emu.api_url).openid_connect_userInfo()
        assert info.value.response["error"] == error


async def test_a_fault_injected_on_the_exchange_reaches_the_app(emu: SlackEmulator) -> None:
    code = emu.oidc_authorize("UBOB", client_id=CLIENT_ID)
    emu.faults.fail_next("openid.connect.token", 503)
    with pytest.raises(SlackApiError) as info:
        await exchange(emu, code)
    assert info.value.response.status_code == 503
    assert (await exchange(emu, code))["ok"] is True


# the authorization request


@pytest.mark.parametrize("changes", [
    {"client_id": "000.000"}, {"client_id": None},
    {"redirect_uri": "https://incident-bot.example.com/ui/auth/callback/"},
    {"redirect_uri": "https://evil.example/ui/auth/callback"}, {"redirect_uri": None},
])
async def test_an_unknown_app_or_unregistered_redirect_gets_an_error_page_not_a_redirect(
    emu: SlackEmulator, browser: aiohttp.ClientSession, changes: dict[str, str | None]
) -> None:
    async with browser.get(f"{emu.oidc_authorize_url}?{authorize_query(**changes)}", allow_redirects=False) as page:
        assert page.status == 400 and page.content_type == "text/html"
        assert "Location" not in page.headers
        name = "client_id" if "client_id" in changes else "redirect_uri"
        assert name in await page.text()


@pytest.mark.parametrize(("changes", "error"), [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": None}, "invalid_request"),
    ({"scope": "profile email"}, "invalid_scope"),
    ({"scope": "openid,profile,email"}, "invalid_scope"),
    ({"scope": "openid chat:write"}, "invalid_scope"),
    ({"state": None}, "invalid_request"),
])
async def test_other_bad_requests_go_back_to_the_app_with_the_error(
    emu: SlackEmulator, browser: aiohttp.ClientSession, changes: dict[str, str | None], error: str
) -> None:
    async with browser.get(f"{emu.oidc_authorize_url}?{authorize_query(**changes)}", allow_redirects=False) as answer:
        assert answer.status == 302
        location = answer.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    back = query_of(location)
    assert back["error"] == error and "code" not in back
    assert back.get("state") == (None if "state" in changes else "st-123")


async def test_cancel_sends_the_person_back_with_access_denied(emu: SlackEmulator, browser: aiohttp.ClientSession) -> None:
    answer = await press(emu, browser, await sign_in_page(emu, browser), "Cancel")
    assert answer.status == 302
    assert query_of(answer.headers["Location"]) == {"error": "access_denied", "state": "st-123"}


async def test_a_sign_in_page_is_answered_once(emu: SlackEmulator, browser: aiohttp.ClientSession) -> None:
    page = await sign_in_page(emu, browser)
    assert (await press(emu, browser, page, "Sign in as Bob")).status == 302
    again = await press(emu, browser, page, "Sign in as Alice Smith")
    assert again.status == 400 and "Location" not in again.headers


async def test_the_form_refuses_someone_who_cannot_sign_in(emu: SlackEmulator, browser: aiohttp.ClientSession) -> None:
    page = await sign_in_page(emu, browser)
    for user in ("UBOT", "UNOBODY"):
        async with browser.post(emu.oidc_authorize_url, data={**page.hidden, "user": user},
                                allow_redirects=False) as answer:
            assert answer.status == 400 and user in await answer.text()
    assert (await press(emu, browser, page, "Sign in as Bob")).status == 302  # the page still works


async def test_email_and_real_name_show_in_the_bots_look_ups(emu: SlackEmulator) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=emu.api_url)
    found = await client.users_lookupByEmail(email="alice.smith@example.org")
    assert (found["user"]["id"], found["user"]["real_name"]) == ("UALICE", "Alice Smith")
    assert (await client.users_info(user="UBOB"))["user"]["profile"]["email"] == "bob@example.com"
