"""Credentials: compared in constant time, refused with 401 without saying which part was
wrong, and required on every read endpoint of the incident API."""

from __future__ import annotations

import base64
import hmac
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from bot.http import auth
from bot.http.auth import WebhookAuth, api_token_ok
from storage.database import Database
from tests.conftest import REPO
from tests.support import rows
from tests.support.bot import API_TOKEN, WEBHOOK_TOKEN, bot_settings, running_bot
from tests.support.payloads import captured

USER, PASSWORD = "alertmanager", "am-pass-4Kd9"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, bytes]]:
    """Every (presented, expected) pair the auth module compared, through the real compare_digest."""
    seen: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(presented: bytes, expected: bytes) -> bool:
        seen.append((presented, expected))
        return real(presented, expected)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    return seen


@pytest.mark.parametrize("presented", [WEBHOOK_TOKEN, "guess", WEBHOOK_TOKEN[:-1], WEBHOOK_TOKEN + "x", ""])
def test_bearer_token_is_compared_with_compare_digest(comparisons: list[tuple[bytes, bytes]], presented: str) -> None:
    problem = WebhookAuth(token=SecretStr(WEBHOOK_TOKEN)).check(f"Bearer {presented}")

    assert comparisons == [(presented.encode(), WEBHOOK_TOKEN.encode())]
    assert problem is None if presented == WEBHOOK_TOKEN else problem == "invalid bearer token"


@pytest.mark.parametrize(("user", "password"), [(USER, PASSWORD), ("bob", PASSWORD), (USER, "guess"), ("", "")])
def test_basic_auth_compares_user_and_password_both_with_compare_digest_even_when_the_user_is_wrong(
        comparisons: list[tuple[bytes, bytes]], user: str, password: str) -> None:
    problem = WebhookAuth(user=USER, password=SecretStr(PASSWORD)).check(basic(user, password))

    assert comparisons == [(user.encode(), USER.encode()), (password.encode(), PASSWORD.encode())]
    assert problem is None if (user, password) == (USER, PASSWORD) else problem == "invalid basic-auth credentials"


def test_api_token_is_compared_with_compare_digest(comparisons: list[tuple[bytes, bytes]]) -> None:
    assert not api_token_ok(SecretStr(API_TOKEN), "Bearer guess")
    assert api_token_ok(SecretStr(API_TOKEN), f"Bearer {API_TOKEN}")

    assert comparisons == [(b"guess", API_TOKEN.encode()), (API_TOKEN.encode(), API_TOKEN.encode())]


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = bot_settings(database_url, REPO / "playbooks", alertmanager_webhook_user=USER,
                            alertmanager_webhook_password=PASSWORD)
    async with running_bot(settings) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_wrong_webhook_credentials_get_401_that_does_not_say_which_part_was_wrong(
        bot: httpx.AsyncClient, db: Database) -> None:
    async def refusal(authorization: str) -> tuple[int, dict[str, str]]:
        response = await bot.post("/alertmanager", content=captured("1-firing"),
                                  headers={"Authorization": authorization, "Content-Type": "application/json"})
        return response.status_code, response.json()

    wrong_user, wrong_password = await refusal(basic("bob", PASSWORD)), await refusal(basic(USER, "guess"))
    both_wrong, not_base64 = await refusal(basic("bob", "guess")), await refusal("Basic %%%")
    wrong_token = await refusal("Bearer guess")

    assert wrong_user == wrong_password == both_wrong == not_base64
    assert wrong_user == (401, {"error": "invalid basic-auth credentials"})
    assert wrong_token == (401, {"error": "invalid bearer token"})
    assert rows.nothing_stored(await rows.count_rows(db))


READ_ENDPOINTS = ["/incidents", "/incidents/1", "/incidents/1/postmortem.md"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_every_read_endpoint_needs_the_api_token(bot: httpx.AsyncClient) -> None:
    hook = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
    assert (await bot.post("/alertmanager", content=captured("1-firing"), headers=hook)).status_code == 200
    refused = {}
    for path in READ_ENDPOINTS:
        for presented in ({}, {"Authorization": "Bearer guess"}, {"Authorization": f"Bearer {WEBHOOK_TOKEN}"},
                          {"Authorization": basic(USER, PASSWORD)}, {"Authorization": API_TOKEN}):
            response = await bot.get(path, headers=presented)
            refused[(path, str(presented))] = (response.status_code, response.json())
        allowed = await bot.get(path, headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert allowed.status_code == 200, (path, allowed.text)

    assert len(refused) == 15
    assert all(answer == (401, {"error": "missing or invalid bearer token"}) for answer in refused.values()), refused
