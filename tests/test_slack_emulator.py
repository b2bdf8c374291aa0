"""The Slack emulator, driven only through the real slack_sdk client and signature verifier."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.slack_emulator import SlackEmulator

TOKEN = "xoxb-emulator-test"
SECRET = "emulator-signing-secret"
USERS = {"UALICE": "alice", "UBOB": "bob", "UCAROL": "carol"}


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(token=TOKEN, signing_secret=SECRET, users=USERS, usergroups={"SONCALL": ["UALICE"]}) as e:
        yield e


@pytest.fixture
def client(emu: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=emu.api_url)


async def slack_error(call: Awaitable[object]) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        await call
    return info.value


async def error_of(call: Awaitable[object]) -> str:
    return str((await slack_error(call)).response["error"])


async def new_channel(client: AsyncWebClient, name: str) -> str:
    return str((await client.conversations_create(name=name))["channel"]["id"])


# authentication and unknown methods


async def test_missing_or_wrong_token_is_refused(emu: SlackEmulator) -> None:
    assert await error_of(AsyncWebClient(base_url=emu.api_url).auth_test()) == "not_authed"
    assert await error_of(AsyncWebClient(token="xoxb-wrong", base_url=emu.api_url).auth_test()) == "invalid_auth"
    assert [c.error for c in emu.calls] == ["not_authed", "invalid_auth"]


async def test_auth_test_names_the_bot_and_unknown_methods_fail(client: AsyncWebClient) -> None:
    me = await client.auth_test()
    assert (me["user_id"], me["team_id"]) == ("UBOT", "T0001")
    assert me["bot_id"]
    assert await error_of(client.api_call("conversations.teleport")) == "unknown_method"


# channels


async def test_create_channel_makes_the_bot_a_member_and_names_are_unique(
    emu: SlackEmulator, client: AsyncWebClient
) -> None:
    created = await client.conversations_create(name="inc-42-db-down", is_private=True)
    channel = emu.channel(created["channel"]["id"])
    assert channel.is_private and channel.members == {"UBOT"} and channel.creator == "UBOT"
    await client.conversations_archive(channel=channel.id)
    assert await error_of(client.conversations_create(name="inc-42-db-down")) == "name_taken"


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "invalid_name_required"),
        ("x" * 81, "invalid_name_maxlength"),
        ("Inc-Upper", "invalid_name_specials"),
        ("inc 42", "invalid_name_specials"),
        ("inc#42", "invalid_name_specials"),
        ("-_-", "invalid_name_punctuation"),
    ],
)
async def test_create_channel_rejects_invalid_names(client: AsyncWebClient, name: str, error: str) -> None:
    assert await error_of(client.conversations_create(name=name)) == error


async def test_channel_list_paginates_and_hides_private_channels_without_the_bot(
    emu: SlackEmulator, client: AsyncWebClient
) -> None:
    for name in ("inc-1", "inc-2", "inc-3"):
        await new_channel(client, name)
    emu.seed_channel("secret", members=["UALICE"], is_private=True)
    first = await client.conversations_list(limit=2, types="public_channel,private_channel")
    cursor = first["response_metadata"]["next_cursor"]
    second = await client.conversations_list(limit=2, cursor=cursor, types="public_channel,private_channel")
    names = [c["name"] for c in first["channels"] + second["channels"]]
    assert names == ["general", "inc-1", "inc-2", "inc-3"]
    assert second["response_metadata"]["next_cursor"] == ""


async def test_topic_rules(emu: SlackEmulator, client: AsyncWebClient) -> None:
    cid = await new_channel(client, "inc-topic")
    await client.conversations_setTopic(channel=cid, topic="SEV1: checkout down")
    assert emu.channel(cid).topic["value"] == "SEV1: checkout down"
    assert await error_of(client.conversations_setTopic(channel=cid, topic="x" * 251)) == "too_long"
    general = emu.channel_by_name("general")
    assert general is not None
    assert await error_of(client.conversations_setPurpose(channel=general.id, purpose="p")) == "not_in_channel"
    assert await error_of(client.conversations_setTopic(channel="C404", topic="t")) == "channel_not_found"


async def test_invite_errors_and_all_or_nothing_semantics(emu: SlackEmulator, client: AsyncWebClient) -> None:
    cid = await new_channel(client, "inc-invite")
    await client.conversations_invite(channel=cid, users="UALICE")
    assert await error_of(client.conversations_invite(channel=cid, users="UALICE")) == "already_in_channel"
    assert await error_of(client.conversations_invite(channel=cid, users="UBOT")) == "cant_invite_self"
    assert await error_of(client.conversations_invite(channel=cid, users="UNOBODY")) == "user_not_found"
    assert await error_of(client.conversations_invite(channel=cid, users=[f"U{i}" for i in range(101)])) == (
        "too_many_users"
    )

    mixed = await slack_error(client.conversations_invite(channel=cid, users="UBOB,UNOBODY,UALICE"))
    assert mixed.response["error"] == "user_not_found"
    assert mixed.response["errors"] == [
        {"user": "UNOBODY", "ok": False, "error": "user_not_found"},
        {"user": "UALICE", "ok": False, "error": "already_in_channel"},
    ]
    assert "UBOB" not in emu.channel(cid).members

    forced = await client.conversations_invite(channel=cid, users="UBOB,UNOBODY", force=True)
    assert forced["errors"] == [{"user": "UNOBODY", "ok": False, "error": "user_not_found"}]
    assert emu.channel(cid).members == {"UBOT", "UALICE", "UBOB"}


async def test_users_and_usergroups(client: AsyncWebClient) -> None:
    assert (await client.users_info(user="UBOB"))["user"]["name"] == "bob"
    assert (await client.users_lookupByEmail(email="carol@example.com"))["user"]["id"] == "UCAROL"
    assert await error_of(client.users_lookupByEmail(email="nobody@example.com")) == "users_not_found"
    assert await error_of(client.users_info(user="UNOBODY")) == "user_not_found"
    assert (await client.usergroups_users_list(usergroup="SONCALL"))["users"] == ["UALICE"]
    assert await error_of(client.usergroups_users_list(usergroup="SNONE")) == "no_such_subteam"


async def test_a_deactivated_user_is_still_found_and_marked_deleted(emu: SlackEmulator, client: AsyncWebClient) -> None:
    assert (await client.users_info(user="UBOB"))["user"]["deleted"] is False
    emu.deactivate_user("UBOB")
    assert (await client.users_info(user="UBOB"))["user"]["deleted"] is True


async def test_a_scope_the_app_lacks_answers_missing_scope_and_changes_nothing(
    emu: SlackEmulator, client: AsyncWebClient
) -> None:
    emu.revoke_scope("channels:join")
    emu.revoke_scope("groups:read")
    general = emu.channel_by_name("general")
    assert general is not None
    refused = await slack_error(client.conversations_join(channel=general.id))
    assert refused.response["error"] == "missing_scope"
    assert refused.response["needed"] == "channels:join"
    assert "channels:read" in refused.response["provided"].split(",")
    assert "channels:join" not in refused.response["provided"].split(",")
    assert emu.workspace.bot_user_id not in general.members
    assert await error_of(client.conversations_list(types="public_channel,private_channel")) == "missing_scope"
    assert (await client.conversations_list(types="public_channel"))["channels"]


# messages


async def test_post_message_errors(emu: SlackEmulator, client: AsyncWebClient) -> None:
    cid = await new_channel(client, "inc-post")
    general = emu.channel_by_name("general")
    assert general is not None
    with pytest.warns(UserWarning, match="top-level `text`"):
        assert await error_of(client.chat_postMessage(channel=cid)) == "no_text"
    assert await error_of(client.chat_postMessage(channel="C404", text="hi")) == "channel_not_found"
    assert await error_of(client.chat_postMessage(channel=general.id, text="hi")) == "not_in_channel"
    assert await error_of(client.chat_postMessage(channel=cid, text="x" * 40_001)) == "msg_too_long"
    bad_metadata = client.chat_postMessage(channel=cid, text="hi", metadata={"event_type": "incident_opened"})
    assert await error_of(bad_metadata) == "invalid_metadata_schema"
    assert emu.messages(cid) == []


@pytest.mark.parametrize(
    "blocks",
    [
        [{"type": "section"}],
        [{"type": "carousel"}],
        [{"type": "header", "text": {"type": "mrkdwn", "text": "SEV1"}}],
        [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
        [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
        [{"type": "divider"}] * 51,
        [{"type": "actions", "elements": []}],
        [{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Ack"}}]}],
        [{"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Ack"}, "action_id": "ack"},
            {"type": "button", "text": {"type": "plain_text", "text": "Ack again"}, "action_id": "ack"},
        ]}],
    ],
    ids=["section-empty", "unknown-type", "header-mrkdwn", "header-long", "section-long", "too-many", "no-elements",
         "button-no-action-id", "duplicate-action-id"],
)
async def test_post_message_rejects_invalid_blocks(client: AsyncWebClient, blocks: list[dict[str, object]]) -> None:
    cid = await new_channel(client, "inc-blocks")
    error = await slack_error(client.chat_postMessage(channel=cid, text="fallback", blocks=blocks))
    assert error.response["error"] == "invalid_blocks"
    assert error.response["errors"]


async def test_metadata_round_trips_through_history(client: AsyncWebClient) -> None:
    cid = await new_channel(client, "inc-meta")
    metadata = {"event_type": "incident_opened", "event_payload": {"incident_id": 42}}
    posted = await client.chat_postMessage(channel=cid, text="Incident 42 opened", metadata=metadata)
    await client.chat_postMessage(channel=cid, text="in thread", thread_ts=posted["ts"])
    later = await client.chat_postMessage(channel=cid, text="second")
    with_metadata = await client.conversations_history(channel=cid, include_all_metadata=True)
    assert [m["ts"] for m in with_metadata["messages"]] == [later["ts"], posted["ts"]]
    assert with_metadata["messages"][1]["metadata"] == metadata
    assert with_metadata["messages"][1]["reply_count"] == 1
    plain = await client.conversations_history(channel=cid)
    assert all("metadata" not in m for m in plain["messages"])
    assert posted["ts"] < later["ts"]


async def test_chat_update_keeps_ts_and_marks_edited(emu: SlackEmulator, client: AsyncWebClient) -> None:
    cid = await new_channel(client, "inc-update")
    posted = await client.chat_postMessage(channel=cid, text="SEV2", blocks=[{"type": "divider"}])
    updated = await client.chat_update(channel=cid, ts=posted["ts"], text="SEV1")
    assert updated["ts"] == posted["ts"]
    [message] = emu.messages(cid)
    assert (message.text, message.blocks, message.edited is not None) == ("SEV1", [{"type": "divider"}], True)
    assert await error_of(client.chat_update(channel=cid, ts="1700000000.000001", text="x")) == "message_not_found"
    await client.conversations_invite(channel=cid, users="UALICE")
    human = emu.post_as_user(cid, "UALICE", "I'm on it")
    assert await error_of(client.chat_update(channel=cid, ts=human.ts, text="x")) == "cant_update_message"
    with pytest.warns(UserWarning, match="top-level `text`"):
        assert await error_of(client.chat_update(channel=cid, ts=posted["ts"])) == "no_text"


async def test_ephemeral_needs_the_user_in_the_channel(emu: SlackEmulator, client: AsyncWebClient) -> None:
    cid = await new_channel(client, "inc-ephemeral")
    assert await error_of(client.chat_postEphemeral(channel=cid, user="UBOB", text="psst")) == "user_not_in_channel"
    await client.conversations_invite(channel=cid, users="UBOB")
    await client.chat_postEphemeral(channel=cid, user="UBOB", text="psst")
    assert [(e.user, e.text) for e in emu.ephemerals(cid)] == [("UBOB", "psst")]


async def test_pins_bookmarks_and_reactions(emu: SlackEmulator, client: AsyncWebClient) -> None:
    cid = await new_channel(client, "inc-items")
    ts = (await client.chat_postMessage(channel=cid, text="Incident summary"))["ts"]
    await client.pins_add(channel=cid, timestamp=ts)
    assert await error_of(client.pins_add(channel=cid, timestamp=ts)) == "already_pinned"
    assert await error_of(client.pins_add(channel=cid, timestamp="1700000000.000001")) == "message_not_found"
    assert [m.ts for m in emu.pins(cid)] == [ts]

    await client.bookmarks_add(channel_id=cid, title="Runbook", type="link", link="https://runbooks.example.com/db")
    assert await error_of(client.bookmarks_add(channel_id=cid, title="x", type="link", link="ftp://x")) == (
        "invalid_link"
    )
    assert [b.title for b in emu.bookmarks(cid)] == ["Runbook"]

    await client.reactions_add(channel=cid, timestamp=ts, name="eyes")
    assert await error_of(client.reactions_add(channel=cid, timestamp=ts, name="eyes")) == "already_reacted"
    assert await error_of(client.reactions_add(channel=cid, timestamp=ts, name="Not An Emoji")) == "invalid_name"


async def test_files_v2_upload_is_shared_and_readable(emu: SlackEmulator, client: AsyncWebClient) -> None:
    cid = await new_channel(client, "inc-files")
    result = await client.files_upload_v2(
        channel=cid, content="timeline\n10:00 alert fired\n", filename="timeline.txt", initial_comment="Timeline"
    )
    file_id = result["file"]["id"]
    assert emu.file_content(file_id) == b"timeline\n10:00 alert fired\n"
    [message] = emu.messages(cid)
    assert message.text == "Timeline" and message.files and message.files[0]["id"] == file_id
    assert [c.method for c in emu.calls[-2:]] == ["files.getUploadURLExternal", "files.completeUploadExternal"]


async def test_views_open_needs_a_fresh_unused_trigger(emu: SlackEmulator, client: AsyncWebClient) -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Declare"}, "blocks": []}
    trigger = emu.new_trigger_id()
    opened = await client.views_open(trigger_id=trigger, view=view)
    assert opened["view"]["id"] and emu.views[0]["title"]["text"] == "Declare"
    assert await error_of(client.views_open(trigger_id=trigger, view=view)) == "exchanged_trigger_id"
    assert await error_of(client.views_open(trigger_id="1.2.3", view=view)) == "invalid_trigger_id"


# rate limits


async def test_tier_rate_limit_answers_429_with_retry_after() -> None:
    async with SlackEmulator(token=TOKEN, rate_limit_scale=30) as emu:
        [limit] = emu.limits["conversations.create"]
        assert (limit.tier, limit.calls, limit.window) == ("T2", 20, 2.0)
        client = AsyncWebClient(token=TOKEN, base_url=emu.api_url)
        for i in range(20):
            await client.conversations_create(name=f"inc-{i}")
        error = await slack_error(client.conversations_create(name="inc-20"))
        assert error.response.status_code == 429
        assert error.response["error"] == "ratelimited"
        retry_after = int(error.response.headers["Retry-After"])
        assert 1 <= retry_after <= 2
        assert emu.channel_by_name("inc-20") is None
        await asyncio.sleep(retry_after)
        await client.conversations_create(name="inc-20")
        assert emu.max_consecutive_429("conversations.create") == 1


async def test_post_message_is_limited_per_channel_with_a_burst_of_three() -> None:
    async with SlackEmulator(token=TOKEN, rate_limit_scale=5) as emu:
        client = AsyncWebClient(token=TOKEN, base_url=emu.api_url)
        busy, quiet = await new_channel(client, "inc-busy"), await new_channel(client, "inc-quiet")
        for i in range(3):
            await client.chat_postMessage(channel=busy, text=f"update {i}")
        error = await slack_error(client.chat_postMessage(channel=busy, text="one too many"))
        assert error.response.status_code == 429 and error.response.headers["Retry-After"] == "1"
        await client.chat_postMessage(channel=quiet, text="another channel is fine")
        await asyncio.sleep(0.6)
        await client.chat_postMessage(channel=busy, text="after the window")


# faults


async def run_with_random_faults(seed: int) -> list[int]:
    async with SlackEmulator(token=TOKEN) as emu:
        emu.faults.random_faults(rate=0.4, statuses=(500, 429, 503), seed=seed)
        client = AsyncWebClient(token=TOKEN, base_url=emu.api_url)
        for _ in range(30):
            try:
                await client.users_info(user="UALICE")
            except SlackApiError as exc:
                if exc.response.status_code == 429:
                    assert exc.response.headers["Retry-After"] == "1"
        return [c.http_status for c in emu.calls]


async def test_random_faults_are_reproducible_with_the_same_seed() -> None:
    first, again = await run_with_random_faults(7), await run_with_random_faults(7)
    other = await run_with_random_faults(8)
    assert first == again
    assert first != other
    assert 200 in first and len(set(first)) >= 3 and set(first) <= {200, 500, 429, 503}


async def test_injected_failure_changes_nothing_and_outage_lasts_until_ended(
    emu: SlackEmulator, client: AsyncWebClient
) -> None:
    emu.faults.fail_next("conversations.create", status=500)
    assert (await slack_error(client.conversations_create(name="inc-fault"))).response.status_code == 500
    assert emu.channel_by_name("inc-fault") is None
    emu.faults.fail_next(status=429)
    throttled = await slack_error(client.auth_test())
    assert (throttled.response.status_code, throttled.response.headers["Retry-After"]) == (429, "1")
    emu.faults.outage()
    for _ in range(2):
        assert (await slack_error(client.auth_test())).response.status_code == 503
    emu.faults.end_outage()
    await client.conversations_create(name="inc-fault")
    assert [c.http_status for c in emu.calls] == [500, 429, 503, 503, 200]


async def test_dropped_connection_reaches_the_client_as_a_connection_error(emu: SlackEmulator) -> None:
    bare = AsyncWebClient(token=TOKEN, base_url=emu.api_url, retry_handlers=[])
    emu.faults.drop_next("conversations.create")
    with pytest.raises(aiohttp.ClientConnectionError):
        await bare.conversations_create(name="inc-dropped")
    assert emu.channel_by_name("inc-dropped") is None

    retrying = AsyncWebClient(
        token=TOKEN, base_url=emu.api_url,
        retry_handlers=[AsyncConnectionErrorRetryHandler(interval_calculator=FixedValueRetryIntervalCalculator(0.0))],
    )
    emu.faults.drop_next("conversations.create")
    await retrying.conversations_create(name="inc-dropped")
    assert [c.http_status for c in emu.calls_to("conversations.create")] == [0, 0, 200]


async def test_delay_holds_the_answer(emu: SlackEmulator, client: AsyncWebClient) -> None:
    emu.faults.delay("auth.test", seconds=0.2, count=1)
    started = asyncio.get_running_loop().time()
    await client.auth_test()
    assert asyncio.get_running_loop().time() - started >= 0.2


# requests to the bot


@dataclass
class FakeBot:
    """A minimal app endpoint: verifies signatures with slack_sdk and keeps what it got."""

    url: str = ""
    requests: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
async def bot() -> AsyncIterator[FakeBot]:
    fake = FakeBot()
    verifier = SignatureVerifier(SECRET)

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        fake.requests.append((body, dict(request.headers)))
        return web.Response(status=200 if verifier.is_valid_request(body, dict(request.headers)) else 401)

    app = web.Application()
    app.router.add_post("/slack/events", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    fake.url = f"http://{host}:{port}/slack/events"
    yield fake
    await runner.cleanup()


async def test_slash_command_is_signed_and_stale_or_bad_signatures_are_not(emu: SlackEmulator, bot: FakeBot) -> None:
    response = await emu.slash_command(bot.url, text="declare db down", user_id="UALICE")
    assert response.status_code == 200
    fields = {k: v[0] for k, v in parse_qs(bot.requests[0][0].decode()).items()}
    assert {"command", "text", "user_id", "user_name", "channel_id", "channel_name", "team_id", "team_domain",
            "api_app_id", "response_url", "trigger_id", "token"} <= fields.keys()
    assert (fields["command"], fields["text"], fields["user_name"]) == ("/incident", "declare db down", "alice")
    for mode in ("stale", "bad", "missing"):
        assert (await emu.slash_command(bot.url, signature=mode)).status_code == 401


async def test_response_url_accepts_five_posts(emu: SlackEmulator, bot: FakeBot) -> None:
    await emu.slash_command(bot.url, text="status")
    response_url = parse_qs(bot.requests[0][0].decode())["response_url"][0]
    webhook = AsyncWebhookClient(response_url)
    statuses = [(await webhook.send(text=f"reply {i}")).status_code for i in range(6)]
    assert statuses == [200] * 5 + [404]
    assert [p["text"] for p in emu.responses(response_url)] == [f"reply {i}" for i in range(5)]
    assert len(emu.ephemerals()) == 5


async def test_events_and_interactions_are_signed_with_retry_headers(emu: SlackEmulator, bot: FakeBot) -> None:
    event = {"type": "reaction_added", "user": "UALICE", "reaction": "eyes",
             "item": {"type": "message", "channel": "C1", "ts": "1700000000.000100"}}
    assert (await emu.event(bot.url, event, event_id="Ev1")).status_code == 200
    retried = await emu.event(bot.url, event, event_id="Ev1", retry_num=1, retry_reason="http_timeout")
    assert retried.status_code == 200
    first, retry = (json.loads(body) for body, _ in bot.requests)
    assert first["event_id"] == retry["event_id"] == "Ev1"
    assert first["type"] == "event_callback" and first["event"]["reaction"] == "eyes"
    assert "X-Slack-Retry-Num" not in bot.requests[0][1]
    retry_headers = bot.requests[1][1]
    assert (retry_headers["X-Slack-Retry-Num"], retry_headers["X-Slack-Retry-Reason"]) == ("1", "http_timeout")

    response = await emu.interaction(bot.url, {"type": "block_actions", "user": {"id": "UBOB"}, "actions": []})
    assert response.status_code == 200
    payload = json.loads(parse_qs(bot.requests[2][0].decode())["payload"][0])
    assert payload["trigger_id"] and payload["response_url"].startswith(emu.url)


async def test_a_message_shortcut_is_a_signed_message_action_about_the_stored_message(
        emu: SlackEmulator, bot: FakeBot) -> None:
    general = emu.channel_by_name("general")
    assert general is not None
    message = emu.post_as_user(general.id, "UBOB", "add an alert for this")
    response = await emu.message_shortcut(bot.url, callback_id="followup_from_message", channel_id=general.id,
                                          message_ts=message.ts, user_id="UALICE")
    assert response.status_code == 200
    payload = json.loads(parse_qs(bot.requests[0][0].decode())["payload"][0])
    assert (payload["type"], payload["callback_id"], payload["message_ts"]) == \
        ("message_action", "followup_from_message", message.ts)
    assert payload["channel"] == {"id": general.id, "name": "general"} and payload["user"]["id"] == "UALICE"
    assert payload["message"]["text"] == "add an alert for this" and payload["message"]["user"] == "UBOB"
    assert payload["trigger_id"] and payload["response_url"].startswith(emu.url) and payload["team"]["id"]
    assert (await emu.message_shortcut(bot.url, callback_id="x", channel_id=general.id, message_ts=message.ts,
                                       signature="bad")).status_code == 401


async def test_a_message_to_a_user_id_lands_in_the_apps_direct_conversation(
        emu: SlackEmulator, client: AsyncWebClient) -> None:
    first = await client.chat_postMessage(channel="UBOB", text="your follow-up is due")
    second = await client.chat_postMessage(channel="UBOB", text="still due")
    assert first["channel"] == second["channel"] and str(first["channel"]).startswith("D")
    assert [m.text for m in emu.direct_messages("UBOB")] == ["your follow-up is due", "still due"]
    assert (await slack_error(client.chat_postMessage(channel="UNOBODY", text="x"))).response["error"] == \
        "channel_not_found"
    assert emu.direct_messages("UCAROL") == []
