"""The postmortem preview's HTML: Markdown rendered without raw HTML, then sanitized, so
nothing anyone typed runs as script or loads from elsewhere."""

from __future__ import annotations

import pytest

from bot.postmortem.markdown_html import markdown_html

REL = 'rel="noopener noreferrer nofollow"'


@pytest.mark.parametrize(("text", "html"), [
    ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"),
    ("<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>\n"),
    ("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>\n"),
    ("[x](JaVaScRiPt:alert(1))", "<p>[x](JaVaScRiPt:alert(1))</p>\n"),
    ("[x](data:text/html;base64,PHNjcmlwdD4=)", "<p>[x](data:text/html;base64,PHNjcmlwdD4=)</p>\n"),
    ('<a href="javascript:alert(1)">x</a>', "<p>&lt;a href=\"javascript:alert(1)\"&gt;x&lt;/a&gt;</p>\n"),
    ("<b onclick=alert(1)>bold</b> <!-- note -->", "<p>&lt;b onclick=alert(1)&gt;bold&lt;/b&gt; &lt;!-- note --&gt;</p>\n"),
    ("`<script>`", "<p><code>&lt;script&gt;</code></p>\n"),
])
def test_markup_and_script_in_the_text_are_shown_as_text(text: str, html: str) -> None:
    assert markdown_html(text) == html


def test_links_keep_web_addresses_and_get_rel() -> None:
    assert markdown_html('[runbook](https://wiki.example.com/r?a=1&b=2 "Runbook") <mailto:sre@example.com>') == (
        f'<p><a href="https://wiki.example.com/r?a=1&amp;b=2" title="Runbook" {REL}>runbook</a> '
        f'<a href="mailto:sre@example.com" {REL}>mailto:sre@example.com</a></p>\n')


def test_images_become_links_and_nothing_is_loaded() -> None:
    assert markdown_html("![graph <b>](https://grafana.example.com/x.png)") == \
        f'<p><a href="https://grafana.example.com/x.png" {REL}>graph &lt;b&gt;</a></p>\n'
    assert markdown_html("![x](javascript:alert(1))") == "<p>![x](javascript:alert(1))</p>\n"


def test_the_draft_s_markdown_reads_as_headings_lists_and_tables() -> None:
    text = "# T\n\n## Impact\n\n- **12** failed\n- _slow_\n\n| a | b |\n|--:|---|\n| 1 | 2 |\n\n> quote\n\n---\n"
    assert markdown_html(text) == (
        "<h1>T</h1>\n<h2>Impact</h2>\n<ul>\n<li><strong>12</strong> failed</li>\n<li><em>slow</em></li>\n</ul>\n"
        "<table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>1</td>\n<td>2</td>\n"
        "</tr>\n</tbody>\n</table>\n<blockquote>\n<p>quote</p>\n</blockquote>\n<hr>\n")
