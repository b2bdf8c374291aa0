"""The web workspace in a real browser (Debian's Chromium, driven by Playwright), against the
real bot and the strict Slack emulator: sign in on the emulator's Slack page, watch a note
typed in Slack appear on the open incident page, mark a key moment, edit and publish the
postmortem, close a follow-up. Each page is saved as a screenshot in the test's directory."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.http.test_incident_api import HOOK
from tests.slack_emulator import SlackEmulator
from tests.support.bot import free_port, running_bot
from tests.support.payloads import body, group
from tests.support.slack import eventually
from tests.web.test_signin import workspace_settings

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page

pytest_plugins = ["tests.support.browser"]
pytestmark = pytest.mark.integration


@dataclass
class Live:
    url: str
    slack: SlackEmulator
    shots: Path

    async def shot(self, page: Page, name: str) -> None:
        await page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}"


@pytest.fixture
async def live(database_url: str, slack: SlackEmulator, tmp_path: Path) -> AsyncIterator[Live]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    slack.register_oidc_client(redirect_urls=(f"{url}/ui/auth/callback",))
    shots = tmp_path / "screenshots"
    shots.mkdir()
    async with running_bot(workspace_settings(database_url, slack, url), port=port):
        async with httpx.AsyncClient() as client:
            payload = group("CheckoutErrors", service="checkout", alerts=2,
                            extra_labels={"note": "<script>alert(1)</script><img src=x onerror=alert(2)>"})
            answer = await client.post(f"{url}/alertmanager", headers=HOOK, content=body(payload))
            assert answer.status_code == 200, answer.text
        await eventually(lambda: _channel(slack) is not None, what="the incident channel")
        yield Live(url, slack, shots)


def _channel(slack: SlackEmulator) -> str | None:
    found = [c for c in slack.workspace.channels.values() if c.name.startswith("inc-")]
    return found[0].id if found else None


async def sign_in(page: Page, live: Live, user: str = "UALICE") -> None:
    await page.goto(f"{live.url}/ui/")
    assert page.url.startswith(live.slack.oidc_authorize_url)  # sent to Slack to sign in
    await live.shot(page, "0-slack-sign-in")
    await page.click(f"#sign-in-{user}")
    await page.wait_for_url(f"{live.url}/ui/")


async def test_sign_in_and_the_incidents_list(live: Live, browser_context: BrowserContext) -> None:
    page = await browser_context.new_page()
    alerts: list[str] = []
    page.on("dialog", lambda dialog: alerts.append(dialog.message))
    await sign_in(page, live)
    await page.get_by_role("heading", name="Incidents").wait_for()
    row = page.get_by_role("row").filter(has_text="CheckoutErrors")
    await row.wait_for()
    assert "SEV1" in await row.inner_text()
    # Times in UTC, and in the viewer's own zone (the context runs in Europe/Berlin).
    assert re.search(r"UTC \(.*(CET|CEST|GMT\+1|GMT\+2)\)", await row.inner_text())
    await live.shot(page, "1-incidents")
    await page.set_viewport_size({"width": 390, "height": 844})
    await live.shot(page, "1-incidents-phone")
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.get_by_role("link", name="Insights").click()
    await page.get_by_role("heading", name="Insights").wait_for()
    await live.shot(page, "6-insights")
    # The keyboard reaches the content first: the skip link, then the navigation.
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert alerts == []
