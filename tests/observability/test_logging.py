"""No secret reaches a log line, at any level, in either format."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from bot.observability.logs import REDACTED, SecretScrubber, configure_logging
from tests.support.cli import cli_env, serving
from tests.support.payloads import captured

SECRETS = {
    "ALERTMANAGER_WEBHOOK_TOKEN": "whk-tok-QmV7x2Lr9",
    "ALERTMANAGER_WEBHOOK_PASSWORD": "am-pass-Zt4kW8nB",
    "API_TOKEN": "api-tok-Hn3cY6pD",
    "SLACK_BOT_TOKEN": "xoxb-1111-2222-Ud9sF0gE",
    "SLACK_SIGNING_SECRET": "sig-sec-Rb5mJ1qA",
}
WEBHOOK_USER = "alertmanager"
WRONG_TOKEN = "guessed-tok-Xe2wP7"
WRONG_PASSWORD = "guessed-pass-Lk8vT3"


def basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_serve_at_debug_level_never_logs_a_secret_or_a_credential(tmp_path: Path, log_format: str) -> None:
    env = cli_env(tmp_path, LOG_LEVEL="DEBUG", LOG_FORMAT=log_format, ALERTMANAGER_WEBHOOK_USER=WEBHOOK_USER,
                  **SECRETS)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    json_body = {"Content-Type": "application/json"}
    requests = [
        {"Authorization": f"Bearer {SECRETS['ALERTMANAGER_WEBHOOK_TOKEN']}", **json_body},
        {"Authorization": f"Bearer {WRONG_TOKEN}", **json_body},
        {"Authorization": f"Basic {basic(WEBHOOK_USER, SECRETS['ALERTMANAGER_WEBHOOK_PASSWORD'])}", **json_body},
        {"Authorization": f"Basic {basic(WEBHOOK_USER, WRONG_PASSWORD)}", **json_body},
    ]

    with serving(env, cwd) as served:
        with httpx.Client(timeout=10) as client:
            statuses = [client.post(f"{served.url}/alertmanager", content=captured("1-firing"), headers=headers)
                        .status_code for headers in requests]
        assert served.stop() == 0, served.stderr

    assert statuses == [200, 401, 200, 401]
    output = served.stdout + served.stderr
    # The requests were logged (so the assertions below looked at real lines)...
    assert "webhook stored" in output and "webhook refused" in output
    assert "debug" in output.lower()
    # ...and no credential, configured or guessed, appears in any of them.
    leaked = {name: value for name, value in {
        **SECRETS,
        "wrong bearer token": WRONG_TOKEN,
        "wrong basic password": WRONG_PASSWORD,
        "basic credentials (base64)": basic(WEBHOOK_USER, SECRETS["ALERTMANAGER_WEBHOOK_PASSWORD"]),
        "wrong basic credentials (base64)": basic(WEBHOOK_USER, WRONG_PASSWORD),
    }.items() if value in output}
    assert leaked == {}, output


# --- the scrubber itself ---------------------------------------------------------------

SECRET = "s3cr3t-value-Jq8"


def scrub(**event: Any) -> dict[str, Any]:
    return dict(SecretScrubber([SECRET])(None, "info", event))


def test_scrubber_redacts_a_secret_inside_a_longer_string() -> None:
    cleaned = scrub(event=f"connecting with {SECRET}!", detail=f"url=https://x.example/?t={SECRET}&a=1")

    assert cleaned == {"event": f"connecting with {REDACTED}!", "detail": f"url=https://x.example/?t={REDACTED}&a=1"}


def test_scrubber_redacts_secrets_nested_in_dicts_lists_and_tuples() -> None:
    cleaned = scrub(event="x", request={"headers": [f"X-Thing: {SECRET}"], "query": {"q": (SECRET, "ok")}})

    assert cleaned["request"] == {"headers": [f"X-Thing: {REDACTED}"], "query": {"q": [REDACTED, "ok"]}}


def test_scrubber_redacts_values_of_secret_looking_keys_whatever_their_value() -> None:
    cleaned = scrub(event="x", Authorization="Basic Zm9vOmJhcg==", password="hunter2",
                    headers={"Cookie": "session=1", "Accept": "*/*"},
                    slack_bot_token="xoxb-unknown", client_secret=12345)

    assert cleaned["Authorization"] == REDACTED
    assert cleaned["password"] == REDACTED
    assert cleaned["headers"] == {"Cookie": REDACTED, "Accept": "*/*"}
    assert cleaned["slack_bot_token"] == REDACTED
    assert cleaned["client_secret"] == REDACTED


def test_scrubber_keeps_lines_without_secrets_unchanged() -> None:
    event = {"event": "webhook stored", "outcome": "open", "incident_id": 1, "alerts": 2, "labels": {"a": "b"}}

    assert scrub(**event) == event


def test_scrubber_accepts_non_string_keys_in_nested_values() -> None:
    # e.g. counts by incident id; a crash here would lose the whole log line.
    cleaned = scrub(event="x", counts={1: SECRET, 2: "ok"})

    assert cleaned["counts"] == {1: REDACTED, 2: "ok"}


def test_scrubber_replaces_longer_secrets_before_shorter_ones_they_contain() -> None:
    cleaned = dict(SecretScrubber(["abcd", "abcd-efgh"])(None, "info", {"event": "abcd-efgh and abcd"}))

    assert cleaned["event"] == f"{REDACTED} and {REDACTED}"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**config)


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_configured_pipeline_scrubs_stdlib_records_and_tracebacks(
        restore_logging: None, capsys: pytest.CaptureFixture[str], log_format: str) -> None:
    configure_logging("DEBUG", log_format, secrets=[SECRET])

    logging.getLogger("aiohttp.server").debug("header was %s", SECRET)
    try:
        raise RuntimeError(f"connect failed for postgresql://bot:{SECRET}@db/x")
    except RuntimeError:
        structlog.get_logger("bot.test").exception("unhandled error", token=SECRET)

    err = capsys.readouterr().err
    assert "header was" in err and "connect failed" in err and "RuntimeError" in err
    assert SECRET not in err


def test_a_line_with_non_string_keys_is_logged_scrubbed_not_dumped_raw_by_the_logging_error_handler(
        restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json", secrets=[SECRET])

    structlog.get_logger("bot.test").info("open incidents", by_id={1: f"token {SECRET}"})

    err = capsys.readouterr().err
    assert "open incidents" in err
    assert "Logging error" not in err
    assert SECRET not in err


def test_scrubber_redacts_secrets_in_bytes_and_objects_rendered_by_repr() -> None:
    cleaned = scrub(event="x", body=f'{{"token": "{SECRET}"}}'.encode(), error=ValueError(f"bad dsn {SECRET}"),
                    attempts=3, ratio=0.5, ok=True, missing=None)

    assert SECRET not in repr(cleaned)
    assert "bad dsn" in cleaned["error"]
    assert (cleaned["attempts"], cleaned["ratio"], cleaned["ok"], cleaned["missing"]) == (3, 0.5, True, None)


# --- everything at DEBUG, the bot's own loggers and the libraries' ---------------------

THIRD_PARTY = ("aiohttp", "aiohttp.access", "aiohttp.client", "aiohttp.server", "aiohttp.web", "asyncio",
               "sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "aiosqlite", "asyncpg", "alembic",
               "alembic.runtime.migration", "slack_sdk", "slack_bolt", "httpx", "httpcore", "apscheduler")
APP_TOKEN = "xapp-1-A0LOGS-app-tok-Vq2mS8"
DB_PASSWORD = "db-pass-Wd7hN4cR"


@pytest.fixture
def everything_at_debug(restore_logging: None) -> Iterator[None]:
    levels = {name: logging.getLogger(name).level for name in THIRD_PARTY}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_no_secret_in_any_line_at_debug_from_start_to_stop_including_library_loggers(
        everything_at_debug: None, capfd: pytest.CaptureFixture[str], database_url: str) -> None:
    from sqlalchemy.engine import make_url

    from storage.database import Database
    from tests.slack_emulator import SlackEmulator
    from tests.support import rows
    from tests.support.bot import running_bot
    from tests.support.slack import RATE_SCALE, SIGNING_SECRET, SLACK_TOKEN, USERS, eventually, slack_settings

    with_password = make_url(database_url).set(password=DB_PASSWORD).render_as_string(hide_password=False)
    async with SlackEmulator(token=SLACK_TOKEN, signing_secret=SIGNING_SECRET, users=USERS,
                             rate_limit_scale=RATE_SCALE, app_token=APP_TOKEN) as slack:
        slack.seed_channel("incidents", members=["UALICE"])
        settings = slack_settings(with_password, slack, slack_app_token=APP_TOKEN,
                                  alertmanager_webhook_user=WEBHOOK_USER,
                                  alertmanager_webhook_password=SECRETS["ALERTMANAGER_WEBHOOK_PASSWORD"],
                                  alertmanager_webhook_token=SECRETS["ALERTMANAGER_WEBHOOK_TOKEN"],
                                  api_token=SECRETS["API_TOKEN"])
        configure_logging("DEBUG", "json", settings.secret_values())
        for name in THIRD_PARTY:
            logging.getLogger(name).setLevel(logging.DEBUG)
        slack.faults.fail_next("chat.postMessage", status=500)  # a Slack failure the outbox retries
        json_body = {"Content-Type": "application/json"}

        async with running_bot(settings) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            statuses = [(await client.post("/alertmanager", content=captured("1-firing"), headers={
                "Authorization": authorization, **json_body})).status_code for authorization in (
                f"Bearer {SECRETS['ALERTMANAGER_WEBHOOK_TOKEN']}", f"Bearer {WRONG_TOKEN}",
                f"Basic {basic(WEBHOOK_USER, SECRETS['ALERTMANAGER_WEBHOOK_PASSWORD'])}",
                f"Basic {basic(WEBHOOK_USER, WRONG_PASSWORD)}")]
            statuses += [(await client.get("/incidents", headers={"Authorization": authorization})).status_code
                         for authorization in (f"Bearer {SECRETS['API_TOKEN']}", f"Bearer {WRONG_TOKEN}")]
            db = Database(with_password)
            try:
                async def delivered() -> bool:
                    return all(o.state != "pending" for o in await rows.outbox(db))
                await eventually(delivered, what="outbox delivered")
            finally:
                await db.dispose()
            help_over_http = await slack.slash_command(f"{url}/slack/events", text="help", user_id="UBOB")
            help_over_socket = await slack.socket_slash_command(text="help", user_id="UBOB")

    captured_output = capfd.readouterr()
    output = captured_output.out + captured_output.err
    assert statuses == [200, 401, 200, 401, 200, 401]
    assert help_over_http.status_code == 200 and "declare" in help_over_socket["payload"]["text"]
    assert next(c.http_status for c in slack.calls_to("chat.postMessage")) == 500  # the failure happened
    # Lines from the bot and from each library were really written at DEBUG...
    for logger in ('"bot.', '"slack_sdk.', '"slack_bolt', '"sqlalchemy.engine', '"sqlalchemy.pool', '"httpx'):
        assert f'"logger": {logger}' in output, f"no line from {logger}"
    assert '"level": "debug"' in output
    # ...and none of them holds a secret, a guessed credential or the database password.
    leaked = {name: value for name, value in {
        **SECRETS, "SLACK_BOT_TOKEN (emulator)": SLACK_TOKEN, "SLACK_SIGNING_SECRET (emulator)": SIGNING_SECRET,
        "SLACK_APP_TOKEN": APP_TOKEN, "database password": DB_PASSWORD,
        "wrong bearer token": WRONG_TOKEN, "wrong basic password": WRONG_PASSWORD,
        "basic credentials (base64)": basic(WEBHOOK_USER, SECRETS["ALERTMANAGER_WEBHOOK_PASSWORD"]),
    }.items() if value in output}
    assert leaked == {}, [line for line in output.splitlines() if any(v in line for v in leaked.values())][:5]


def test_the_database_password_is_scrubbed_like_the_other_secrets(
        restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.settings import Settings

    settings = Settings(database_url=f"postgresql+asyncpg://bot:{DB_PASSWORD}%21@db.internal:5432/incidents")
    configure_logging("DEBUG", "json", settings.secret_values())

    # What a driver's connection error could carry: the URL as configured, or its password decoded.
    logging.getLogger("asyncpg").error("cannot connect to %s", settings.database_url)
    structlog.get_logger("bot.test").warning("connect failed", detail=f"for {DB_PASSWORD}!")

    err = capsys.readouterr().err
    assert "cannot connect to postgresql+asyncpg://bot:" in err and "connect failed" in err
    assert DB_PASSWORD not in err
