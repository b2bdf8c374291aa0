"""Slack test fixtures (registered for every test in tests/conftest.py): the strict emulator and a bot wired to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES
from tests.slack_emulator import SlackEmulator
from tests.support.bot import bot_settings, running_bot

SLACK_PLAYBOOKS = FIXTURES / "playbooks" / "slack"
SLACK_TOKEN = "xoxb-e2e-token-3c9d"
SIGNING_SECRET = "e2e-signing-secret-77f1"
USERS = {"UALICE": "alice", "UBOB": "bob", "UCAROL": "carol", "UDAVE": "dave"}
# Compress Slack's minute-long rate-limit windows twenty times, in the emulator and the bot alike.
RATE_SCALE = 20.0


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(token=SLACK_TOKEN, signing_secret=SIGNING_SECRET, users=USERS,
                             rate_limit_scale=RATE_SCALE) as emulator:
        emulator.seed_channel("alerts-triage", members=["UALICE"])
        emulator.seed_channel("incidents", members=["UALICE"])
        yield emulator


def slack_settings(database_url: str, slack: SlackEmulator, playbooks: Path = SLACK_PLAYBOOKS, **extra: Any) -> Any:
    return bot_settings(database_url, playbooks, slack_bot_token=SLACK_TOKEN, slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=slack.api_url, slack_rate_limit_scale=RATE_SCALE, **extra)


@pytest.fixture
async def slack_bot(database_url: str, slack: SlackEmulator) -> AsyncIterator[str]:
    async with running_bot(slack_settings(database_url, slack)) as url:
        yield url


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        await asyncio.sleep(0.05)
