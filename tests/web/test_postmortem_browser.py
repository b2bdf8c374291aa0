"""The postmortem editor and the follow-ups board in a real browser (Debian's Chromium, driven
by Playwright) under the workspace's Content-Security-Policy: the preview follows typing
without a reload, markup typed there stays text, a version is saved, a follow-up closed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

# database_url and live: that module's fixtures (one SQLite file; the bot with an incident open)
from tests.support.slack import eventually
from tests.web.test_browser import Live, _channel, database_url, live, sign_in  # noqa: F401

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, ConsoleMessage

pytest_plugins = ["tests.support.browser"]
pytestmark = pytest.mark.integration

RESPONDER = "UDAVE"  # a responder of the critical route: may change the postmortem and close follow-ups


async def test_the_preview_follows_typing_and_a_version_is_saved(live: Live,  # noqa: F811
                                                                 browser_context: BrowserContext) -> None:
    page = await browser_context.new_page()
    problems: list[str] = []
    page.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and not str(message.location.get("url", "")).endswith("/favicon.ico"):
            problems.append(f"{message.text} ({message.location.get('url')})")
    page.on("console", console)
    await sign_in(page, live, RESPONDER)
    await page.goto(f"{live.url}/ui/incidents/1/postmortem")
    impact = page.get_by_label("Impact", exact=True)
    await impact.fill("\n**Nobody could pay** for 12 minutes. <script>alert(3)</script> <img src=x onerror=alert(4)>\n\n")
    preview = page.locator("#pm-preview")
    await preview.locator("strong", has_text="Nobody could pay").wait_for()
    assert "<script>alert(3)</script>" in await preview.inner_text()  # shown as the text it is
    assert await preview.locator("script, img").count() == 0
    assert page.url == f"{live.url}/ui/incidents/1/postmortem"  # no reload: the script asked for the preview
    await live.shot(page, "2-postmortem-editor")

    await page.get_by_role("button", name="Save version").click()
    await page.get_by_text("Saved version 1 of the postmortem.").wait_for()
    assert "latest" in await page.get_by_role("row").filter(has_text="dave").inner_text()
    assert "Nobody could pay" in await page.get_by_label("Impact", exact=True).input_value()

    channel = _channel(live.slack)
    assert channel is not None
    answer = await live.slack.slash_command(f"{live.url}/slack/events", text="followup add a cache alert <@UDAVE>",
                                            user_id=RESPONDER, channel_id=channel)
    assert answer.status_code == 200
    await page.goto(f"{live.url}/ui/followups?owner=mine")
    row = page.get_by_role("row").filter(has_text="add a cache alert")
    await row.wait_for()
    await live.shot(page, "3-followups-board")
    await page.set_viewport_size({"width": 390, "height": 844})
    await live.shot(page, "3-followups-board-phone")
    await row.get_by_role("button", name="Done").click()
    await page.get_by_text("Follow-up 1 is done.").wait_for()

    # Resolved in Slack, published from the page: the canvas carries the saved version.
    answer = await live.slack.slash_command(f"{live.url}/slack/events", text="resolve rolled back",
                                            user_id=RESPONDER, channel_id=channel)
    assert answer.status_code == 200
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.goto(f"{live.url}/ui/incidents/1/postmortem")
    await page.get_by_role("button", name="Publish").click()
    await page.get_by_role("status").filter(has_text="publish").wait_for()
    await live.shot(page, "5-postmortem-published")

    def published() -> bool:
        return any("Nobody could pay" in str(c.get("document_content")) for c in live.slack.canvases.values())
    await eventually(published, timeout=15, what="the saved version published as a canvas")
    assert problems == []
