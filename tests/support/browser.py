"""Debian's Chromium driven by Playwright, for the web workspace's browser tests.

Playwright's own browser downloads are not used: the system's ``chromium`` is the browser
(installed by ``.ci/run``). Without it the tests skip, or fail under REQUIRE_INTEGRATION=1.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.integration import unavailable

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext

CHROMIUM_NAMES = ("chromium", "chromium-browser")


def chromium_path() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture
async def browser_context(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (no cookies), in UTC+1 so the page's own-zone times show."""
    executable = chromium_path()
    if executable is None:
        unavailable("Chromium is not installed (Debian packages chromium, chromium-driver)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[dev]')")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        context = await browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Europe/Berlin",
                                            locale="en-GB")
        try:
            yield context
        finally:
            await context.close()
            await browser.close()
