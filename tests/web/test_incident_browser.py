"""The incident page in a real browser (Debian's Chromium, driven by Playwright) against the
real bot and the strict Slack emulator: a note typed in Slack appears on the open page
without a reload, a key moment is marked with the page's form, and nothing an alert or a
note holds runs as script. Screenshots are saved in the test's directory."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.web.test_browser import Live, _channel, database_url, live, sign_in

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext

pytest_plugins = ["tests.support.browser"]
pytestmark = pytest.mark.integration
__all__ = ["database_url", "live"]  # the fixtures this module shares with test_browser


async def test_the_open_incident_page_grows_live_and_marks_a_key_moment(live: Live,
                                                                       browser_context: BrowserContext) -> None:
    page = await browser_context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await sign_in(page, live, "UDAVE")  # a responder of the route: may edit the timeline
    await page.get_by_role("link", name="CheckoutErrors in checkout").first.click()
    await page.wait_for_url(f"{live.url}/ui/incidents/1")
    status = page.locator("[data-live-status]")
    await status.get_by_text("Live").wait_for()
    assert await page.locator(".reload-hint").is_hidden()
    await live.shot(page, "2-incident")

    channel = _channel(live.slack)
    assert channel is not None
    typed = "&lt;script&gt;alert(3)&lt;/script&gt; <@UBOB> is rolling back"  # as Slack sends what was typed
    answer = await live.slack.slash_command(f"{live.url}/slack/events", text=f"note {typed}", user_id="UDAVE",
                                            channel_id=channel)
    assert answer.status_code == 200
    entry = page.locator("ol.timeline > li").filter(has_text="@bob is rolling back")
    await entry.wait_for(timeout=10_000)  # no reload: the stream brought it
    assert "note: <script>alert(3)</script> @bob is rolling back" in await entry.inner_text()
    assert await entry.locator("time + .local").count() == 1  # the viewer's own zone, added to the new entry too
    await live.shot(page, "3-incident-live-note")

    await entry.locator("summary").click()
    await live.shot(page, "3-incident-edit-form")
    await entry.get_by_role("button", name="Mark mitigated").click()
    await page.wait_for_url(f"{live.url}/ui/incidents/1#e*")
    await page.get_by_role("status").get_by_text("Marked as the moment the incident was mitigated.").wait_for()
    marked = page.locator("ol.timeline > li").filter(has_text="@bob is rolling back")
    assert await marked.locator(".mark").inner_text() == "Mitigated"
    assert await page.locator("ol.timeline > li").filter(has_text="Marked the moment the incident was mitigated").count() == 1
    await live.shot(page, "4-incident-marked")
    await page.set_viewport_size({"width": 390, "height": 844})
    await live.shot(page, "4-incident-phone")
    assert dialogs == []
