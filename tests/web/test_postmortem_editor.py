"""The postmortem editor at /ui/incidents/<id>/postmortem, over HTTP against the real bot and
the strict Slack emulator, on both databases: the draft in its sections, saved as versions
by who may change the postmortem (as in Slack), previewed safely, and published as saved."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from storage import postmortem_versions, postmortems
from storage.database import Database
from tests.slack_emulator import SlackEmulator
from tests.support import rows
from tests.support.bot import API_TOKEN
from tests.support.web_bot import WebBot, form_fields, notice, playbooks_with_postmortems, read_page, web_bot

EDITOR = "/ui/incidents/1/postmortem"


@pytest.fixture
async def bot(database_url: str, slack: SlackEmulator, db: Database, tmp_path: Path) -> AsyncIterator[WebBot]:
    async with web_bot(database_url, slack, db, playbooks_with_postmortems(tmp_path)) as running:
        yield running


async def api_draft(bot: WebBot) -> str:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{bot.url}/incidents/1/postmortem.md",
                                    headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert response.status_code == 200
    return response.text


def joined(fields: Mapping[str, Any]) -> str:
    """What the editor saves from these fields: the head, then each heading and its body."""
    return fields["head"][0] + "".join(f"{h}\n{b}" for h, b in zip(fields["heading"], fields["body"], strict=True))


def with_section(fields: Mapping[str, Any], title: str, body: str) -> dict[str, Any]:
    bodies = [body if h == f"## {title}" else b for h, b in zip(fields["heading"], fields["body"], strict=True)]
    return {**fields, "body": bodies, "action": "save"}


async def edited_events(db: Database) -> list[tuple[str, dict[str, object]]]:
    return [(e.actor, e.data) for e in await rows.events(db, 1) if e.kind == "postmortem.edited"]


async def test_the_editor_shows_the_draft_in_its_sections_and_sends_it_back_unchanged(bot: WebBot) -> None:
    async with bot.browser(bot.commander) as browser:
        page = await browser.get(EDITOR)
    assert page.status_code == 200
    fields = form_fields(page.text, EDITOR)
    assert fields["heading"][:3] == ["## Key durations", "## Impact", "## Severity"]
    assert fields["head"][0].startswith("# Postmortem #1: ")
    assert fields["base"] == ["0"]
    draft = await api_draft(bot)
    # The browser sends back exactly the draft, with its Slack mentions as the names people read.
    commander = bot.commander  # from the rotation, so whoever is on call the day the test runs
    names = {"UALICE": "alice", "UBOB": "bob", "UCAROL": "carol"}
    assert f"<@{commander}>" in draft
    assert joined(fields) == draft.replace(f"<@{commander}>", f"@{names[commander]}")
    assert "<label for=\"pm-s2\" class=\"pm-label\">Impact</label>" in page.text
    assert "No version saved yet" in page.text


async def test_saving_makes_versions_with_their_authors_and_an_event_each(bot: WebBot, db: Database) -> None:
    async with bot.browser(bot.commander) as browser:
        fields = form_fields((await browser.get(EDITOR)).text, EDITOR)
        saved = await browser.follow(await browser.post(EDITOR, {
            **with_section(fields, "Impact", "\nCheckout failed for 12 minutes.\n\n"), "note": "impact"}))
    assert notice(saved.text) == "Saved version 1 of the postmortem."
    first = form_fields(saved.text, EDITOR)
    assert first["base"] == ["1"] and "\nCheckout failed for 12 minutes.\n\n" in first["body"]

    async with bot.browser("UDAVE") as dave:  # a responder may too
        second = await dave.follow(await dave.post(EDITOR, with_section(first, "Causes", "\nA bad deploy.\n\n")))
    assert notice(second.text) == "Saved version 2 of the postmortem."
    versions = await db.read(postmortem_versions.versions, 1)
    assert [(v.number, v.author) for v in versions] == [(2, "UDAVE"), (1, bot.commander)]
    latest = await db.read(postmortem_versions.latest_version, 1)
    assert latest is not None and latest.body == joined(with_section(first, "Causes", "\nA bad deploy.\n\n"))
    assert await edited_events(db) == [(bot.commander, {"version": 1, "source": "web", "note": "impact"}),
                                       ("UDAVE", {"version": 2, "source": "web"})]
    listed = [cells for _, cells in read_page(second.text).rows]
    assert [(c[0], c[1], c[3]) for c in listed] == [("2 latest", "dave", ""), ("1", bot.slack.workspace.users[bot.commander], "impact")]

    async with bot.browser("UDAVE") as dave:
        old = await dave.get(f"{EDITOR}?version=1")
        missing = await dave.get(f"{EDITOR}?version=7")
    assert old.status_code == 200 and "Checkout failed for 12 minutes." in old.text and "A bad deploy." not in old.text
    assert missing.status_code == 404 and "has no version 7" in missing.text


async def test_an_unchanged_text_saves_nothing(bot: WebBot, db: Database) -> None:
    async with bot.browser(bot.commander) as browser:
        fields = form_fields((await browser.get(EDITOR)).text, EDITOR)
        unchanged = await browser.follow(await browser.post(EDITOR, {**fields, "action": "save"}))
        assert notice(unchanged.text) == "Nothing changed in the draft; no version was saved."
        assert await db.read(postmortem_versions.versions, 1) == []
        first = form_fields((await browser.follow(await browser.post(
            EDITOR, with_section(fields, "Impact", "\nnone\n\n")))).text, EDITOR)
        again = await browser.follow(await browser.post(EDITOR, {**first, "action": "save"}))
    assert notice(again.text) == "Nothing changed since version 1; no new version was saved."
    assert [v.number for v in await db.read(postmortem_versions.versions, 1)] == [1]
    assert len(await edited_events(db)) == 1


async def test_a_too_large_postmortem_is_refused_whole_and_kept_on_the_page(bot: WebBot, db: Database) -> None:
    before = await rows.event_kinds(db, 1)
    async with bot.browser(bot.commander) as browser:
        fields = form_fields((await browser.get(EDITOR)).text, EDITOR)
        huge = "x" * 200_001 + "\n"
        response = await browser.post(EDITOR, with_section(fields, "Impact", huge))
    assert response.status_code == 413
    size = len(joined(with_section(fields, "Impact", huge)).encode())
    assert notice(response.text) == (f"The postmortem is {size:,} bytes long; at most 200,000 bytes (200 kB) can be "
                                     "saved. Nothing was saved.")
    assert huge in form_fields(response.text, EDITOR)["body"]
    assert await db.read(postmortem_versions.versions, 1) == []
    assert await rows.event_kinds(db, 1) == before


async def test_the_preview_shows_typed_markup_as_text(bot: WebBot, db: Database) -> None:
    typed = ("<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))\n\n"
             "<b onclick=alert(1)>raw</b> [ok](https://example.com)\n")
    async with bot.browser(bot.commander) as browser:
        fields = form_fields((await browser.get(EDITOR)).text, EDITOR)
        live = await browser.post(f"{EDITOR}/preview", {"head": typed}, csrf=False,
                                  headers={"X-CSRF-Token": browser.csrf_token})
        button = await browser.post(EDITOR, {**with_section(fields, "Impact", typed), "action": "preview"})
    assert live.status_code == 200 and live.headers["Content-Type"].startswith("text/html")
    assert live.text == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n<p>&lt;img src=x onerror=alert(1)&gt;</p>\n"
        "<p>[x](javascript:alert(1))</p>\n<p>&lt;b onclick=alert(1)&gt;raw&lt;/b&gt; "
        '<a href="https://example.com" rel="noopener noreferrer nofollow">ok</a></p>\n')
    assert button.status_code == 200
    assert "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>" in button.text and "<script>alert" not in button.text
    assert typed in form_fields(button.text, EDITOR)["body"]  # the text is kept, unsaved
    assert await db.read(postmortem_versions.versions, 1) == []


async def test_someone_who_may_not_change_the_postmortem_is_told_slacks_words(bot: WebBot, db: Database) -> None:
    await bot.command("resolve rolled back")
    await bot.delivered()
    before = await rows.event_kinds(db, 1)
    bystander = bot.bystander()
    commander = bot.slack.workspace.users[bot.commander]
    async with bot.browser(bystander) as browser:
        fields = form_fields((await browser.get(EDITOR)).text, EDITOR)
        refused = await browser.post(EDITOR, with_section(fields, "Impact", "\nmine\n\n"))
    assert refused.status_code == 403
    assert notice(refused.text) == (f"Only the commander (@{commander}) or a responder or the postmortem's owner can "
                                    "change its postmortem.")
    assert "\nmine\n\n" in form_fields(refused.text, EDITOR)["body"]
    assert await db.read(postmortem_versions.versions, 1) == []
    assert await rows.event_kinds(db, 1) == before

    async with bot.browser(bot.commander) as browser:  # the owner may, whoever they are
        owned = await browser.follow(await browser.post(f"{EDITOR}/owner", {"owner": "", "other": bystander}))
    assert notice(owned.text) == f"@{bot.slack.workspace.users[bystander]} now owns the postmortem."
    async with bot.browser(bystander) as browser:
        saved = await browser.follow(await browser.post(EDITOR, with_section(fields, "Impact", "\nmine\n\n")))
    assert notice(saved.text) == "Saved version 1 of the postmortem."


async def test_without_the_csrf_token_nothing_is_saved(bot: WebBot, db: Database) -> None:
    async with bot.browser(bot.commander) as browser:
        fields = form_fields((await browser.get(EDITOR)).text, EDITOR)
        forged = {k: v for k, v in with_section(fields, "Impact", "\nforged\n\n").items() if k != "csrf_token"}
        response = await browser.post(EDITOR, forged, csrf=False)
        publish = await browser.post(f"{EDITOR}/publish", csrf=False)
        preview = await browser.post(f"{EDITOR}/preview", {"head": "# x"}, csrf=False)
    assert response.status_code == 403 and publish.status_code == 403 and preview.status_code == 403
    assert await db.read(postmortem_versions.versions, 1) == []
    assert "postmortem.edited" not in await rows.event_kinds(db, 1)


async def test_publishing_posts_the_saved_version_not_a_fresh_draft(bot: WebBot, db: Database) -> None:
    await bot.command("resolve rolled back")
    await bot.delivered()
    async with bot.browser(bot.commander) as browser:
        fields = form_fields((await browser.get(EDITOR)).text, EDITOR)
        edited = with_section(fields, "Causes", "\nA config push turned off the cache.\n\n")
        await browser.follow(await browser.post(EDITOR, edited))
        await bot.command("note after the edit")  # the draft moves on; the saved version does not
        published = await browser.follow(await browser.post(f"{EDITOR}/publish"))
    assert notice(published.text) == "The postmortem is published; the final document is being posted to this channel."
    await bot.delivered()
    [canvas] = bot.slack.canvases.values()
    assert canvas["document_content"]["markdown"] == joined(edited)
    assert "after the edit" in await api_draft(bot)
    tracked = await db.read(postmortems.get, 1)
    assert tracked is not None and tracked.status == "published" and tracked.published_by == bot.commander
    [command] = [e for e in await rows.events(db, 1) if e.kind == "command" and e.data["text"] == "postmortem publish"]
    assert (command.actor, command.data) == (bot.commander, {"source": "web", "text": "postmortem publish",
                                                            "allowed": True})
    async with bot.browser(bot.commander) as browser:
        late = await browser.post(EDITOR, with_section(edited, "Causes", "\nlater\n\n"))
    assert late.status_code == 403 and notice(late.text) == "The postmortem is already published."


async def test_the_due_time_is_set_with_slacks_words(bot: WebBot, db: Database) -> None:
    await bot.command("resolve")
    await bot.delivered()
    async with bot.browser(bot.commander) as browser:
        wrong = await browser.follow(await browser.post(f"{EDITOR}/due", {"due": "soon"}))
        moved = await browser.follow(await browser.post(f"{EDITOR}/due", {"due": "2d"}))
    assert notice(wrong.text) == ("`soon` is neither a date (YYYY-MM-DD) nor a duration (20s, 4h, 7d). Type "
                                  "`/incident postmortem [owner <@user>|due <YYYY-MM-DD|duration>|review|publish]`.")
    assert (notice(moved.text) or "").startswith("The postmortem is now due ")
    tracked = await db.read(postmortems.get, 1)
    assert tracked is not None and tracked.due_at == bot.clock() + timedelta(days=2)


async def test_without_canvases_the_saved_version_is_the_published_file(bot: WebBot, db: Database) -> None:
    bot.slack.revoke_scope("canvases:write")
    await bot.command("resolve")
    await bot.delivered()
    async with bot.browser(bot.commander) as browser:
        fields = form_fields((await browser.get(EDITOR)).text, EDITOR)
        edited = with_section(fields, "Impact", "\nNobody could pay for 12 minutes.\n\n")
        await browser.follow(await browser.post(EDITOR, edited))
        await browser.follow(await browser.post(f"{EDITOR}/publish"))
    await bot.delivered()
    tracked = await db.read(postmortems.get, 1)
    assert tracked is not None and tracked.document is not None and tracked.document["kind"] == "file"
    assert bot.slack.file_content(str(tracked.document["id"])) == joined(edited).encode()


async def test_a_version_saved_meanwhile_is_not_overwritten_unseen(bot: WebBot, db: Database) -> None:
    async with bot.browser(bot.commander) as first, bot.browser("UDAVE") as second:
        mine = form_fields((await first.get(EDITOR)).text, EDITOR)
        theirs = form_fields((await second.get(EDITOR)).text, EDITOR)
        await first.follow(await first.post(EDITOR, with_section(mine, "Impact", "\nfirst\n\n")))
        stale = await second.post(EDITOR, with_section(theirs, "Impact", "\nsecond\n\n"))
        assert stale.status_code == 409
        assert notice(stale.text) == (f"@{bot.slack.workspace.users[bot.commander]} saved version 1 since you started "
                                      "editing; nothing was saved. Your text is kept below: compare it with the latest "
                                      "version, then save again.")
        kept = form_fields(stale.text, EDITOR)
        assert kept["base"] == ["1"] and "\nsecond\n\n" in kept["body"]
        again = await second.follow(await second.post(EDITOR, {**kept, "action": "save"}))
    assert notice(again.text) == "Saved version 2 of the postmortem."
    assert [(v.number, v.author) for v in await db.read(postmortem_versions.versions, 1)] == [(2, "UDAVE"),
                                                                                            (1, bot.commander)]


async def test_publishing_is_refused_as_in_slack_and_unknown_incidents_are_not_found(bot: WebBot, db: Database) -> None:
    await bot.command("resolve")
    await bot.delivered()
    bystander = bot.bystander()
    async with bot.browser(bystander) as browser:
        refused = await browser.follow(await browser.post(f"{EDITOR}/publish"))
        missing = await browser.get("/ui/incidents/99/postmortem")
    assert notice(refused.text) == (f"Only the commander (@{bot.slack.workspace.users[bot.commander]}) or a responder "
                                    "or the postmortem's owner can change its postmortem.")
    tracked = await db.read(postmortems.get, 1)
    assert tracked is not None and tracked.status == "draft"
    assert [(e.kind, e.data) for e in await rows.events(db, 1) if e.actor == bystander] == [
        ("command", {"source": "web", "text": "postmortem publish", "allowed": False})]
    assert missing.status_code == 404 and "No incident #99." in missing.text
