"""OUTBOX_CONCURRENCY is an operator's knob (README): its default rose from 8 to 16 with issue 18,
and a value from the environment still sets how many incidents the outbox delivers at once."""

from __future__ import annotations

import pytest

from bot.settings import Settings


def test_outbox_concurrency_defaults_to_sixteen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OUTBOX_CONCURRENCY", raising=False)
    assert Settings().outbox_concurrency == 16


def test_outbox_concurrency_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTBOX_CONCURRENCY", "3")
    assert Settings().outbox_concurrency == 3
