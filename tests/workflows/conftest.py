"""Fixtures for the workflow tests: the strict fakes, running, and the environment naming their secrets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.workflows.support import Peers, running_peers


@pytest.fixture
async def peers(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Peers]:
    async with running_peers() as running:
        for name, value in running.environment().items():
            monkeypatch.setenv(name, value)
        yield running
