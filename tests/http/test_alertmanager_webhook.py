"""POST /alertmanager through real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.domain.rotation import commander_at
from bot.playbook import load_playbooks
from storage.database import Database
from tests.conftest import REPO
from tests.support import rows
from tests.support.bot import WEBHOOK_TOKEN, bot_settings, running_bot
from tests.support.payloads import body, captured, group

PLAYBOOKS = REPO / "playbooks"
AUTH = {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
JSON = {**AUTH, "Content-Type": "application/json"}
OPEN_ACTIONS = ["channel.create", "channel.topic", "channel.purpose", "channel.invite", "message.header",
                "message.pin_header", "message.post", "bookmark.add", "bookmark.add"]


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[str]:
    async with running_bot(bot_settings(database_url, PLAYBOOKS)) as url:
        yield url


async def incident_queue(db: Database) -> list:  # type: ignore[type-arg]
    """The incident's main outbox queue (trace links have their own)."""
    return [o for o in await rows.outbox(db) if o.ordering_key.startswith("incident:")]


async def post(url: str, content: bytes, headers: dict[str, str] = JSON) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(f"{url}/alertmanager", content=content, headers=headers)


async def test_firing_group_opens_an_incident_with_its_alerts_events_and_outbox(bot: str, db: Database) -> None:
    response = await post(bot, captured("1-firing"))

    assert response.status_code == 200
    assert response.json() == {"outcome": "open", "incident": 1}
    [incident] = await rows.incidents(db)
    assert (incident.severity, incident.status) == ("sev1", "investigating")
    rotation = load_playbooks(PLAYBOOKS).playbooks[0].rotations["primary"]
    assert incident.commander == commander_at(rotation, incident.opened_at)  # on call when it opened
    assert incident.title == "HighErrorRate in checkout"
    assert incident.channel_name == f"inc-{incident.opened_at:%Y%m%d}-1-high-error-rate-in-checkout"
    assert incident.policy["rotation"]["users"] == ["U0000000001", "U0000000002", "U0000000003"]
    assert [(a.fingerprint, a.status) for a in await rows.alerts(db)] == [
        ("9b722ba78b610960", "firing"), ("fb1484307a3e8865", "firing")]
    assert await rows.event_kinds(db, 1) == ["incident.opened", "commander.assigned", "alert.fired", "alert.fired"]
    assert [(o.kind, o.state) for o in await incident_queue(db)] == [(kind, "pending") for kind in OPEN_ACTIONS]
    [traces] = [o for o in await rows.outbox(db) if o.ordering_key == "traces:1"]  # its own queue: never blocks
    assert traces.kind == "message.trace_links" and len(traces.payload["alerts"]) == 2
    [delivery] = await rows.deliveries(db)
    assert delivery.outcome == "open" and json.loads(delivery.body)["groupKey"].startswith("{}/{team=")


async def test_same_delivery_twice_opens_one_incident(bot: str, db: Database) -> None:
    first = await post(bot, captured("1-firing"))
    second = await post(bot, captured("1-firing"))

    assert first.json()["outcome"] == "open"
    assert second.json() == {"outcome": "duplicate", "incident": 1}
    assert len(await rows.incidents(db)) == 1
    assert len(await rows.alerts(db)) == 2
    assert len(await incident_queue(db)) == len(OPEN_ACTIONS)
    assert [d.outcome for d in await rows.deliveries(db)] == ["open", "duplicate"]


async def test_resolved_notifications_resolve_alerts_and_flag_the_incident_without_closing_it(bot: str, db: Database) -> None:
    # The real captured sequence: Alertmanager moved the resolved alerts' startsAt earlier.
    for name in ("1-firing", "2-one-resolved", "3-all-resolved"):
        assert (await post(bot, captured(name))).status_code == 200

    assert sorted(a.status for a in await rows.alerts(db)) == ["resolved", "resolved"]
    [incident] = await rows.incidents(db)
    assert incident.status == "investigating"  # never auto-closed by a resolved notification
    assert incident.all_alerts_resolved_at is not None
    kinds = await rows.event_kinds(db, 1)
    assert kinds[-3:] == ["alert.resolved", "alert.resolved", "alerts.all_resolved"]
    changes = ["message.post", "message.update_header"]
    assert [o.kind for o in await incident_queue(db)] == [*OPEN_ACTIONS, *changes, *changes]
    assert (await incident_queue(db))[-2].payload["text"].startswith(":white_check_mark: 1 resolved: HighErrorRate")


