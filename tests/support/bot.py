"""Run the real bot application on a loopback port inside the test's event loop."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.clock import Clock, utcnow
from bot.playbook import PlaybookSet, load_playbooks
from bot.runtime.app import create_app
from bot.settings import Settings

WEBHOOK_TOKEN = "test-webhook-token-5f1c"
API_TOKEN = "test-api-token-9a7e"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_settings(database_url: str, playbooks_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url, "playbooks_dir": playbooks_dir,
        "alertmanager_webhook_token": WEBHOOK_TOKEN, "api_token": API_TOKEN,
        "log_format": "console", **overrides,
    }
    return Settings(**values)


@asynccontextmanager
async def running_bot(settings: Settings, *, playbooks: PlaybookSet | None = None,
                      clock: Clock = utcnow, port: int | None = None) -> AsyncIterator[str]:
    """Start the bot on 127.0.0.1:<port, or a free one>; yields its base URL."""
    app = create_app(settings, playbooks=playbooks or load_playbooks(settings.playbooks_dir), clock=clock)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = port or free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