async def test_more_severe_alert_joining_raises_severity_and_it_never_drops(bot: str, db: Database) -> None:
    await post(bot, body(group(severity="page", alerts=1)))  # sev1 by the default playbook
    incident_id = (await rows.incidents(db))[0].id
    warning = group(severity="critical", alerts=3)
    warning["alerts"] = warning["alerts"][1:]
    for alert in warning["alerts"]:
        alert["labels"]["severity"] = "warning"
    response = await post(bot, body(warning))

    assert response.json() == {"outcome": "join", "incident": incident_id}
    assert (await rows.incidents(db))[0].severity == "sev1"
    assert "severity.changed" not in await rows.event_kinds(db, incident_id)


async def test_a_new_alert_joining_asks_for_its_trace_links_on_their_own_queue(bot: str, db: Database) -> None:
    await post(bot, captured("1-firing"))
    payload = json.loads(captured("1-firing"))
    joining = {**payload["alerts"][0], "fingerprint": "00000000000000a1",
               "labels": {**payload["alerts"][0]["labels"], "instance": "10.0.0.99:8080"}}
    payload["alerts"].append(joining)
    response = await post(bot, json.dumps(payload).encode())

    assert response.json() == {"outcome": "join", "incident": 1}
    opening, joined = [o for o in await rows.outbox(db) if o.ordering_key == "traces:1"]
    assert [a["labels"]["instance"] for a in joined.payload["alerts"]] == ["10.0.0.99:8080"]
    assert joined.kind == "message.trace_links" and joined.id > opening.id
    # The channel's own queue goes on after the opening: the header lists the new alert.
    channel = [o.kind for o in await incident_queue(db)]
    assert channel[:len(OPEN_ACTIONS)] == OPEN_ACTIONS and "message.update_header" in channel[len(OPEN_ACTIONS):]


async def test_group_without_auto_declare_is_recorded_only(bot: str, db: Database) -> None:
    response = await post(bot, body(group(alertname="DiskFilling", severity="warning")))

    assert response.json() == {"outcome": "record", "incident": None}
    assert await rows.incidents(db) == []
    assert len(await rows.alerts(db)) == 2
    assert [g.route for g in await rows.groups(db)] == ["default/catch-all"]


async def test_ten_thousand_alert_payload_is_accepted(bot: str, db: Database) -> None:
    response = await post(bot, body(group(alerts=10_000)))

    assert response.status_code == 200 and response.json()["outcome"] == "open"
    assert (await rows.count_rows(db))["alerts"] == 10_000


async def test_concurrent_deliveries_of_one_group_from_two_bots_make_one_incident(database_url: str, db: Database) -> None:
    """Two bot instances (two engines, like two replicas) on one database, 2 x 50 deliveries."""
    settings = bot_settings(database_url, PLAYBOOKS)
    payloads = [body(group(alerts=3))] * 50
    async with running_bot(settings) as one, running_bot(settings) as two:
        async def client(url: str) -> list[int]:
            async with httpx.AsyncClient(timeout=60) as http:
                responses = await asyncio.gather(*(
                    http.post(f"{url}/alertmanager", content=p, headers=JSON) for p in payloads))
            return [r.status_code for r in responses]

        statuses = await asyncio.gather(client(one), client(two))

    assert all(code == 200 for codes in statuses for code in codes)
    assert len(await rows.incidents(db)) == 1
    assert len(await rows.alerts(db)) == 3
    assert [d.outcome for d in await rows.deliveries(db)].count("open") == 1
    assert len(await rows.deliveries(db)) == 100


BAD_REQUESTS = [
    ("no auth", {"Content-Type": "application/json"}, captured("1-firing"), 401, "missing Authorization header"),
    ("wrong token", {"Authorization": "Bearer nope", "Content-Type": "application/json"}, captured("1-firing"),
     401, "invalid bearer token"),
    ("wrong content type", {**AUTH, "Content-Type": "text/plain"}, captured("1-firing"), 415,
     "Content-Type must be application/json, got text/plain"),
    ("not json", JSON, b"{oops", 400, "body is not valid JSON"),
    ("not an object", JSON, b"[]", 400, "body must be a JSON object"),
    ("wrong version", JSON, body({**json.loads(captured("1-firing")), "version": "3"}), 422, 'version: must be "4"'),
    ("no alerts", JSON, body({k: v for k, v in json.loads(captured("1-firing")).items() if k != "alerts"}), 422,
     "alerts: is required"),
    ("alert without fingerprint", JSON, captured("1-firing").replace(b'"fingerprint": "fb1484307a3e8865"', b'"x": 1'),
     422, "alerts[1].fingerprint: is required"),
    ("unparsable startsAt", JSON, captured("1-firing").replace(b'"startsAt": "2026-11-22T22:57:48.907557036Z"',
                                                             b'"startsAt": "soon"', 1), 422, "alerts[0].startsAt:"),
]


@pytest.mark.parametrize(("case", "headers", "content", "status", "error"), BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
async def test_bad_request_is_refused_with_a_clear_error_and_stores_nothing(
        bot: str, db: Database, case: str, headers: dict[str, str], content: bytes, status: int, error: str) -> None:
    response = await post(bot, content, headers)

    assert response.status_code == status
    assert response.json()["error"].startswith(error)
    assert rows.nothing_stored(await rows.count_rows(db))
    # The server keeps serving.
    assert (await post(bot, captured("1-firing"))).status_code == 200


async def test_body_over_the_size_limit_is_refused_with_413(database_url: str, db: Database) -> None:
    async with running_bot(bot_settings(database_url, PLAYBOOKS, webhook_max_bytes=2048)) as url:
        big = body(group(alerts=50))
        response = await post(url, big)
        async with httpx.AsyncClient() as client:  # chunked: no Content-Length to check up front
            async def chunks() -> AsyncIterator[bytes]:
                yield big
            streamed = await client.post(f"{url}/alertmanager", content=chunks(), headers=JSON)

    assert response.status_code == 413
    assert response.json()["error"] == f"body is {len(big)} bytes, the limit is 2048"
    assert streamed.status_code == 413 and "2048" in streamed.json()["error"]
    assert rows.nothing_stored(await rows.count_rows(db))


async def test_basic_auth_with_wrong_password_is_refused(database_url: str, db: Database) -> None:
    settings = bot_settings(database_url, PLAYBOOKS, alertmanager_webhook_token=None,
                            alertmanager_webhook_user="am", alertmanager_webhook_password="s3cret-pass")

    def basic(password: str) -> dict[str, str]:
        token = base64.b64encode(f"am:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}

    async with running_bot(settings) as url:
        wrong = await post(url, captured("1-firing"), basic("guess"))
        right = await post(url, captured("1-firing"), basic("s3cret-pass"))

    assert wrong.status_code == 401 and wrong.json() == {"error": "invalid basic-auth credentials"}
    assert right.status_code == 200


async def test_without_configured_credentials_every_request_is_refused_and_the_log_says_why(
        database_url: str, db: Database, caplog: pytest.LogCaptureFixture) -> None:
    settings = bot_settings(database_url, PLAYBOOKS, alertmanager_webhook_token=None)
    async with running_bot(settings) as url:
        response = await post(url, captured("1-firing"))

    assert response.status_code == 401
    assert response.json() == {"error": "webhook authentication is not configured on the bot"}
    assert "set ALERTMANAGER_WEBHOOK_TOKEN" in caplog.text
    assert rows.nothing_stored(await rows.count_rows(db))


async def test_storm_of_groups_opens_at_most_the_limit_plus_one_storm_incident(bot: str, db: Database) -> None:
    """The shipped playbook allows 5 incidents per 10 minutes per cluster on the critical route."""
    groups = [body(group(alertname=f"Storm{i}", alerts=3, extra_labels={"cluster": "eu1"})) for i in range(30)]
    async with httpx.AsyncClient(timeout=60) as client:
        responses = await asyncio.gather(*(
            client.post(f"{bot}/alertmanager", content=g, headers=JSON) for g in groups))

    assert all(r.status_code == 200 for r in responses)
    incidents = await rows.incidents(db)
    assert sorted(i.source for i in incidents) == ["alertmanager"] * 5 + ["storm"]
    storm = next(i for i in incidents if i.source == "storm")
    assert storm.title == "Alert storm on critical (cluster=eu1)"
    assert sum(1 for g in await rows.groups(db) if g.incident_id == storm.id) == 25
    assert len(await rows.alerts(db)) == 90  # every alert recorded
    assert (await rows.event_kinds(db, storm.id)).count("storm.group_joined") == 25
